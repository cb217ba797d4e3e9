"""The month calendar: its grid, its marks, and choosing a date by key and by mouse."""

from __future__ import annotations

from datetime import date

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Offset

from timebok.ui import i18n
from timebok.ui.widgets.month_calendar import MonthCalendar

NOV_25 = date(2026, 11, 25)
DEC_1 = date(2026, 12, 1)


@pytest.fixture(autouse=True)
def norwegian():
    i18n.set_language("nb")
    yield
    i18n.set_language("nb")


class CalendarApp(App):
    """Hosts one calendar and records what it tells its parent."""

    def __init__(self, month: date = DEC_1, **calendar_args) -> None:
        super().__init__()
        self.calendar_args = {"today": NOV_25, **calendar_args}
        self.month = month
        self.chosen: list[date] = []
        self.months: list[date] = []
        self.bells = 0

    def compose(self) -> ComposeResult:
        yield MonthCalendar(self.month, **self.calendar_args)

    def on_month_calendar_date_selected(self, message: MonthCalendar.DateSelected) -> None:
        assert message.control is message.calendar
        self.chosen.append(message.date)

    def on_month_calendar_month_changed(self, message: MonthCalendar.MonthChanged) -> None:
        self.months.append(message.month)

    def bell(self) -> None:
        self.bells += 1


def lines(calendar: MonthCalendar) -> list[str]:
    return calendar.render().plain.splitlines()


def words(line: str) -> list[str]:
    """The numbers and names on a line, without the brackets of the cursor or the chosen date."""
    return line.translate(str.maketrans("[]()", "    ")).split()


def week_row(calendar: MonthCalendar, week: int) -> str:
    """The rendered row whose week number is `week`."""
    [row] = [line for line in lines(calendar)[2:] if line.split()[0] == str(week)]
    return row


def day_column(calendar: MonthCalendar, day: date) -> int:
    """Where `day`'s two digits start: under its weekday's name."""
    return lines(calendar)[1].index(i18n.weekday_abbreviations()[day.weekday()])


def cell(calendar: MonthCalendar, day: date) -> str:
    """`day`'s digits with the gutter either side and its mark: " 2● " or "( 2●)"."""
    column = day_column(calendar, day)
    return week_row(calendar, day.isocalendar().week)[column - 1 : column + 4]


def click_offset(calendar: MonthCalendar, day: date) -> Offset:
    row = lines(calendar)[2:].index(week_row(calendar, day.isocalendar().week)) + 2
    padding = calendar.content_region.offset - calendar.region.offset
    return padding + Offset(day_column(calendar, day) + 1, row)


async def test_december_2026_starts_on_tuesday_in_week_49():
    app = CalendarApp()
    async with app.run_test(size=(40, 12)):
        calendar = app.query_one(MonthCalendar)
        title, weekdays, first_week, *_ = lines(calendar)
        assert title.startswith("◀") and title.endswith("▶")
        assert "desember 2026" in title
        assert weekdays.split() == ["Uke", "ma", "ti", "on", "to", "fr", "lø", "sø"]
        assert first_week.split()[0] == "49"
        column = day_column(calendar, DEC_1)
        assert weekdays[column : column + 2] == "ti"
        assert first_week[column : column + 2] == " 1"
        # Monday 30 November belongs to another month, so its cell is blank.
        assert words(first_week)[:2] == ["49", "1"]
        assert calendar.size.width <= 36


async def test_week_numbers_follow_iso_across_the_new_year():
    app = CalendarApp()
    async with app.run_test(size=(40, 12)) as pilot:
        calendar = app.query_one(MonthCalendar)
        assert date(2026, 12, 28).isocalendar().week == 53
        assert date(2027, 1, 4).isocalendar().week == 1
        assert words(lines(calendar)[-1])[:2] == ["53", "28"]

        await pilot.press("pagedown")
        assert "januar 2027" in lines(calendar)[0]
        first_week, second_week = lines(calendar)[2:4]
        assert words(first_week) == ["53", "1", "2", "3"]
        assert words(second_week)[:2] == ["1", "4"]


async def test_free_dates_carry_a_mark_and_past_dates_do_not():
    free = [date(2026, 11, 20), date(2026, 11, 26), date(2026, 11, 30)]
    app = CalendarApp(month=NOV_25, free_dates=free)
    async with app.run_test(size=(40, 12)):
        calendar = app.query_one(MonthCalendar)
        assert cell(calendar, date(2026, 11, 26)).strip("[]").startswith("26●")
        assert cell(calendar, date(2026, 11, 30))[1:4] == "30●"
        assert cell(calendar, date(2026, 11, 27))[1:4] == "27 "
        # Times on a day that has passed cannot be booked, so the day is not marked free.
        assert cell(calendar, date(2026, 11, 20))[1:4] == "20 "


