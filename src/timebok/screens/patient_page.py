"""«Pasient»: one patient's page at the desk: who they are, their times coming and past, requests, no-shows, messages.

Everything on it is fetched for this one patient and checked to be theirs: a screen must never show another
person's data (the top line names the patient only here and in their booking)."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable

from timebok.client.errors import BookingError, ErrorKind
from timebok.client.models import Appointment, AppointmentState, InboxMessage, Patient, ShortNoticeWish
from timebok.domain.clock import now
from timebok.screens.attendance import AttendanceScreen
from timebok.screens.reject_dialog import RejectDialog
from timebok.screens.wish_dialog import WishChoice, WishDialog, period_text
from timebok.ui.daylist import desk_state, is_late, shown_name, status_of, type_mark
from timebok.ui.i18n import clock_time, short_date, t, tn
from timebok.ui.keys import dialog_keys, key
from timebok.ui.labels import time_type_name
from timebok.ui.widgets.plain import Static
from timebok.ui.widgets.row_table import RowTable

ACTIVE = (AppointmentState.WAITING, AppointmentState.CONFIRMED)
MESSAGES_SHOWN = 5


def wish_text(wish: ShortNoticeWish) -> str:
    """«Laboratoriet 07.12–18.12, venter» or «…, tilbudt til kl. 09:15»."""
    state = t("shortnotice.offered", until=clock_time(wish.offered_until)) if wish.offered_until else t("shortnotice.waiting")
    return f"{time_type_name(wish.time_type_code)} {period_text(wish.period_start, wish.period_end)}, {state}"


class CancelDialog(RejectDialog):
    """The desk cancels a time: like rejecting a request, a short reason for the patient is required."""

    BINDINGS = [key("escape", "cancel", "desk_cancel.back"), key("ctrl+s", "send", "desk_cancel.send"), *dialog_keys()]

    def __init__(self, question: str) -> None:
        super().__init__(question, texts="desk_cancel")


class PatientScreen(AttendanceScreen):
    TITLE_KEY = "patientpage.title"
    KEYS_IN_PALETTE = True
    # Focus is put on the coming times in on_mount, without scrolling: with the lists known at once the tables are
    # already tall, and Textual's auto focus would centre them, opening the page scrolled past the patient's name.
    AUTO_FOCUS = ""
    BINDINGS = [
        key("b", "book", "patientpage.book"),
        key("a", "cancel", "patientpage.cancel"),
        key("k", "card", "patientpage.card"),
        # Named in the line of keys under the lists: the footer has no room for them at 80 columns.
        key("v", "notices", "patientpage.notices", show=False),
        key("l", "short_notice", "patientpage.short_notice", show=False),
        key("r", "refresh", "live.refresh", show=False),  # named on the «Oppdatert …» line; the footer has no room
    ]

    def __init__(self, patient: Patient) -> None:
        super().__init__()
        self._patient = patient
        self.appointments: list[Appointment] = []
        self.messages: list[InboxMessage] = []
        self.wishes: list[ShortNoticeWish] = []
        self.upcoming: list[Appointment] = []
        self.past: list[Appointment] = []
        self._answers: tuple[list[Appointment], list[InboxMessage]] | None = None  # what the lists were made from
        self._late: set[str] = set()  # the appointments shown as late

    def patient(self) -> Patient:
        return self._patient

    def rebuilt(self) -> PatientScreen:
        return PatientScreen(self._patient)

    def compose_body(self) -> ComposeResult:
        yield Static(self._facts(), id="patient-facts")
        yield Static(t("patientpage.upcoming_loading"), id="upcoming-heading", classes="section")
        yield RowTable(id="upcoming", cursor_type="row", zebra_stripes=True, classes="patient-table")
        yield Static("", id="past-heading", classes="section")
        yield RowTable(id="past", cursor_type="row", zebra_stripes=True, classes="patient-table")
        yield Static("", id="messages-heading", classes="section")
        yield Static("", id="patient-messages")
        yield Static(t("patientpage.keys"), id="patient-keys", classes="hint")
        yield self.updated_line()

    def on_mount(self) -> None:
        for table_id in ("#upcoming", "#past"):
            self.query_one(table_id, DataTable).add_columns(
                *(t(f"patientpage.col_{c}") for c in ("when", "type", "place", "state"))
            )
        self.query_one("#upcoming", DataTable).focus(scroll_visible=False)
        # The patient as this session last fetched them, at once, before the page is painted; the fetch that follows
        # confirms it (unchanged, the client answers these very lists and the page is left as it is) or replaces it.
        known = (self.client.known_appointments(self._patient.id), self.client.known_inbox(self._patient.id))
        if known[0] is not None and known[1] is not None:
            self._take(known[0], known[1])
        self.reload()
        self.start_polling()

    def on_screen_resume(self) -> None:
        self.reload(quiet=True)  # back from a booking for this patient: the new time is listed

    def _facts(self) -> str:
        p = self._patient
        hidden = self.timebok.hide_names
        name = shown_name(p, p.id, hidden=hidden)
        number = t("patient.d_number", number=p.masked_number) if p.has_d_number else p.masked_number
        born = short_date(p.birth_date) if p.birth_date and not hidden else ""
        lines = [name if hidden else t("patientpage.who", name=name, born=born, number=number)]
        lines.append(self._contact())
        counted = sum(1 for a in self.appointments if status_of(a) == "noshow")
        noshows = max(counted, p.noshow_count or 0)  # the backend's count at this office, when it gave one
        waiting = sum(1 for a in self.upcoming if a.state is AppointmentState.WAITING)
        lines.append(tn("patientpage.noshows", noshows) + " · " + tn("patientpage.requests", waiting))
        if self.wishes:
            lines.append(t("patientpage.wishes", wishes=" · ".join(wish_text(w) for w in self.wishes)))
        return "\n".join(lines)

    def _contact(self) -> str:
        """E-mail and mobile (Patient.telecom, where the office's messages go), hidden with the name by «Skjul navn»."""
        p = self._patient
        if self.timebok.hide_names:
            return t("patientpage.contact_hidden")
        parts = [
            t("patientpage.email", address=p.email) if p.email else "",
            t("patientpage.mobile", number=p.mobile) if p.mobile else "",
        ]
        shown = " · ".join(part for part in parts if part)
        return t("patientpage.contact", details=shown) if shown else t("patientpage.contact_none")

    def reload(self, quiet: bool = False) -> None:
        self._fetch(quiet)

    @work(exclusive=True)
    async def _fetch(self, quiet: bool) -> None:
        patient_id = self._patient.id
        try:
            appointments, messages, wishes = await asyncio.gather(
                self.client.appointments(patient_id), self.client.inbox(patient_id), self.client.wishes(patient_id=patient_id)
            )
        except BookingError as error:
            self.fetch_failed(error, quiet=quiet)
            return
        # Only this patient's wishes, as for the appointments below.
        mine = [w for w in wishes if w.patient_id == patient_id]
        if self._answers is None or appointments is not self._answers[0] or messages is not self._answers[1]:
            self.wishes = mine
            self._take(appointments, messages)
        elif mine != self.wishes:
            self.wishes = mine
            self._show()
        elif self._moved_on():
            self._show()  # the same lists (a 304), but time alone moved a time to the past or made a patient late
        self.fetched()

    def _moved_on(self) -> bool:
        moment = now()
        late = {a.id for a in self.appointments if is_late(a, moment)}
        return late != self._late or any(not a.is_upcoming(moment) for a in self.upcoming)

    def _take(self, appointments: list[Appointment], messages: list[InboxMessage]) -> None:
        self._answers = (appointments, messages)
        # Only this patient's: whatever the backend answered, nothing of anyone else's reaches this page.
        self.appointments = [a for a in appointments if a.patient_id == self._patient.id]
        self.messages = messages
        self._show()

    def _show(self) -> None:
        moment = now()
        self.upcoming = [a for a in self.appointments if a.is_upcoming(moment) and a.state in ACTIVE]
        self._late = {a.id for a in self.appointments if is_late(a, moment)}
        self.past = sorted((a for a in self.appointments if a not in self.upcoming), key=lambda a: a.start, reverse=True)
        self._fill("#upcoming", self.upcoming)
        self._fill("#past", self.past)
        self.query_one("#upcoming-heading", Static).update(tn("patientpage.upcoming", len(self.upcoming)))
        self.query_one("#past-heading", Static).update(tn("patientpage.past", len(self.past)))
        self.query_one("#patient-facts", Static).update(self._facts())
        heading = tn("patientpage.messages", len(self.messages))
        self.query_one("#messages-heading", Static).update(heading)
        lines = [f"{short_date(m.sent.date())} {clock_time(m.sent)} · {m.topic}" for m in self.messages[:MESSAGES_SHOWN]]
        if len(self.messages) > MESSAGES_SHOWN:
            lines.append(tn("patientpage.more_messages", len(self.messages) - MESSAGES_SHOWN))
        self.query_one("#patient-messages", Static).update("\n".join(lines) or t("patientpage.no_messages"))

    def _fill(self, table_id: str, appointments: list[Appointment]) -> None:
        table = self.query_one(table_id, RowTable)
        row = table.cursor_row
        moment = now()
        # Text cells, not str (a str cell is parsed as markup), all in one step (RowTable: a long history at once).
        table.fill(
            (
                Text(f"{a.start:%d.%m.%y %H:%M}"),
                Text.assemble(type_mark(a.time_type_code), " ", time_type_name(a.time_type_code)),
                Text(a.place.name if a.place else ""),
                Text.assemble(("⏰ " + t("daylist.late"), "bold"), " · ", desk_state(a))
                if is_late(a, moment)
                else Text(desk_state(a)),
            )
            for a in appointments
        )
        if appointments:
            table.move_cursor(row=min(row, len(appointments) - 1))

    def names_changed(self) -> None:
        super().names_changed()
        if self.is_mounted:
            self.query_one("#patient-facts", Static).update(self._facts())

    def _chosen(self) -> Appointment | None:
        """The appointment highlighted in the table that has focus (the coming ones when neither has)."""
        past = self.focused is self.query_one("#past", DataTable)
        rows = self.past if past else self.upcoming
        table = self.query_one("#past" if past else "#upcoming", DataTable)
        return rows[table.cursor_row] if rows and table.cursor_row < len(rows) else None

    def chosen_appointment(self) -> Appointment | None:
        return self._chosen()

    def action_book(self) -> None:
        self.timebok.start_booking(self._patient)

    def action_cancel(self) -> None:
        appointment = self._chosen()
        if appointment is None or appointment not in self.upcoming:
            self.app.notify(t("patientpage.nothing_to_cancel"), severity="warning")
            return
        from timebok.ui.labels import when

        question = t("patientpage.cancel_question", when=when(appointment.start), type=time_type_name(appointment.time_type_code))

        def answered(reason: str | None) -> None:
            if reason:
                self._cancel(appointment, reason, None)

        self.app.push_screen(CancelDialog(question), answered)

    @work(exclusive=True, group="cancel")
    async def _cancel(self, appointment: Appointment, reason: str, override: str | None) -> None:
        try:
            await self.client.cancel(appointment, reason, override=override)
        except BookingError as error:
            if error.kind is ErrorKind.CHANGE_DEADLINE and override is None:
                # Past the deadline the desk may still cancel, saying why (audited); the reason typed is kept.
                from timebok.screens.override_dialog import OverrideDialog

                def chosen(code: str | None) -> None:
                    if code is not None:
                        self._cancel(appointment, reason, code)

                self.app.push_screen(OverrideDialog(error.until), chosen)
                return
            self.timebok.report(error)
            self.reload(quiet=True)
            return
        self.app.notify(t("patientpage.cancelled", when=clock_time(appointment.start), day=short_date(appointment.start.date())))
        self.reload(quiet=True)

    def action_notices(self) -> None:
        """«Varsler om timen»: the patient's opt-outs of e-mail/SMS notices and of the reminder for the chosen time."""
        appointment = self._chosen()
        if appointment is None or appointment not in self.upcoming:
            self.app.notify(t("patientpage.nothing_chosen"), severity="warning")
            return
        from timebok.screens.notice_settings_dialog import NoticeSettingsDialog, OptOuts

        def chosen(wanted: OptOuts | None) -> None:
            if wanted is not None:
                self._set_opt_outs(appointment, wanted)

        self.app.push_screen(NoticeSettingsDialog(appointment), chosen)

    @work(exclusive=True, group="opt-outs")
    async def _set_opt_outs(self, appointment: Appointment, wanted: tuple[bool, bool]) -> None:
        try:
            await self.client.set_notice_opt_outs(appointment, notices=wanted[0], reminders=wanted[1])
        except BookingError as error:
            self.timebok.report(error)
            self.reload(quiet=True)
            return
        self.app.notify(t("optout.saved"))
        self.reload(quiet=True)

    def action_short_notice(self) -> None:
        """«Kort varsel»: put the patient on a timebook's list (for an earlier time than the chosen one, if any)."""
        self._ask_short_notice()

    @work(exclusive=True, group="short-notice")
    async def _ask_short_notice(self) -> None:
        office = self.signed_in.office
        if office is None:
            return
        chosen = self._chosen()
        replaces = chosen if chosen is not None and chosen in self.upcoming else None
        try:
            timebooks = await self.client.office_timebooks(office.id)
        except BookingError as error:
            self.timebok.report(error)
            return
        name = shown_name(self._patient, self._patient.id, hidden=self.timebok.hide_names)

        def answered(choice: WishChoice | None) -> None:
            if choice is not None:
                self._send_wish(choice)

        self.app.push_screen(WishDialog(name, timebooks, replaces), answered)

    @work(exclusive=True, group="short-notice-send")
    async def _send_wish(self, choice: WishChoice) -> None:
        try:
            await self.client.ask_short_notice(
                self._patient.id, choice.timebook, choice.start, choice.end, replaces=choice.replaces
            )
        except BookingError as error:
            self.timebok.report(error)
            return
        self.app.notify(t("wish.sent", type=time_type_name(choice.timebook.time_type_code)))
        self.reload(quiet=True)

    def action_card(self) -> None:
        appointment = self._chosen()
        if appointment is None:
            return
        from timebok.ui.printing import appointment_card_pdf
        from timebok.ui.printing_delivery import deliver

        data = appointment_card_pdf(appointment, patient=self._patient.name)
        deliver(self.app, data, f"{t('print.card_file')}-{appointment.start:%Y-%m-%d-%H%M}.pdf", printable=True)

    @on(DataTable.RowSelected)
    def _row_chosen(self) -> None:
        pass  # Enter on a time: its actions are the keys below (a, k), so Enter does nothing by surprise
