"""Step 5: check the booking, write briefly what it is about, and «Send bestilling»."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, Static

from client.errors import BookingError, ErrorKind
from screens.base import FlowScreen
from screens.labels import time_type_label, when
from tui.i18n import t
from tui.keys import key

REASON_LIMIT = 1000


class ReviewScreen(FlowScreen):
    STEP = 5
    TITLE_KEY = "review.title"
    BINDINGS = [key("ctrl+s", "send", "review.send")]

    def compose_body(self) -> ComposeResult:
        draft = self.draft
        office = self.app.user.office.name if self.app.user and self.app.user.office else ""
        place = draft.timebook.place
        rows = [
            (t("details.type"), time_type_label(draft.time_type.code, office)),
            (t("details.office"), office),
            (t("details.place"), f"{place.name}, {place.full_address}"),
            (t("details.time"), when(draft.slot.start)),
            (t("details.patient"), f"{draft.patient.name} ({draft.patient.masked_number})" if draft.patient else ""),
        ]
        for label, value in rows:
            with Horizontal(classes="summary-row"):
                yield Label(f"{label}:", classes="summary-label")
                yield Static(value, classes="summary-value")
        yield Label(self.say("review.reason_label"), id="reason-label")
        yield Input(value=draft.reason, placeholder=t("review.reason_placeholder"), max_length=REASON_LIMIT, id="reason")
        yield Static(self._counter(draft.reason), id="reason-counter", classes="hint")
        yield Button(t("review.send"), id="send", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def _counter(self, text: str) -> str:
        return t("review.counter", used=len(text), limit=REASON_LIMIT)

    @on(Input.Changed, "#reason")
    def _reason_changed(self, event: Input.Changed) -> None:
        self.draft.reason = event.value
        self.query_one("#reason-counter", Static).update(self._counter(event.value))

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        self.send()

    @work(exclusive=True, group="send")
    async def send(self) -> None:
        draft = self.draft
        button = self.query_one("#send", Button)
        button.disabled = True
        try:
            appointment = await self.app.client.request_booking(draft.slot, draft.patient.id, draft.reason)
        except BookingError as error:
            button.disabled = False
            if error.kind is ErrorKind.SLOT_TAKEN:
                self.notify(t("review.slot_taken"), title=t("review.slot_taken_title"), severity="warning", timeout=10)
                self.app.pop_screen()
                self.app.screen.time_was_taken()
            else:
                self.app.report(error)  # the reason stays in the field; the user can send again
            return
        from screens.confirmation import ConfirmationScreen

        self.app.back_to_start()
        self.app.push_screen(ConfirmationScreen(appointment, self.draft))
