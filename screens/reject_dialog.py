"""Rejecting a booking request: a short reason for the patient is required before it can be sent."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input

from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.widgets.plain import Label, Static

REASON_LIMIT = 1000


class RejectDialog(ModalScreen[str | None]):
    """Answers with the reason typed, or None when the user thinks better of it."""

    BINDINGS = [key("escape", "cancel", "reject.cancel")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(t("reject.title"), classes="section")
            yield Static(self.question)
            yield Label(t("reject.label"), id="reject-label")
            yield Input(placeholder=t("reject.placeholder"), max_length=REASON_LIMIT, id="reject-reason")
            yield Static("", id="reject-message", classes="error")
            with Horizontal(id="dialog-buttons"):
                yield Button(t("reject.send"), id="reject", variant="error")
                yield Button(t("reject.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reject-reason", Input).focus()

    @on(Input.Submitted, "#reject-reason")
    @on(Button.Pressed, "#reject")
    def _send(self) -> None:
        reason = self.query_one("#reject-reason", Input).value.strip()
        if not reason:
            self.query_one("#reject-message", Static).update(t("reject.required"))
            self.query_one("#reject-reason", Input).add_class("-invalid").focus()
            return
        self.dismiss(reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
