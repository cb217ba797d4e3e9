"""A month calendar that marks the dates with free times and lets the user choose one of them."""

from __future__ import annotations

from calendar import MONDAY, Calendar, monthrange
from collections.abc import Iterable
from datetime import date, timedelta

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.style import Style
from textual.widget import Widget

from timebok.ui.i18n import month_title, t, weekday_abbreviations

FREE_MARK = "●"
PREVIOUS_ARROW = "◀"
NEXT_ARROW = "▶"

# A row is a 4-cell week column, then per day a gutter, two digits and a mark, and a last gutter.
# The gutters either side of a day hold its brackets, so "(12●)" fits where a 5-cell day would not.
_WEEK_WIDTH = 4
_DAY_WIDTH = 4
WIDTH = _WEEK_WIDTH + 7 * _DAY_WIDTH + 1


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, or the month's last day if it is shorter."""
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


class MonthCalendar(Widget, can_focus=True):
    """One month, Monday first with ISO week numbers; dates with free times carry a ● and can be chosen."""

    DEFAULT_CSS = """
    MonthCalendar {
        width: auto;
        height: auto;
        padding: 0 1;

        & > .month-calendar--title { text-style: bold; }
        & > .month-calendar--past { text-style: dim; }
        & > .month-calendar--free { background: $primary; color: $text; }
        & > .month-calendar--today { text-style: bold underline; }
        & > .month-calendar--selected { background: $accent; color: $text; text-style: bold; }
        /* Reverse by hand: component styles drop `reverse`, and the theme's cursor blue is the free dates' blue. */
        & > .month-calendar--cursor { background: $foreground; color: $background; text-style: bold; }
    }
    """

    COMPONENT_CLASSES = {
        "month-calendar--title",
        "month-calendar--past",
        "month-calendar--free",
        "month-calendar--today",
        "month-calendar--selected",
        "month-calendar--cursor",
    }

    # Descriptions are looked up when this module is imported, so the language must be set before.
    BINDINGS = [
        Binding("left", "move(-1)", t("calendar.prev_day"), show=False, id="calendar.prev_day"),
        Binding("right", "move(1)", t("calendar.next_day"), show=False, id="calendar.next_day"),
        Binding("up", "move(-7)", t("calendar.prev_week"), show=False, id="calendar.prev_week"),
        Binding("down", "move(7)", t("calendar.next_week"), show=False, id="calendar.next_week"),
        # Not in the footer: the legend under the calendar says «PgUp/PgDn = bytt måned», and 80 columns are few.
        Binding("pageup,less_than_sign", "step_month(-1)", t("calendar.prev_month"), id="calendar.prev_month", show=False),
        Binding("pagedown,greater_than_sign", "step_month(1)", t("calendar.next_month"), id="calendar.next_month", show=False),
        Binding("home", "first_day", t("calendar.first_day"), show=False, id="calendar.first_day"),
        Binding("end", "last_day", t("calendar.last_day"), show=False, id="calendar.last_day"),
        Binding("enter,space", "select_cursor", t("calendar.select"), show=False, id="calendar.select"),
    ]

    class DateSelected(Message):
        """The user chose a date with free times."""

        def __init__(self, calendar: MonthCalendar, date: date) -> None:
            super().__init__()
            self.calendar = calendar
            self.date = date

        @property
        def control(self) -> MonthCalendar:
            return self.calendar

    class MonthChanged(Message):
        """Another month is shown; its free dates are wanted."""

        def __init__(self, calendar: MonthCalendar, month: date) -> None:
            super().__init__()
            self.calendar = calendar
            self.month = month

        @property
        def control(self) -> MonthCalendar:
            return self.calendar

    today: reactive[date] = reactive(date.min)
    """Today, from the app's clock; the parent moves it on after midnight."""
    # layout=True: months have five or six weeks, and the widget's height must follow, or the last week is cut.
    month: reactive[date] = reactive(date.min, layout=True)
    """The first day of the month shown."""
    free_dates: reactive[frozenset[date]] = reactive(frozenset())
    selected: reactive[date | None] = reactive(None)
    """The chosen date, shown circled."""
    cursor: reactive[date] = reactive(date.min)
    """The date the keys act on."""

    def __init__(
        self,
        month: date,
        *,
        today: date,
        free_dates: Iterable[date] = (),
        selected: date | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        # set_reactive: no watcher may post a MonthChanged for the month the parent asked for.
        self.set_reactive(MonthCalendar.today, today)
        self.set_reactive(MonthCalendar.month, max(_first_of_month(month), _first_of_month(today)))
        self.set_reactive(MonthCalendar.free_dates, frozenset(free_dates))
        self.set_reactive(MonthCalendar.selected, selected)
        self.set_reactive(MonthCalendar.cursor, self._starting_cursor())

    @property
    def _earliest(self) -> date:
        # The guide's calendar never browses into months before the current one.
        return _first_of_month(self.today)

    @property
    def _last_day(self) -> date:
        return self.month.replace(day=monthrange(self.month.year, self.month.month)[1])

    def _starting_cursor(self) -> date:
        if self.selected is not None and _first_of_month(self.selected) == self.month:
            return self.selected
        later_free = sorted(day for day in self.free_dates if _first_of_month(day) == self.month and day >= self.today)
        if later_free:
            return later_free[0]
        if _first_of_month(self.today) == self.month:
            return self.today
        return self.month

    def is_selectable(self, day: date) -> bool:
        """Whether `day` can be chosen: it has free times and is not in the past."""
        return day >= self.today and day in self.free_dates

    def validate_month(self, month: date) -> date:
        return max(_first_of_month(month), self._earliest)

    def validate_cursor(self, cursor: date) -> date:
        return max(cursor, self._earliest)

    def validate_free_dates(self, free_dates: Iterable[date]) -> frozenset[date]:
        return frozenset(free_dates)

    def watch_month(self, month: date) -> None:
        # The keys act on the cursor, so it must be somewhere the user can see it.
        if _first_of_month(self.cursor) != month:
            self.cursor = self._starting_cursor()
        self.post_message(self.MonthChanged(self, month))

    def watch_cursor(self, cursor: date) -> None:
        self.month = _first_of_month(cursor)

    def show_month(self, month: date) -> None:
        """Show the month of `month` (not before today's), cursor at its start; posts MonthChanged if it is new."""
        self.month = month

    def jump_to(self, day: date) -> None:
        """Show the month of `day` with the cursor on `day`."""
        self.cursor = day

    def select(self, day: date) -> None:
        """Choose `day` if it is selectable, else ring the bell."""
        if not self.is_selectable(day):
            self.app.bell()
            return
        self.selected = day
        self.post_message(self.DateSelected(self, day))

    def _move_cursor_to(self, day: date) -> None:
        if day < self._earliest:
            self.app.bell()
        else:
            self.cursor = day

    def action_move(self, days: int) -> None:
        self._move_cursor_to(self.cursor + timedelta(days=days))

    def action_step_month(self, months: int) -> None:
        self._move_cursor_to(_add_months(self.cursor, months))

    def action_first_day(self) -> None:
        self.cursor = self.month

    def action_last_day(self) -> None:
        self.cursor = self._last_day

    def action_select_cursor(self) -> None:
        self.select(self.cursor)

    def on_click(self, event: events.Click) -> None:
        meta = event.style.meta
        if "month_step" in meta:
            self.action_step_month(meta["month_step"])
        elif "day" in meta:
            day = date.fromordinal(meta["day"])
            self.cursor = day
            self.select(day)

    def render(self) -> Content:
        weeks = Calendar(firstweekday=MONDAY).monthdatescalendar(self.month.year, self.month.month)
        return Content("\n").join([self._title_line(), self._weekday_line(), *map(self._week_line, weeks)])

    def _title_line(self) -> Content:
        can_go_back = self.month > self._earliest
        return Content.assemble(
            (
                PREVIOUS_ARROW,
                Style.from_meta({"month_step": -1}) + (Style() if can_go_back else self.get_visual_style("month-calendar--past")),
            ),
            (
                month_title(self.month.year, self.month.month).center(WIDTH - 2),
                self.get_visual_style("month-calendar--title"),
            ),
            (NEXT_ARROW, Style.from_meta({"month_step": 1})),
        )

    def _weekday_line(self) -> Content:
        week_label = t("calendar.week")[: _WEEK_WIDTH - 1].rjust(_WEEK_WIDTH - 1)
        return Content(week_label + " " + "".join(f" {name:2} " for name in weekday_abbreviations()) + " ")

    def _week_line(self, week: list[date]) -> Content:
        in_month = [day if day.month == self.month.month else None for day in week]
        gutters = [" "] * 8
        # Where the cursor and the chosen date are neighbours they share a gutter; the chosen date wins it.
        for index, day in enumerate(in_month):
            if day is not None and day == self.cursor and self.has_focus:
                gutters[index], gutters[index + 1] = "[", "]"
        for index, day in enumerate(in_month):
            if day is not None and day == self.selected:
                gutters[index], gutters[index + 1] = "(", ")"

        parts: list[str | tuple[str, Style]] = [f"{week[0].isocalendar().week:>{_WEEK_WIDTH - 1}} "]
        for index, day in enumerate(in_month):
            parts.append(self._gutter(gutters[index]))
            parts.append(self._day_cell(day) if day is not None else "   ")
        parts.append(self._gutter(gutters[7]))
        return Content.assemble(*parts)

    def _gutter(self, glyph: str) -> str | tuple[str, Style]:
        if glyph in "()":
            return glyph, self.get_visual_style("month-calendar--selected")
        if glyph in "[]":
            return glyph, self.get_visual_style("month-calendar--cursor")
        return glyph

    def _day_cell(self, day: date) -> tuple[str, Style]:
        past = day < self.today
        # A past date's free times are gone, so it gets no mark.
        free = not past and day in self.free_dates
        components = [
            name
            for name, applies in (
                ("month-calendar--past", past),
                ("month-calendar--free", free),
                ("month-calendar--today", day == self.today),
                ("month-calendar--selected", day == self.selected),
                ("month-calendar--cursor", day == self.cursor and self.has_focus),
            )
            if applies
        ]
        return (
            f"{day.day:>2}{FREE_MARK if free else ' '}",
            self.get_visual_style(*components) + Style.from_meta({"day": day.toordinal()}),
        )