async def test_a_past_date_cannot_be_chosen():
    app = CalendarApp(month=NOV_25, free_dates=[date(2026, 11, 20), date(2026, 11, 26)])
    async with app.run_test(size=(40, 12)) as pilot:
        calendar = app.query_one(MonthCalendar)
        calendar.jump_to(date(2026, 11, 20))
        await pilot.press("enter")
        assert app.chosen == []
        assert calendar.selected is None
        assert app.bells == 1
        assert "(" not in "".join(lines(calendar))


async def test_a_date_without_free_times_cannot_be_chosen():
    app = CalendarApp(free_dates=[date(2026, 12, 2)])
    async with app.run_test(size=(40, 12)) as pilot:
        calendar = app.query_one(MonthCalendar)
        await pilot.press("right", "space")
        assert calendar.cursor == date(2026, 12, 3)
        assert app.chosen == [] and calendar.selected is None
        assert app.bells == 1


async def test_cursor_starts_on_the_first_free_date_and_moves_with_the_keys():
    app = CalendarApp(free_dates=[date(2026, 12, 2), date(2026, 12, 9)])
    async with app.run_test(size=(40, 12)) as pilot:
        calendar = app.query_one(MonthCalendar)
        assert calendar.cursor == date(2026, 12, 2)
        # Brackets show the cursor even where colour does not.
        assert cell(calendar, date(2026, 12, 2)) == "[ 2●]"

        await pilot.press("right")
        assert calendar.cursor == date(2026, 12, 3)
        assert cell(calendar, date(2026, 12, 3)) == "[ 3 ]"
        assert cell(calendar, date(2026, 12, 2))[:4] == "  2●"

        await pilot.press("down")
        assert calendar.cursor == date(2026, 12, 10)
        await pilot.press("left", "up")
        assert calendar.cursor == date(2026, 12, 2)

        await pilot.press("end")
        assert calendar.cursor == date(2026, 12, 31)
        await pilot.press("home")
        assert calendar.cursor == DEC_1

        await pilot.press("pagedown")
        assert calendar.cursor == date(2027, 1, 1)
        assert "januar 2027" in lines(calendar)[0]


async def test_the_cursor_crosses_into_the_next_month():
    app = CalendarApp()
    async with app.run_test(size=(40, 12)) as pilot:
        calendar = app.query_one(MonthCalendar)
        calendar.jump_to(date(2026, 12, 29))
        await pilot.press("down")
        assert calendar.cursor == date(2027, 1, 5)
        assert calendar.month == date(2027, 1, 1)
        assert app.months == [date(2027, 1, 1)]


async def test_the_cursor_is_hidden_when_the_calendar_has_no_focus():
    app = CalendarApp(free_dates=[date(2026, 12, 2)])
    async with app.run_test(size=(40, 12)) as pilot:
        calendar = app.query_one(MonthCalendar)
        assert "[" in "".join(lines(calendar))
        calendar.blur()
        await pilot.pause()
        assert "[" not in "".join(lines(calendar))


async def test_enter_chooses_the_free_date_under_the_cursor_and_circles_it():
    chosen = date(2026, 12, 9)
    app = CalendarApp(free_dates=[date(2026, 12, 2), chosen])
    async with app.run_test(size=(40, 12)) as pilot:
        calendar = app.query_one(MonthCalendar)
        await pilot.press("down", "enter")
        assert app.chosen == [chosen]
        assert calendar.selected == chosen
        assert cell(calendar, chosen) == "( 9●)"
        assert app.bells == 0

        # The choice stays circled once the cursor has moved on.
        await pilot.press("right", "right")
        assert cell(calendar, chosen) == "( 9●)"


async def test_the_chosen_date_is_circled_from_the_start():
    app = CalendarApp(free_dates=[date(2026, 12, 14)], selected=date(2026, 12, 14))
    async with app.run_test(size=(40, 12)):
        calendar = app.query_one(MonthCalendar)
        assert calendar.cursor == date(2026, 12, 14)
        assert cell(calendar, date(2026, 12, 14)) == "(14●)"


