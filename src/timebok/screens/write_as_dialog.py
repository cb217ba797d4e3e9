"""«Skriv som Kari»: a support agent asks to write as the citizen, with a reason the backend audits."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input

from timebok.ui.i18n import t
from timebok.ui.keys import dialog_keys, key
from timebok.ui.widgets.footer import TimebokFooter
from timebok.ui.widgets.plain import Label, Static
from timebok.ui.widgets.reason_input import ReasonInput

REASON_MIN, REASON_MAX = 5, 200  # what the backend takes (backend/support_write.py)


class WriteAsDialog(ModalScreen[str | None]):
    """Answers with the reason typed (at least REASON_MIN characters), or None when the agent stays read-only.

    Laid out as the reject dialog is (its ids, so its styles), with its own words."""

    BINDINGS = [key("escape", "cancel", "support.write_cancel"), key("ctrl+s", "send", "support.write_as"), *dialog_keys()]

    def __init__(self, citizen: str) -> None:
        super().__init__()
        self.question = t("support.write_question", citizen=citizen)
        self.citizen = citizen

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(t("support.write_title", citizen=self.citizen), classes="section")
            yield Static(self.question)
            yield Label(t("support.write_label"), id="reject-label")
            yield ReasonInput(
                placeholder=t("support.write_placeholder"), max_length=REASON_MAX, id="reject-reason", select_on_focus=False
            )
            yield Static("", id="reject-message")
            with Horizontal(id="dialog-buttons"):
                yield Button(t("support.write_send", citizen=self.citizen), id="reject", variant="warning")
                yield Button(t("support.write_cancel"), id="cancel")
        yield TimebokFooter()

    @on(Input.Submitted, "#reject-reason")
    @on(Button.Pressed, "#reject")
    def action_send(self) -> None:
        reason = " ".join(self.query_one("#reject-reason", Input).value.split())
        if len(reason) < REASON_MIN:
            message = self.query_one("#reject-message", Static)
            message.update(t("support.write_required"))
            message.add_class("error")
            self.query_one("#reject-reason", Input).add_class("-invalid").focus()
            return
        self.dismiss(reason)

    def on_mount(self) -> None:
        self.query_one("#reject-reason", Input).focus()

    @on(Input.Changed, "#reject-reason")
    def _typed(self, event: Input.Changed) -> None:
        message = self.query_one("#reject-message", Static)
        if message.has_class("error") and len(" ".join(event.value.split())) >= REASON_MIN:
            message.update("")
            message.remove_class("error")
            event.input.remove_class("-invalid")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
