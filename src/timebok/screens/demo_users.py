"""The embedded demo's «who do you want to be»: a citizen, front-desk staff, or a support agent acting as a citizen."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets.option_list import Option

from timebok.client.errors import BookingError
from timebok.client.models import DemoUser
from timebok.screens.base import connected
from timebok.ui.contract import UsesApp
from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.widgets.plain import OptionList, Static
from timebok.ui.workers import StopsWorkersFirst


@dataclass(frozen=True)
class DemoChoice:
    role: str  # citizen, staff or support
    token: str
    agent_token: str = ""


def demo_choices(users: list[DemoUser]) -> list[tuple[str, list[tuple[str, DemoChoice]]]]:
    """The demo's people in three groups, each entry a label and what signing in as it takes."""
    citizens = [u for u in users if u.role == "citizen"]
    staff = [u for u in users if u.role == "staff"]
    agents = [u for u in users if u.role == "support"]
    groups = [
        ("demo.citizens", [(u.name, DemoChoice("citizen", u.token)) for u in citizens]),
        ("demo.staff", [(u.name, DemoChoice("staff", u.token)) for u in staff]),
        (
            "demo.support",
            [
                (t("demo.as_citizen", agent=a.name, citizen=c.name), DemoChoice("support", c.token, a.token))
                for a in agents
                for c in citizens
            ],
        ),
    ]
    return [(t(title), entries) for title, entries in groups if entries]


class DemoUserScreen(StopsWorkersFirst, UsesApp, ModalScreen[DemoChoice | None]):
    BINDINGS = [key("escape", "cancel", "dialog.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="demo-box"):
            yield Static(t("demo.title"), classes="section")
            yield Static(t("demo.hint"), classes="hint")
            yield OptionList(id="demo-users")

    def on_mount(self) -> None:
        self.choices: list[DemoChoice | None] = []
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        options = self.query_one(OptionList)
        options.loading = True
        try:
            users = await connected(self.timebok).demo_users()
        except BookingError as error:
            self.timebok.report(error)
            return
        finally:
            options.loading = False
        current = (self.timebok.connection.token, self.timebok.connection.agent_token)
        highlight = None
        for title, entries in demo_choices(users):
            options.add_option(Option(title, disabled=True))
            self.choices.append(None)
            for label, choice in entries:
                if (choice.token, choice.agent_token) == current:
                    highlight = len(self.choices)
                options.add_option(Option(f"  {label}"))
                self.choices.append(choice)
        options.highlighted = (
            highlight if highlight is not None else next((i for i, c in enumerate(self.choices) if c is not None), None)
        )
        options.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        choice = self.choices[event.option_index]
        if choice is not None:
            self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)
