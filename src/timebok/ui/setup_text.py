"""How the timebook setup reads on screen: weekdays, time ranges, the week grid, dates, the bookings a change hits;
and parsing what staff type (shared by the setup screens and the calendar's «Steng dag»)."""

from __future__ import annotations

import re
from datetime import date

from timebok.client.models import AffectedAppointment, SetupChange, WeeklyRange
from timebok.domain.weekdays import WEEKDAYS
from timebok.ui.i18n import long_date, t


def day_names() -> list[str]:
    """Short weekday names in the current language (man, tir, … / mon, tue, …)."""
    return t("setup.day_names").split()


class FormProblem(Exception):
    """What the user typed cannot be read: which field and the text id of what to say."""

    def __init__(self, field: str, text_id: str, **fields: object) -> None:
        super().__init__(text_id)
        self.field = field
        self.text_id = text_id
        self.fields = fields  # the text's own fields («{range}», «{minutes}»)


def format_days(days: list[str]) -> str:
    names = day_names()
    indexes = sorted(WEEKDAYS.index(d) for d in days)
    if len(indexes) > 2 and indexes == list(range(indexes[0], indexes[-1] + 1)):
        return f"{names[indexes[0]]}-{names[indexes[-1]]}"
    return ", ".join(names[i] for i in indexes)


def parse_days(text: str, field: str) -> list[str]:
    """«man-fre», «tir, tor», «mon-fri»: the FHIR day codes. An empty text is no weekday (the server says so)."""
    names = [n.casefold() for n in day_names()]
    codes: list[str] = list(WEEKDAYS)

    def index(word: str) -> int:
        word = word.strip().casefold()
        for table in (names, codes):
            if word in table:
                return table.index(word)
        raise FormProblem(field, "setup.problem.format_days")

    result: list[int] = []
    for piece in filter(None, re.split(r"[,\s]+", re.sub(r"\s*-\s*", "-", text.strip()))):
        if "-" in piece:
            first, last = (index(x) for x in piece.split("-", 1))
            if last < first:
                raise FormProblem(field, "setup.problem.format_days")
            result += range(first, last + 1)
        else:
            result.append(index(piece))
    return [WEEKDAYS[i] for i in sorted(set(result))]


_RANGE = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*[-–]\s*(\d{1,2})[:.](\d{2})\s*$")


def format_ranges(items: list[WeeklyRange]) -> str:
    return ", ".join(f"{i.start}-{i.end}" for i in items)


def parse_ranges(text: str, field: str) -> list[tuple[str, str]]:
    """«08:00-11:30, 12:00-15:30» → [("08:00", "11:30"), ("12:00", "15:30")]."""
    result = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = _RANGE.match(part)
        if not match:
            raise FormProblem(field, "setup.problem.format_ranges")
        h1, m1, h2, m2 = (int(x) for x in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise FormProblem(field, "setup.problem.format_ranges")
        result.append((f"{h1:02d}:{m1:02d}", f"{h2:02d}:{m2:02d}"))
    if not result:
        raise FormProblem(field, "setup.problem.format_ranges")
    return result


def parse_clock(text: str, field: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    match = re.match(r"^(\d{1,2})[:.](\d{2})$", text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise FormProblem(field, "setup.problem.format_clock")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def parse_number(text: str, field: str) -> int:
    if not text.strip().isdigit():
        raise FormProblem(field, "setup.problem.number")
    return int(text.strip())


def parse_date(text: str, field: str) -> date:
    """«27.11.2026» (or 2026-11-27) → date(2026, 11, 27)."""
    text = text.strip()
    match = re.match(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$", text)
    try:
        if match:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        return date.fromisoformat(text)
    except ValueError:
        raise FormProblem(field, "setup.problem.date", example=example_date()) from None


def show_date(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def example_date(days_ahead: int = 14) -> str:
    """A date for a hint («Skriv datoen som …»): one ahead of now, never one that has passed."""
    from datetime import timedelta

    from timebok.domain.clock import today

    return (today() + timedelta(days=days_ahead)).strftime("%d.%m.%Y")


def day_runs(days: list[date]) -> str:
    """Dates in short form, a run of days in a row as one: «15.–19. des., 22. des.» / «15–19 Dec, 22 Dec»."""
    from timebok.ui.i18n import day_month as short
    from timebok.ui.i18n import language

    nb = language() == "nb"

    runs: list[list[date]] = []
    for day in sorted(set(days)):
        if runs and (day - runs[-1][-1]).days == 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        first, last = run[0], run[-1]
        if first == last:
            parts.append(short(first))
        elif (first.year, first.month) == (last.year, last.month):
            parts.append(f"{first.day}{'.' if nb else ''}–{short(last)}")
        else:
            parts.append(f"{short(first)}–{short(last)}")
    return ", ".join(parts)


def week_grid(weekly: list[WeeklyRange]) -> str:
    """The weekly pattern as a grid: a row per time range, ■ on the days it is open."""
    names = day_names()
    rows = sorted({(i.start, i.end) for i in weekly})
    lines = [f"{t('setup.grid_corner'):<13}" + " ".join(f"{n[:3]:>3}" for n in names)]
    for start, end in rows:
        open_days = {d for i in weekly if (i.start, i.end) == (start, end) for d in i.days}
        lines.append(f"{start}-{end}  " + " ".join(f"{'■' if d in open_days else '·':>3}" for d in WEEKDAYS))
    return "\n".join(lines)


def problem_for(path: str | None) -> tuple[str, str] | None:
    """The form field and text for a path the backend named (Setup.timebooks[0].weekly[1].end → ranges)."""
    if not path:
        return None
    last = path.rsplit(".", 1)[-1]
    inside = ".weekly[" in path
    table = {
        "days": ("days", "setup.problem.days"),
        "start": ("ranges" if inside else "times", "setup.problem.overlap" if inside else "setup.problem.times"),
        "end": ("ranges" if inside else "times", "setup.problem.end" if inside else "setup.problem.times"),
        "slotMinutes": ("minutes", "setup.problem.minutes"),
        "parallel": ("parallel", "setup.problem.parallel"),
        "horizonDays": ("horizon", "setup.problem.horizon"),
        "leadMinutes": ("lead", "setup.problem.lead"),
        "holdMinutes": ("hold", "setup.problem.hold"),
        "deadlineHours": ("deadline", "setup.problem.deadline"),
        "mondayByFriday": ("monday", "setup.problem.yes_no"),
        "answerDays": ("answer", "setup.problem.answer"),
        "weekly": ("ranges", "setup.problem.weekly"),
        "day": ("day", "setup.problem.day"),
        "first": ("first", "setup.problem.date"),
        "last": ("last", "setup.problem.last"),
        "reason": ("reason", "setup.problem.required"),
        "name": ("name", "setup.problem.required"),
        "location": ("place", "setup.problem.place"),
    }
    return table.get(last)


def affected_lines(change: SetupChange, affected: list[AffectedAppointment] | None = None) -> list[str]:
    return [
        t(
            "setup.affected_row",
            date=long_date(a.start.date()),
            time=a.start.strftime("%H:%M"),
            patient=a.patient_name,
            state=t(f"setup.state.{a.status}"),
        )
        for a in (change.affected if affected is None else affected)
    ]
