"""The desk's attendance keys, shared by «Dagens timer» and the patient's page: «Møtt», «Ferdig», «Ikke møtt», and
Z to undo; «Endre time» and the cancel with the deadline override start here too."""

from __future__ import annotations

from textual import work

from timebok.client.errors import BookingError
from timebok.client.models import Appointment
from timebok.domain.clock import today
from timebok.screens.base import Outcome
from timebok.screens.live import LiveMixin
from timebok.ui.daylist import shown_name, status_of, undo_of
from timebok.ui.i18n import clock_time, t
from timebok.ui.keys import key


class AttendanceScreen(LiveMixin):
    """A live screen whose highlighted appointment (`chosen_appointment`) takes the attendance keys."""

    BINDINGS = [
        # In the line of keys under the list, not the footer: at 80 columns it has no room for four more.
        key("m", "mark('arrived')", "attendance.arrived", show=False),
        key("f", "mark('fulfilled')", "attendance.fulfilled", show=False),
        key("i", "mark('noshow')", "attendance.noshow", show=False),
        key("z", "undo_mark", "attendance.undo", show=False),
        key("c", "change", "attendance.change", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._marked_from: dict[str, str] = {}  # appointment id → its status before this desk's last mark

    def chosen_appointment(self) -> Appointment | None:
        """The appointment the keys act on: the highlighted one."""
        raise NotImplementedError

    def action_mark(self, status: str) -> None:
        appointment = self.chosen_appointment()
        if appointment is None:
            self.app.bell()
            return
        self._send_mark(appointment, status, undo=False)

    def action_undo_mark(self) -> None:
        appointment = self.chosen_appointment()
        back = undo_of(status_of(appointment), self._marked_from.get(appointment.id)) if appointment else None
        if appointment is None or back is None:
            self.app.notify(t("attendance.nothing_to_undo"), severity="warning")
            return
        self._send_mark(appointment, back, undo=True)

    @work(exclusive=True, group="attendance")
    async def _send_mark(self, appointment: Appointment, status: str, *, undo: bool) -> None:
        before = status_of(appointment)
        try:
            marked = await self.client.mark_attendance(appointment, status)
        except BookingError as error:
            self.timebok.report(error)  # «Ikke møtt» too early, another desk first: said in words
            self.reload(quiet=True)
            return
        if undo:
            self._marked_from.pop(appointment.id, None)
        else:
            self._marked_from[appointment.id] = before
        name = shown_name(appointment.patient, appointment.patient_id, hidden=self.timebok.hide_names)
        word = t(f"desk.state.{status_of(marked)}")
        text_id = "attendance.undone" if undo else "attendance.marked"
        self.app.notify(t(text_id, patient=name, time=clock_time(appointment.start), state=word), timeout=6)
        self.reload(quiet=True)

    def action_change(self) -> None:
        """«Endre time»: the guide's calendar for the same time type, the new time booked and the old one freed at once."""
        appointment = self.chosen_appointment()
        if appointment is None or status_of(appointment) not in ("booked", "pending"):
            self.app.notify(t("attendance.nothing_to_change"), severity="warning")
            return
        self._start_change(appointment)

    @work(exclusive=True, group="change")
    async def _start_change(self, appointment: Appointment) -> None:
        from timebok.screens.calendar import CalendarScreen
        from timebok.ui.draft import BookingDraft

        user = self.timebok.user
        if user is None or user.office is None or appointment.patient is None:
            return
        try:
            time_type = next(
                (tt for tt in await self.client.time_types(user.office.id) if tt.code == appointment.time_type_code), None
            )
            books = await self.client.timebooks(time_type.id) if time_type is not None else []
        except BookingError as error:
            self.timebok.report(error)
            return
        book = next((b for b in books if b.place.id == appointment.place_id), books[0] if books else None)
        if time_type is None or book is None:
            self.app.notify(t("attendance.no_timebook"), severity="warning")
            return
        draft = BookingDraft(patient=appointment.patient, replaces=appointment)
        draft.choose_time_type(time_type)
        draft.timebooks = books
        draft.choose_timebook(book)  # the same place to start with; the place may change (Esc, then another)
        draft.month = appointment.start.date().replace(day=1) if appointment.start.date() > today() else None
        self.open_next(CalendarScreen(draft))

    def next_closed(self, outcome: Outcome | None) -> None:
        if outcome is Outcome.CHANGED:
            self.reload(quiet=True)  # the moved time shows at its new place at once
