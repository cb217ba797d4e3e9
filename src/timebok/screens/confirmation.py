"""Step 6: the request went to the GP office, which must confirm or reject it; «Gå til innboksen»."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Button

from timebok.client.errors import BookingError, ErrorKind
from timebok.client.models import Appointment, AppointmentState, Patient
from timebok.screens.base import BookingStep
from timebok.ui.draft import BookingDraft, chosen
from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.labels import short_when, time_type_label, when
from timebok.ui.problems import RETRYABLE, full_text
from timebok.ui.widgets.plain import Static
from timebok.ui.workers import AwaitsItsWrite


class ConfirmationScreen(AwaitsItsWrite, BookingStep):
    STEP = 6
    TITLE_KEY = "confirmation.title"
    BINDINGS = [key("i", "inbox", "confirmation.to_inbox"), key("b", "confirm_now", "confirmation.confirm_now")]

    def __init__(self, appointment: Appointment, draft: BookingDraft) -> None:
        super().__init__(draft)
        self.appointment = appointment
        if appointment.replaces_id:
            self.TITLE_KEY = "confirmation.title_change"  # «Endringen er sendt»: the old time is kept until answered
        self._patient = chosen(draft.patient, "patient")  # the request was sent for them
        # (text id, its fields) once answered here: kept on a rebuild
        self.answer_note: tuple[str, dict[str, object]] | None = None

    def rebuilt(self) -> ConfirmationScreen:
        screen = ConfirmationScreen(self.appointment, self.draft)
        screen.answer_note = self.answer_note
        return screen

    def patient(self) -> Patient:
        return self._patient

    @property
    def _may_confirm(self) -> bool:
        return self._for_patient and self.appointment.state is AppointmentState.WAITING

    def compose_body(self) -> ComposeResult:
        office = self.appointment.office.name if self.appointment.office else ""
        user = self.timebok.user
        # The desk's patient, or the person a citizen booked for (a child, a fullmakt): «… for Emma Lie».
        for_other = user is not None and user.patient is not None and self._patient.id != user.patient.id
        patient = self._patient if self._for_patient or for_other else None
        sent = (
            t("confirmation.sent_for", patient=patient.name, office=office) if patient else t("confirmation.sent", office=office)
        )
        old = self.draft.replaces if self.appointment.replaces_id else None
        if old is not None:  # a change: the old time is kept until the office answers
            sent = t("change.sent", office=office, old=when(old.start))
        yield Static(sent, id="sent")
        yield Static(
            f"{time_type_label(self.appointment.time_type_code, office)}\n"
            + (
                t("change.from_to", old=short_when(old.start), new=short_when(self.appointment.start))
                if old
                else when(self.appointment.start)
            )
            + (f"\n{self.appointment.place.name}, {self.appointment.place.full_address}" if self.appointment.place else ""),
            id="sent-summary",
        )
        if self.answer_note is not None:
            text_id, fields = self.answer_note
            yield Static(t(text_id, **fields), id="next", classes="hint")
        else:
            yield Static(t("confirmation.staff_next") if self._for_patient else t("confirmation.next"), id="next", classes="hint")
        if self.draft.wish_made is not None:  # «Kan komme på kort varsel» was ticked on step 5
            if not self.draft.wish_made:
                note = t("confirmation.short_notice_failed")
            elif for_other:  # a child's or a fullmakt-giver's time: they are on the list, told to whoever booked it
                note = t("confirmation.short_notice_for", patient=self._patient.name)
            else:
                note = t("confirmation.short_notice")
            yield Static(note, id="short-notice-note", classes="hint")
        if self._may_confirm:
            yield Button(t("confirmation.confirm_now"), id="confirm-now", variant="success")
            status = Static("", id="confirm-status", classes="hint")  # «Bekrefter timen …», or what went wrong
            status.display = False
            yield status
        yield Button(t("confirmation.to_inbox"), id="to-inbox", variant="primary")

    @property
    def _for_patient(self) -> bool:
        """The front desk booked on a patient's behalf, and may confirm the request there and then."""
        return bool(self.timebok.user and self.timebok.user.is_staff)

    failed = False  # the last «Bekreft timen nå» failed, so Ctrl+R (try again) sends it again

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("confirm_now", "back", "inbox") and self.writing:
            return None  # greyed out until the answer: leaving would drop it, unheard
        if action == "confirm_now":
            return self._may_confirm
        return True

    def reload(self) -> None:
        """Ctrl+R after a failed «Bekreft timen nå»: send it again (under the same identifier: never twice)."""
        if self.failed and self._may_confirm and not self.writing:
            self.confirm_now()

    def _status(self, text: str, *, problem: bool = False) -> None:
        status = self.query_one("#confirm-status", Static)
        status.update(text)
        status.set_class(problem, "error")
        status.display = bool(text)

    def on_mount(self) -> None:
        self.query_one("#confirm-now" if self._may_confirm else "#to-inbox", Button).focus()

    @on(Button.Pressed, "#confirm-now")
    def action_confirm_now(self) -> None:
        if self._may_confirm and not self.writing:
            self.confirm_now()

    @work(exclusive=True)
    async def confirm_now(self) -> None:
        button = self.query_one("#confirm-now", Button)
        self.writing, button.disabled = True, True
        self.refresh_bindings()
        self._status(t("confirmation.confirming"))
        try:
            confirmed = await self.client.confirm(self.appointment.id)
        except BookingError as error:
            self._status("")
            self.failed = error.kind in RETRYABLE
            if error.kind is ErrorKind.CONFLICT:
                await self._answered_meanwhile()
            elif error.kind in (ErrorKind.TIMEOUT, ErrorKind.OFFLINE):
                self._status(t("confirmation.confirm_in_doubt"), problem=True)  # it may have landed
            else:
                self.timebok.report(error)
                self._status(full_text(error), problem=True)
            return
        finally:
            self.writing, button.disabled = False, False
            self.refresh_bindings()
        self.failed = False
        self._status("")
        self._answered(confirmed, "confirmation.confirmed_now", {})

    async def _answered_meanwhile(self) -> None:
        """Another desk answered the request (or the patient cancelled) before this B: say who, as «Forespørsler» does."""
        from timebok.screens.requests import answered_by_others

        try:
            fresh = await self.client.appointment(self.appointment.id)
        except BookingError as error:
            self.timebok.report(error)
            return
        text_id = answered_by_others(fresh.state)
        fields: dict[str, object] = {"patient": self._patient.name}
        self.notify(t(text_id, **fields), severity="warning", timeout=10)
        self._answered(fresh, text_id, fields)

    def _answered(self, appointment: Appointment, text_id: str, fields: dict[str, object]) -> None:
        self.appointment = appointment
        self.answer_note = (text_id, fields)
        self.query_one("#next", Static).update(t(text_id, **fields))
        self.query_one("#confirm-now", Button).display = False
        self.query_one("#to-inbox", Button).focus()
        self.refresh_bindings()

    @on(Button.Pressed, "#to-inbox")
    def action_inbox(self) -> None:
        if self.writing:  # the button too: leaving would drop the answer of «Bekreft timen nå», unheard
            return
        patient = self._patient
        self.dismiss()
        self.timebok.open_inbox(from_flow=True, patient=patient)
