"""Step 1: «Bestill time», with ways into «Innboks» and «Timeavtaler»."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button

from timebok.screens.home import HomeScreen
from timebok.ui.i18n import has_text, t
from timebok.ui.keys import key
from timebok.ui.widgets.plain import Static

if TYPE_CHECKING:  # the models load with the client, after the first paint
    from timebok.client.models import User


class StartScreen(HomeScreen):
    STEP = 1
    TITLE_KEY = "start.title"
    # Nothing to focus before the user is known (the buttons wait, disabled): Textual would focus the scrolling
    # body and restyle it and all it holds twice (focus, then blur) before the first paint. _show_user focuses «Bestill time».
    AUTO_FOCUS = ""
    BINDINGS = [
        key("b", "book", "start.book"),
        key("i", "inbox", "start.inbox"),
        key("t", "appointments", "start.appointments"),
        # NHN kundesenter only: why the citizen sees what they see. Named on the screen: the footer is full at 80.
        key("o", "support_setup", "support.setup", show=False),
        key("v", "support_notices", "support.notices", show=False),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("support_setup", "support_notices"):
            return self.timebok.user is not None and self.timebok.user.is_support
        if action in ("book", "inbox", "appointments") and self.timebok.user is None:
            return None  # greyed out in the footer, as the buttons are, until the backend has answered
        return super().check_action(action, parameters)

    def action_support_setup(self) -> None:
        from timebok.screens.support_setup import SupportSetupScreen

        if self.timebok.user is not None and self.timebok.user.is_support:
            self.open_next(SupportSetupScreen())

    def action_support_notices(self) -> None:
        from timebok.screens.support_notices import SupportNoticesScreen

        if self.timebok.user is not None and self.timebok.user.is_support:
            self.open_next(SupportNoticesScreen())

    def compose_body(self) -> ComposeResult:
        yield Static(t("start.connecting"), id="greeting")
        with Vertical(id="start-actions"):
            yield Button(t("start.book"), id="book", variant="primary", disabled=True)
            yield Button(t("start.inbox"), id="inbox", disabled=True)
            yield Button(t("start.appointments"), id="appointments", disabled=True)
        yield Static(t("start.intro"), id="intro", classes="hint")
        hint = Static(t("support.setup_hint"), id="support-hint", classes="hint")
        hint.display = False  # support agents only, once signed in
        yield hint
        yield self.demo_line()

    def on_mount(self) -> None:
        self.watch(self.app, "user", self._show_user)
        self.watch(self.app, "connection_problem", self._show_problem)

    def _show_user(self, user: User | None) -> None:
        self.show_demo_line(user)
        self.refresh_bindings()
        support = user is not None and user.is_support
        self.query_one("#support-hint").display = support
        # The hint goes right under the intro, as one paragraph: at 80x24 a blank line more would push the demo line below the fold.
        self.query_one("#intro").set_class(support, "-with-hint")
        if user is None or user.is_staff:
            return
        office = user.office.name if user.office else ""
        self.query_one("#greeting", Static).update(t("start.greeting", name=user.name, office=office))
        self.query_one("#heading", Static).update(self.heading())
        self.query_one("#who", Static).update(self.who())
        for button in self.query(Button):
            button.disabled = False
        self.query_one("#book", Button).focus()
        self._name_offered_types(user)

    @work(exclusive=True, group="intro")
    async def _name_offered_types(self, user: User) -> None:
        """Name the time types this user's office offers (Bakkebyen: only laboratoriet and vaksine)."""
        from timebok.client.errors import BookingError

        if user.office is None:
            return
        try:
            types = await self.client.time_types(user.office.id)
        except BookingError:
            return  # the general sentence stays; step 2 says what failed
        words = [t(f"typeintro.{tt.code}") if has_text(f"typeintro.{tt.code}") else tt.code.lower() for tt in types]
        if words:
            listed = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {t('list.or')} {words[-1]}"
            self.query_one("#intro", Static).update(t("start.intro_types", types=listed))

    def _show_problem(self, problem: str | None) -> None:
        if problem:
            # Signed out, or signed in as someone the backend does not know: Ctrl+L, not Ctrl+R, is the way on.
            text = "start.sign_in_needed" if self.timebok.sign_in_needed is not None else "start.not_connected"
            self.query_one("#greeting", Static).update(t(text, problem=problem))

    @on(Button.Pressed, "#book")
    def action_book(self) -> None:
        if self.timebok.user is not None:
            self.timebok.start_booking()

    @on(Button.Pressed, "#inbox")
    def action_inbox(self) -> None:
        if self.timebok.user is not None:
            self.timebok.open_inbox()

    @on(Button.Pressed, "#appointments")
    def action_appointments(self) -> None:
        if self.timebok.user is not None:
            self.timebok.open_appointments()

    def reload(self) -> None:
        self.timebok.connect()
