"""Step 6: the request went to the GP office, which must confirm or reject it; «Gå til innboksen»."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Button

from timebok.client.errors import BookingError
from timebok.client.models import Appointment, AppointmentState
from timebok.screens.base import FlowScreen
from timebok.screens.labels import time_type_label, when
from timebok.ui.draft import BookingDraft
from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.widgets.plain import Static
from timebok.ui.workers import AwaitsItsWrite


class ConfirmationScreen(AwaitsItsWrite, FlowScreen):
    STEP = 6
    TITLE_KEY = "confirmation.title"
    BINDINGS = [key("i", "inbox", "confirmation.to_inbox"), key("b", "confirm_now", "confirmation.confirm_now")]

    def __init__(self, appointment: Appointment, draft: BookingDraft) -> None:
        super().__init__(draft)
        self.appointment = appointment

    def rebuilt(self) -> ConfirmationScreen:
        return ConfirmationScreen(self.appointment, self.draft)

    def compose_body(self) -> ComposeResult:
        office = self.appointment.office.name if self.appointment.office else ""
        patient = self.draft.patient if self._for_patient else None
        sent = t("confirmation.sent_for", patient=patient.name, office=office) if patient else t("confirmation.sent", office=office)
        yield Static(sent, id="sent")
        yield Static(
            f"{time_type_label(self.appointment.time_type_code, office)}\n{when(self.appointment.start)}"
            + (f"\n{self.appointment.place.name}, {self.appointment.place.full_address}" if self.appointment.place else ""),
            id="sent-summary",
        )
        yield Static(t("confirmation.staff_next") if self._for_patient else t("confirmation.next"), id="next", classes="hint")
        if self._for_patient:
            yield Button(t("confirmation.confirm_now"), id="confirm-now", variant="success")
        yield Button(t("confirmation.to_inbox"), id="to-inbox", variant="primary")

    @property
    def _for_patient(self) -> bool:
        """The front desk booked on a patient's behalf, and may confirm the request there and then."""
        return bool(self.timebok.user and self.timebok.user.is_staff)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm_now":
            if self.writing:
                return None  # greyed out until the answer
            return self._for_patient and self.appointment.state is AppointmentState.WAITING
        return True

    def on_mount(self) -> None:
        self.query_one("#confirm-now" if self._for_patient else "#to-inbox", Button).focus()

    @on(Button.Pressed, "#confirm-now")
    def action_confirm_now(self) -> None:
        if self._for_patient and self.appointment.state is AppointmentState.WAITING and not self.writing:
            self.confirm_now()

    @work(exclusive=True)
    async def confirm_now(self) -> None:
        button = self.query_one("#confirm-now", Button)
        self.writing, button.disabled = True, True
        self.refresh_bindings()
        try:
            confirmed = await self.timebok.client.confirm(self.appointment.id)
        except BookingError as error:
            self.timebok.report(error)
            return
        finally:
            self.writing, button.disabled = False, False
            self.refresh_bindings()
        self.appointment = confirmed
        self.query_one("#next", Static).update(t("confirmation.confirmed_now"))
        self.query_one("#confirm-now", Button).display = False
        self.query_one("#to-inbox", Button).focus()
        self.refresh_bindings()

    @on(Button.Pressed, "#to-inbox")
    def action_inbox(self) -> None:
        patient = self.draft.patient
        self.dismiss()
        self.timebok.open_inbox(from_flow=True, patient=patient)