async def test_page_down_shows_the_next_month_and_asks_for_its_free_dates():
    app = CalendarApp()
    async with app.run_test(size=(40, 12)) as pilot:
        calendar = app.query_one(MonthCalendar)
        await pilot.press("pagedown")
        assert app.months == [date(2027, 1, 1)]
        await pilot.press("greater_than_sign")
        assert app.months == [date(2027, 1, 1), date(2027, 2, 1)]
        assert "februar 2027" in lines(calendar)[0]
        await pilot.press("less_than_sign", "pageup")
        assert app.months[-2:] == [date(2027, 1, 1), DEC_1]


async def test_page_up_does_not_go_before_todays_month():
    app = CalendarApp(month=NOV_25)
    async with app.run_test(size=(40, 12)) as pilot:
        calendar = app.query_one(MonthCalendar)
        await pilot.press("pageup")
        assert calendar.month == date(2026, 11, 1)
        assert "november 2026" in lines(calendar)[0]
        assert app.months == []
        assert app.bells == 1

        await pilot.press("home", "left")
        assert calendar.cursor == date(2026, 11, 1)
        assert app.bells == 2


async def test_setting_free_dates_marks_them():
    app = CalendarApp()
    async with app.run_test(size=(40, 12)) as pilot:
        calendar = app.query_one(MonthCalendar)
        assert "●" not in "".join(lines(calendar))
        calendar.free_dates = [date(2026, 12, 15)]
        await pilot.pause()
        assert calendar.free_dates == frozenset({date(2026, 12, 15)})
        assert cell(calendar, date(2026, 12, 15))[1:4] == "15●"


async def test_clicking_a_free_day_chooses_it():
    chosen = date(2026, 12, 17)
    app = CalendarApp(free_dates=[date(2026, 12, 2), chosen])
    async with app.run_test(size=(40, 12)) as pilot:
        calendar = app.query_one(MonthCalendar)
        assert await pilot.click(MonthCalendar, offset=click_offset(calendar, chosen))
        assert app.chosen == [chosen]
        assert calendar.selected == chosen
        assert cell(calendar, chosen) == "(17●)"


async def test_clicking_a_day_without_free_times_chooses_nothing():
    app = CalendarApp(free_dates=[date(2026, 12, 2)])
    async with app.run_test(size=(40, 12)) as pilot:
        calendar = app.query_one(MonthCalendar)
        await pilot.click(MonthCalendar, offset=click_offset(calendar, date(2026, 12, 16)))
        assert app.chosen == [] and calendar.selected is None
        assert app.bells == 1


async def test_clicking_the_arrows_switches_month():
    app = CalendarApp()
    async with app.run_test(size=(40, 12)) as pilot:
        calendar = app.query_one(MonthCalendar)
        padding = calendar.content_region.offset - calendar.region.offset
        title = lines(calendar)[0]
        await pilot.click(MonthCalendar, offset=padding + Offset(title.index("▶"), 0))
        assert "januar 2027" in lines(calendar)[0]
        await pilot.click(MonthCalendar, offset=padding + Offset(title.index("◀"), 0))
        await pilot.click(MonthCalendar, offset=padding + Offset(title.index("◀"), 0))
        assert "november 2026" in lines(calendar)[0]
        await pilot.click(MonthCalendar, offset=padding + Offset(title.index("◀"), 0))
        assert "november 2026" in lines(calendar)[0]
        assert app.months == [date(2027, 1, 1), DEC_1, date(2026, 11, 1)]


async def test_the_parent_can_show_a_month_and_jump_to_a_day():
    app = CalendarApp()
    async with app.run_test(size=(40, 12)) as pilot:
        calendar = app.query_one(MonthCalendar)
        calendar.show_month(date(2027, 3, 20))
        assert calendar.month == date(2027, 3, 1)
        assert "mars 2027" in lines(calendar)[0]
        calendar.jump_to(date(2027, 5, 12))
        assert calendar.cursor == date(2027, 5, 12)
        assert "mai 2027" in lines(calendar)[0]
        await pilot.pause()
        assert app.months == [date(2027, 3, 1), date(2027, 5, 1)]
        # The parent cannot send the calendar into the past either.
        calendar.show_month(date(2026, 1, 1))
        assert calendar.month == date(2026, 11, 1)


async def test_texts_are_english_after_switching_language():
    i18n.set_language("en")
    app = CalendarApp()
    async with app.run_test(size=(40, 12)):
        calendar = app.query_one(MonthCalendar)
        title, weekdays, *_ = lines(calendar)
        assert "December 2026" in title
        assert weekdays.split() == ["Wk", "Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
