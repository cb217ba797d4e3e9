"""The desk's week overview: per weekday and timebook, how many are booked, how many times are free, how many wait."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable

from timebok.client.errors import BookingError
from timebok.client.models import Appointment, Slot, Timebook
from timebok.domain.clock import OSLO, now
from timebok.screens.live import LiveMixin, refresh_key
from timebok.ui.i18n import day_month, t, weekday_abbreviations
from timebok.ui.keys import key
from timebok.ui.labels import time_type_name
from timebok.ui.widgets.plain import Static

DAYS = 5  # Monday to Friday: timebooks have no times at weekends (README «Timebook setup»)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def cell(booked: int, free: int, waiting: int) -> str:
    """«3·12·1»: booked, free, requests (the legend above the table says which is which)."""
    return f"{booked}·{free}·{waiting}"


class WeekScreen(LiveMixin):
    TITLE_KEY = "week.title"
    KEYS_IN_PALETTE = True
    BINDINGS = [
        key("pageup,less_than_sign", "week(-1)", "week.prev", key_display="PgUp"),
        key("pagedown,greater_than_sign", "week(1)", "week.next", key_display="PgDn"),
        key("enter", "choose", "week.choose", show=False),
        refresh_key(),
    ]

    def __init__(self, day: date, timebooks: list[Timebook], choose: Callable[[date], None] | None = None) -> None:
        super().__init__()
        self.monday = monday_of(day)
        self.timebooks = timebooks
        self.choose = choose
        self.counts: dict[tuple[str, date], tuple[int, int, int]] = {}

    def rebuilt(self) -> WeekScreen:
        return WeekScreen(self.monday, self.timebooks, self.choose)

    def compose_body(self) -> ComposeResult:
        yield Static("", id="week-heading", classes="section")
        yield Static(t("week.legend"), classes="hint")
        yield DataTable(id="week-table", cursor_type="cell", zebra_stripes=True)
        yield self.updated_line()

    def on_mount(self) -> None:
        self.query_one("#week-table", DataTable).focus()
        self.reload()
        self.start_polling()

    def reload(self, quiet: bool = False) -> None:
        self._fetch(self.monday, quiet)

    @work(exclusive=True)
    async def _fetch(self, monday: date, quiet: bool) -> None:
        start = datetime.combine(monday, time(), OSLO)
        end = start + timedelta(days=7)
        try:
            appointments = await self.client.day_appointments(monday, 7)
            free = {b.id: await self.client.free_between(b.id, max(start, now()), end) for b in self.timebooks}
        except BookingError as error:
            self.fetch_failed(error, quiet=quiet)
            return
        if monday != self.monday:
            return  # another week was asked for meanwhile
        self._show(appointments, free)
        self.fetched()

    def _show(self, appointments: list[Appointment], free: dict[str, list[Slot]]) -> None:
        days = [self.monday + timedelta(days=i) for i in range(DAYS)]
        booked: Counter[tuple[str, date]] = Counter()
        waiting: Counter[tuple[str, date]] = Counter()
        for a in appointments:
            book = next((b for b in self.timebooks if b.time_type_code == a.time_type_code and b.place.id == a.place_id), None)
            if book is None:
                continue
            target = waiting if a.state.value == "waiting" else booked
            target[(book.id, a.start.date())] += 1
        free_count: Counter[tuple[str, date]] = Counter(
            (book_id, s.start.date()) for book_id, slots in free.items() for s in slots
        )
        table = self.query_one("#week-table", DataTable)
        table.clear(columns=True)
        names = weekday_abbreviations()
        table.add_column(t("week.col_timebook"))
        for day in days:
            table.add_column(f"{names[day.weekday()]} {day.day}.")
        totals = [[0, 0, 0] for _ in days]
        for book in self.timebooks:
            values = []
            for i, day in enumerate(days):
                counts = (booked[(book.id, day)], free_count[(book.id, day)], waiting[(book.id, day)])
                self.counts[(book.id, day)] = counts
                totals[i] = [x + y for x, y in zip(totals[i], counts, strict=True)]
                values.append(cell(*counts))
            label = f"{time_type_name(book.time_type_code)} · {book.place.name}"
            table.add_row(label if len(label) <= 20 else label[:19] + "…", *values)
        table.add_row(t("week.total"), *(cell(*total) for total in totals))
        last = days[-1]
        self.query_one("#week-heading", Static).update(
            t("week.heading", week=self.monday.isocalendar().week, first=day_month(self.monday), last=day_month(last))
        )

    def action_week(self, step: int) -> None:
        self.monday += timedelta(days=7 * step)
        self.query_one("#week-table", DataTable).clear()
        self.reload()

    @on(DataTable.CellSelected, "#week-table")
    def action_choose(self) -> None:
        """Enter on a day's cell: that day in «Dagens timer»."""
        column = self.query_one("#week-table", DataTable).cursor_column
        if column >= 1 and self.choose is not None:
            self.choose(self.monday + timedelta(days=column - 1))
        self.dismiss()
