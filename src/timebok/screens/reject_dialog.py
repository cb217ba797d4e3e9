"""Rejecting a booking request: a short reason for the patient is required before it can be sent."""

from __future__ import annotations

from collections.abc import Callable

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

REASON_LIMIT = 1000


class RejectDialog(ModalScreen[str | None]):
    """Answers with the reason typed, or None when the user thinks better of it.

    `reason` is what was typed for this request before (Esc, or an answer that did not get through), and `keep`
    hears every change, so the text is never lost with the dialog."""

    # Its own keys in its own footer: the queue's below (B, A) do nothing while it is open.
    BINDINGS = [key("escape", "cancel", "reject.cancel"), key("ctrl+s", "send", "reject.send"), *dialog_keys()]

    def __init__(
        self, question: str, reason: str = "", keep: Callable[[str], None] | None = None, *, texts: str = "reject"
    ) -> None:
        super().__init__()
        self.texts = texts  # the catalogue's prefix: «reject» (the queue), «desk_cancel» (the patient's page)
        self.question = question
        self.reason = reason
        self.keep = keep

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(t(f"{self.texts}.title"), classes="section")
            yield Static(self.question)
            yield Label(t(f"{self.texts}.label"), id="reject-label")
            yield ReasonInput(
                value=self.reason,
                placeholder=t(f"{self.texts}.placeholder"),
                max_length=REASON_LIMIT,
                id="reject-reason",
                select_on_focus=False,
            )
            yield Static("", id="reject-message")
            with Horizontal(id="dialog-buttons"):
                yield Button(t(f"{self.texts}.send"), id="reject", variant="error")
                yield Button(t("reject.cancel"), id="cancel")
        yield TimebokFooter()

    def on_mount(self) -> None:
        self.query_one("#reject-reason", Input).focus()

    @on(Input.Changed, "#reject-reason")
    def _typed(self, event: Input.Changed) -> None:
        if self.keep is not None:
            self.keep(event.value)
        message = self.query_one("#reject-message", Static)
        if event.value.strip() and message.has_class("error"):
            message.update("")  # «Skriv en kort begrunnelse» no longer applies
            message.remove_class("error")
            event.input.remove_class("-invalid")
        elif len(event.value) >= REASON_LIMIT * 9 // 10 and not message.has_class("error"):
            message.update(t("review.counter", used=len(event.value), limit=REASON_LIMIT))  # near the limit: say how near
        elif not message.has_class("error"):
            message.update("")

    @on(ReasonInput.LimitReached)
    def _limit_reached(self, event: ReasonInput.LimitReached) -> None:
        message = self.query_one("#reject-message", Static)
        message.update(t("review.limit_reached", limit=REASON_LIMIT, dropped=event.dropped))
        message.remove_class("error")
        self.app.bell()

    @on(Input.Submitted, "#reject-reason")
    @on(Button.Pressed, "#reject")
    def action_send(self) -> None:
        reason = self.query_one("#reject-reason", Input).value.strip()
        if not reason:
            self.query_one("#reject-message", Static).update(t(f"{self.texts}.required"))
            self.query_one("#reject-message", Static).add_class("error")
            self.query_one("#reject-reason", Input).add_class("-invalid").focus()
            return
        self.dismiss(reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
