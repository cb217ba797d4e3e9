"""«Dagens timer»: the desk's working list for one day, one timebook or all; other days, the week, print and export."""

from __future__ import annotations

from datetime import date, timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable

from timebok.client.errors import BookingError
from timebok.client.models import Appointment, Timebook
from timebok.domain.clock import now, today
from timebok.screens.attendance import AttendanceScreen
from timebok.ui.daylist import DayRow, csv_text, day_rows, is_late, type_mark
from timebok.ui.i18n import clock_time, long_date, t, tn
from timebok.ui.keys import key
from timebok.ui.labels import time_type_name
from timebok.ui.printing_delivery import deliver
from timebok.ui.widgets.plain import Static
from timebok.ui.widgets.row_table import RowTable


def timebook_heading(appointment: Appointment) -> str:
    place = appointment.place.name if appointment.place else ""
    return f"{time_type_name(appointment.time_type_code)} · {place}" if place else time_type_name(appointment.time_type_code)


def timebook_label(timebook: Timebook | None) -> str:
    """«Alle timebøker», or one timebook as «Laboratoriet · Strandgaten»."""
    if timebook is None:
        return t("today.all_timebooks")
    return f"{time_type_name(timebook.time_type_code)} · {timebook.place.name}"


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class TodayScreen(AttendanceScreen):
    TITLE_KEY = "today.title"
    KEYS_IN_PALETTE = True
    BINDINGS = [
        # Priority: the table would take ←/→ for scrolling sideways, which a four-column list never needs.
        key("left", "day(-1)", "today.prev_day", key_display="←→", priority=True),
        key("right", "day(1)", "today.next_day", show=False, priority=True),  # shown with ← as «←→ Dag»
        # T and U are named on the line under the list with the rest; the footer keeps room for F1 and Ctrl+Q at 80 columns.
        key("t", "today", "today.today", show=False),
        key("v", "scope", "today.scope"),
        key("u", "week", "today.week", show=False),
        key("p", "print_day", "today.print"),
        key("e", "export_csv", "today.csv", show=False),
        key("k", "card", "today.card", show=False),
        key("enter", "patient", "today.patient", show=False),
        # Not in the footer, which has no room for it at 80 columns: the line «Oppdatert …; R oppdaterer nå» names it.
        key("r", "refresh", "live.refresh", show=False),
    ]

    def __init__(self, day: date | None = None, timebook_id: str | None = None) -> None:
        super().__init__()
        self.day = day or today()
        self.timebook_id = timebook_id  # None: every timebook of the office
        self.timebooks: list[Timebook] = []
        self.appointments: list[Appointment] = []
        self.rows: list[DayRow] = []
        self._shown_for: tuple[date, str | None] | None = None  # what the rows shown were fetched for
        self._timebooks_asked = False  # the office's timebooks fetched (or asked for) once since this screen opened
        self._confirmed_day: date | None = None  # the day the backend last answered for (not a list known from before)

    def rebuilt(self) -> TodayScreen:
        return TodayScreen(self.day, self.timebook_id)

    def compose_body(self) -> ComposeResult:
        yield Static(self._heading_text(), id="day-heading", classes="section")
        yield RowTable(id="day-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="day-details")
        yield Static(t("today.keys"), id="day-keys", classes="hint")
        yield self.updated_line()

    def on_mount(self) -> None:
        table = self.query_one("#day-table", DataTable)
        table.add_columns(*(t(f"daylist.col_{c}") for c in ("time", "type", "place", "patient", "state")))
        table.focus()
        user = self.timebok.user
        if user is not None and user.office is not None:
            self.timebooks = self.client.known_timebooks(user.office.id)  # this session's last list: a scope shows at once
        self._show_known()
        self.reload()
        self.start_polling()

    def on_screen_resume(self) -> None:
        self.reload(quiet=True)  # back from the patient's page or a booking: what changed there shows at once

    @property
    def timebook(self) -> Timebook | None:
        return next((b for b in self.timebooks if b.id == self.timebook_id), None)

    def _heading_text(self) -> str:
        day = long_date(self.day)
        if self.day == today():
            day = t("today.is_today", date=day)
        return f"{day} · {timebook_label(self.timebook)}"

    def reload(self, quiet: bool = False) -> None:
        self._fetch(self.day, quiet)

    @work(exclusive=True)
    async def _fetch(self, day: date, quiet: bool) -> None:
        user = self.timebok.user
        office = user.office.id if user is not None and user.office is not None else None
        try:
            appointments = await self.client.day_appointments(day)
            if day != self.day:
                return  # ← or → was pressed while this day was fetched: its answer is for another day
            if (self.timebooks or self.timebook_id is None) and not self._showing(appointments):
                self.appointments = appointments
                self._show()  # the day at once; the timebooks (for V and the week) come after it
            if office is not None and not self._timebooks_asked:
                self._timebooks_asked = True
                if self.timebooks:
                    # Known from earlier in the session: asked anew once the list is painted, not while it paints.
                    self.call_after_refresh(self._fetch_timebooks, office)
                else:
                    self.timebooks = await self.client.office_timebooks(office)
        except BookingError as error:
            if self._shown_for is None or self._shown_for[0] != day:
                self.query_one("#day-details", Static).update(t("today.not_fetched"))  # not «Henter …» for ever
            self.fetch_failed(error, quiet=quiet)
            return
        if day != self.day:
            return
        if not self._showing(appointments):
            self.appointments = appointments
            self._show()  # a poll answered 304 (the very same list) leaves the table as it is
        self._confirmed_day = day
        self.fetched()

    def _showing(self, appointments: list[Appointment]) -> bool:
        """Whether the table shows this very list for the day and scope asked for (a 304 answers the same object),
        as it is now: time alone makes a patient late."""
        if appointments is not self.appointments or self._shown_for != (self.day, self.timebook_id):
            return False
        moment = now()
        return all(row.late == is_late(row.appointment, moment) for row in self.rows)

    def _show_known(self) -> None:
        """The day as this session last fetched it, at once, before it is painted; the fetch that follows confirms
        it (unchanged, the answer is this very list and the table is left as it is) or replaces it."""
        known = self.client.known_day_appointments(self.day)
        if known is not None and (self.timebooks or self.timebook_id is None):
            self.appointments = known
            self._show()

    @work(exclusive=True, group="timebooks")
    async def _fetch_timebooks(self, office: str) -> None:
        try:
            timebooks = await self.client.office_timebooks(office)
        except BookingError:
            return  # the list known from earlier stays; the day's own fetch reports a backend that is gone
        if timebooks != self.timebooks:
            self.timebooks = timebooks  # the office's setup changed since: the scope and its heading follow
            if self._shown_for is not None:
                self._show()

    def _show(self) -> None:
        table = self.query_one("#day-table", RowTable)
        focused_id = self.rows[table.cursor_row].appointment.id if self.rows and table.cursor_row < len(self.rows) else None
        same_view = self._shown_for == (self.day, self.timebook_id)
        self.rows = day_rows(self.appointments, hidden=self.timebok.hide_names, moment=now(), timebook=self.timebook)
        self._shown_for = (self.day, self.timebook_id)
        # Text cells, not str (a str cell is parsed as markup), all in one step (RowTable: 400 rows open at once).
        table.fill(
            (
                Text(row.time),
                Text.assemble(type_mark(row.type_code), " ", cut(row.type_name, 14)),
                Text(cut(row.place, 16)),
                Text(cut(row.patient, 24)),
                Text.assemble(("⏰ " + t("daylist.late"), "bold"), " · ", row.state) if row.late else Text(row.state),
            )
            for row in self.rows
        )
        if same_view and focused_id is not None:
            index = next((i for i, r in enumerate(self.rows) if r.appointment.id == focused_id), None)
            if index is not None:
                table.move_cursor(row=index)  # a poll keeps the highlight on the same appointment
        self.query_one("#day-heading", Static).update(self._heading_text() + " · " + self._counts())
        self._details()

    def _counts(self) -> str:
        waiting = sum(1 for r in self.rows if r.appointment.state.value == "waiting")
        text = tn("today.count", len(self.rows))
        return text + (" " + tn("today.count_waiting", waiting) if waiting else "")

    @on(DataTable.RowHighlighted, "#day-table")
    def _details(self) -> None:
        table = self.query_one("#day-table", DataTable)
        details = self.query_one("#day-details", Static)
        if not self.rows:
            details.update(t("today.empty_day"))
            return
        row = self.rows[min(table.cursor_row, len(self.rows) - 1)]
        number = f" ({row.number})" if row.number else ""
        lines = [f"{clock_time(row.appointment.start)} · {row.type_label} · {row.place} · {row.patient}{number} · {row.state}"]
        if row.late:
            lines.append(t("today.late_line"))
        if row.reason:
            lines.append(f"{t('details.reason')}: {row.reason}")
        details.update("\n".join(lines))

    def names_changed(self) -> None:
        super().names_changed()
        if self.is_mounted:
            self._show()

    def _go(self, day: date) -> None:
        self.day = day
        self.appointments, self.rows = [], []
        self.query_one("#day-table", DataTable).clear()
        self.query_one("#day-heading", Static).update(self._heading_text())
        self.query_one("#day-details", Static).update(t("today.loading"))
        self._show_known()  # a day seen before in this session shows at once, and is asked anew
        self.reload()

    def action_day(self, step: int) -> None:
        self._go(self.day + timedelta(days=step))

    def action_today(self) -> None:
        self._go(today())

    def action_scope(self) -> None:
        """All timebooks → each timebook in turn → all again."""
        ids: list[str | None] = [None, *(b.id for b in self.timebooks)]
        self.timebook_id = ids[(ids.index(self.timebook_id) + 1) % len(ids)] if self.timebook_id in ids else None
        self._show()

    def action_week(self) -> None:
        from timebok.screens.week import WeekScreen

        self.open_next(WeekScreen(self.day, self.timebooks, self._week_chosen))

    def _week_chosen(self, chosen: date) -> None:
        if chosen != self.day:
            self._go(chosen)

    def chosen_appointment(self) -> Appointment | None:
        return self._highlighted()

    def _highlighted(self) -> Appointment | None:
        table = self.query_one("#day-table", DataTable)
        return self.rows[table.cursor_row].appointment if self.rows and table.cursor_row < len(self.rows) else None

    def action_patient(self) -> None:
        appointment = self._highlighted()
        if appointment is None or appointment.patient is None:
            return
        from timebok.screens.patient_page import PatientScreen

        self.open_next(PatientScreen(appointment.patient))

    @on(DataTable.RowSelected, "#day-table")
    def _selected(self) -> None:
        self.action_patient()

    def _fetched_now(self) -> bool:
        """Whether the list shown is the day and scope asked for: a print or export never shows an unfetched day as empty."""
        if self._shown_for == (self.day, self.timebook_id) and self._confirmed_day == self.day:
            return True
        self.app.notify(t("today.not_fetched"), severity="warning")
        return False

    def action_print_day(self) -> None:
        if not self._fetched_now():
            return
        from timebok.ui.printing import day_list_pdf

        user = self.timebok.user
        office = user.office.name if user and user.office else ""
        data = day_list_pdf(self.rows, office=office, day=self.day, scope=timebook_label(self.timebook), printed=now())
        self._deliver(data, f"{t('print.day_file')}-{self.day.isoformat()}.pdf", printable=True)

    def action_export_csv(self) -> None:
        if not self._fetched_now():
            return
        self._deliver(csv_text(self.rows, self.day).encode("utf-8-sig"), f"{t('print.day_file')}-{self.day.isoformat()}.csv")

    def action_card(self) -> None:
        appointment = self._highlighted()
        if appointment is None:
            return
        from timebok.ui.printing import appointment_card_pdf

        patient = appointment.patient.name if appointment.patient else ""
        data = appointment_card_pdf(appointment, patient=patient)
        self._deliver(data, f"{t('print.card_file')}-{appointment.start:%Y-%m-%d-%H%M}.pdf", printable=True)

    def _deliver(self, data: bytes, name: str, *, printable: bool = False) -> None:
        deliver(self.app, data, name, printable=printable)
