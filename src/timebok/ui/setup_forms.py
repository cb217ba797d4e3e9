"""The setup screens' forms: a timebook's pattern, a closed day, a campaign, built on SetupForm and checked as typed."""

from __future__ import annotations

from datetime import date

from timebok.client.models import Campaign, Closure, OfficeSetup, SetupTimebook, WeeklyRange
from timebok.domain.appointment_life import ANSWER_DAYS_RANGE, DEADLINE_HOURS_RANGE, HOLD_MINUTES_RANGE
from timebok.domain.notice_rules import OFFER_MINUTES_RANGE, REMINDER_CHOICES
from timebok.domain.setup_limits import SLOT_MINUTES
from timebok.domain.weekdays import WORKDAYS, in_week_order
from timebok.ui.i18n import t
from timebok.ui.labels import time_type_name
from timebok.ui.setup_form import SetupForm
from timebok.ui.setup_text import (
    FormProblem,
    example_date,
    format_days,
    format_ranges,
    parse_date,
    parse_days,
    parse_number,
    parse_ranges,
    show_date,
)


def _weekly(values: dict[str, str]) -> list[WeeklyRange]:
    days = parse_days(values["days"], "days")
    return [WeeklyRange(days=list(days), start=start, end=end) for start, end in parse_ranges(values["ranges"], "ranges")]


def _minutes_of(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def check_fit(weekly: list[WeeklyRange], slot_minutes: int) -> None:
    """Each range must end after it starts and hold a whole number of times: said here, naming the range and the
    length (the backend's one message for both spoke of «hele timer», also when the length was what did not fit)."""
    for item in weekly:
        length = _minutes_of(item.end) - _minutes_of(item.start)
        if length <= 0:
            raise FormProblem("ranges", "setup.problem.times")
        # A length outside the allowed range is the backend's to refuse (it names the range); here only the fit.
        if SLOT_MINUTES[0] <= slot_minutes <= SLOT_MINUTES[1] and length % slot_minutes:
            raise FormProblem("ranges", "setup.problem.fit", range=f"{item.start}-{item.end}", minutes=slot_minutes)


def days_of(weekly: list[WeeklyRange]) -> list[str]:
    return in_week_order({d for item in weekly for d in item.days})


def pattern_fields(book: SetupTimebook | None) -> list[tuple[str, str, str]]:
    weekly = book.weekly if book else [WeeklyRange(days=list(WORKDAYS), start="08:00", end="15:00")]
    days = days_of(weekly)
    return [
        ("days", "setup.field.days", format_days(days) if days else ""),
        ("ranges", "setup.field.ranges", format_ranges(weekly)),
        ("minutes", "setup.field.minutes", str(book.slot_minutes if book else 15)),
        ("parallel", "setup.field.parallel", str(book.parallel if book else 1)),
        ("horizon", "setup.field.horizon", str(book.horizon_days if book else 42)),
        ("lead", "setup.field.lead", str(book.lead_minutes if book else 120)),
    ]


def apply_pattern(book: SetupTimebook, values: dict[str, str]) -> None:
    book.weekly = _weekly(values)
    book.slot_minutes = parse_number(values["minutes"], "minutes")
    check_fit(book.weekly, book.slot_minutes)
    book.parallel = parse_number(values["parallel"], "parallel")
    book.horizon_days = parse_number(values["horizon"], "horizon")
    book.lead_minutes = parse_number(values["lead"], "lead")


def rules_fields(book: SetupTimebook) -> list[tuple[str, str, str]]:
    """«Frister»: how long a time is held while chosen, the citizen's deadline to cancel or change, the Monday rule,
    and the office's answer time."""
    return [
        ("hold", "setup.field.hold", str(book.hold_minutes)),
        ("deadline", "setup.field.deadline", str(book.deadline_hours)),
        ("monday", "setup.field.monday", t("setup.yes") if book.monday_by_friday else t("setup.no")),
        ("answer", "setup.field.answer", str(book.answer_days)),
    ]


def _in_range(text: str, field: str, limits: tuple[int, int], problem: str) -> int:
    number = parse_number(text, field)
    if not limits[0] <= number <= limits[1]:
        raise FormProblem(field, problem)
    return number


def parse_yes_no(text: str, field: str) -> bool:
    """«ja»/«nei» (or «j»/«n»; in English «yes»/«no»), in either language: a Norwegian office may run the app in English."""
    word = text.strip().lower()
    if word in ("ja", "j", "yes", "y"):
        return True
    if word in ("nei", "n", "no"):
        return False
    raise FormProblem(field, "setup.problem.yes_no")


def apply_rules(book: SetupTimebook, values: dict[str, str]) -> None:
    book.hold_minutes = _in_range(values["hold"], "hold", HOLD_MINUTES_RANGE, "setup.problem.hold")
    book.deadline_hours = _in_range(values["deadline"], "deadline", DEADLINE_HOURS_RANGE, "setup.problem.deadline")
    book.monday_by_friday = parse_yes_no(values["monday"], "monday")
    book.answer_days = _in_range(values["answer"], "answer", ANSWER_DAYS_RANGE, "setup.problem.answer")


def reminder_word(hours: int) -> str:
    """«48» as typed in the form, or «av» for none."""
    return str(hours) if hours else t("setup.reminder_off")


def notices_fields(book: SetupTimebook) -> list[tuple[str, str, str]]:
    """«Varsler»: the e-mail/SMS reminder's hours before a booked time, and how long a short-notice offer is held."""
    return [
        ("reminder", "setup.field.reminder", reminder_word(book.reminder_hours)),
        ("offer", "setup.field.offer", str(book.offer_minutes)),
    ]


def parse_reminder(text: str, field: str) -> int:
    """«av»/«off»/«0» or one of 24, 48, 72 (in either language, as yes/no are)."""
    word = text.strip().lower()
    if word in ("av", "off", "ingen", "none", "0"):
        return 0
    if word.isdigit() and int(word) in REMINDER_CHOICES:
        return int(word)
    raise FormProblem(field, "setup.problem.reminder")


def apply_notices(book: SetupTimebook, values: dict[str, str]) -> None:
    book.reminder_hours = parse_reminder(values["reminder"], "reminder")
    book.offer_minutes = _in_range(values["offer"], "offer", OFFER_MINUTES_RANGE, "setup.problem.offer")


def same_timebook(document: OfficeSetup, book: SetupTimebook) -> SetupTimebook:
    """The timebook in `document` that `book` was read as: by id, since a setup fetched anew may list more."""
    return next(b for b in document.timebooks if b.id == book.id)


def timebook_label(book: SetupTimebook) -> str:
    """«Vaksine · Vaksinetimer»: a timebook named with its time type."""
    return f"{time_type_name(book.type)} · {book.name}"


def closure_form(
    setup: OfficeSetup, day: date, timebook_id: str | None, title: str, existing: Closure | None = None
) -> SetupForm:
    """«Steng dag»: the day, a part of it or the whole, and why; for one timebook or the whole office. With `existing`,
    that closure is edited: its values fill the form and the save replaces it."""
    if existing is not None:
        timebook_id = existing.timebook_id

    def apply(values: dict[str, str], document: OfficeSetup) -> None:
        times = values["times"].strip()
        # One closure per range typed («08:00-10:00, 12:00-13:00»); none typed: the whole day.
        ranges: list[tuple[str | None, str | None]] = list(parse_ranges(times, "times")) if times else [(None, None)]
        day = parse_date(values["day"], "day")
        if not values["reason"].strip():
            raise FormProblem("reason", "setup.problem.required")
        if existing is not None:
            document.closures = [c for c in document.closures if c.id != existing.id]
        for number, (start, end) in enumerate(ranges):
            document.closures.append(
                Closure(
                    day=day,
                    start=start,
                    end=end,
                    reason=values["reason"].strip(),
                    timebook=f"Schedule/{timebook_id}" if timebook_id else None,
                    # The edited closure keeps its id (on its first range), so the backend changes it rather than adds one.
                    id=existing.id if existing is not None and number == 0 else None,
                )
            )

    def describe(values: dict[str, str]) -> str:
        where = next((timebook_label(b) for b in setup.timebooks if b.id == timebook_id), t("setup.what_office"))
        times = values["times"].strip()
        return t("setup.what_close", day=values["day"].strip(), times=f" {times}" if times else "", where=where)

    if existing is not None:
        times = f"{existing.start}-{existing.end}" if existing.start else ""
        fields = [
            ("day", "setup.field.day", show_date(existing.day)),
            ("times", "setup.field.times", times),
            ("reason", "setup.field.reason", existing.reason),
        ]
    else:
        fields = [
            ("day", "setup.field.day", day.strftime("%d.%m.%Y")),
            ("times", "setup.field.times", ""),
            ("reason", "setup.field.reason", ""),
        ]
    intro = t("setup.close_timebook" if timebook_id else "setup.close_office")
    # The cursor starts in the date: a date typed first must close that date, never today with the date as the reason.
    return SetupForm(title, setup, fields, apply, intro, describe=describe)


def campaign_form(setup: OfficeSetup, book: SetupTimebook, existing: Campaign | None = None) -> SetupForm:
    """«Kampanje»: a period in which the timebook has times beyond its weekly pattern. With `existing`, that campaign
    is edited in place (it keeps its id)."""

    def apply(values: dict[str, str], document: OfficeSetup) -> None:
        if not values["name"].strip():
            raise FormProblem("name", "setup.problem.required")
        minutes = values["minutes"].strip()
        weekly = _weekly(values)
        check_fit(weekly, parse_number(minutes, "minutes") if minutes else same_timebook(document, book).slot_minutes)
        campaign = Campaign(
            name=values["name"].strip(),
            first=parse_date(values["first"], "first"),
            last=parse_date(values["last"], "last"),
            slot_minutes=parse_number(minutes, "minutes") if minutes else None,
            weekly=weekly,
            id=existing.id if existing is not None and existing.id else None,
        )
        campaigns = same_timebook(document, book).campaigns
        at = next((i for i, c in enumerate(campaigns) if existing is not None and c.id == existing.id), None)
        if at is None:
            campaigns.append(campaign)
        else:
            campaigns[at] = campaign

    if existing is not None:
        fields = [
            ("name", "setup.field.name", existing.name),
            ("first", "setup.field.first", show_date(existing.first)),
            ("last", "setup.field.last", show_date(existing.last)),
            ("days", "setup.field.days", format_days(days_of(existing.weekly))),
            ("ranges", "setup.field.ranges", format_ranges(existing.weekly)),
            ("minutes", "setup.field.minutes", str(existing.slot_minutes or book.slot_minutes)),
        ]
        title = t("setup.edit_campaign_title", name=book.name)
    else:
        fields = [
            ("name", "setup.field.name", t("setup.default_campaign")),
            ("first", "setup.field.first", ""),
            ("last", "setup.field.last", ""),
            ("days", "setup.field.days", t("setup.default_campaign_days")),
            ("ranges", "setup.field.ranges", "08:00-15:00"),
            ("minutes", "setup.field.minutes", str(book.slot_minutes)),
        ]
        title = t("setup.campaign_title", name=book.name)

    def describe(values: dict[str, str]) -> str:
        return t(
            "setup.what_campaign",
            name=values["name"].strip(),
            first=values["first"].strip(),
            last=values["last"].strip(),
            timebook=timebook_label(book),
            days=values["days"].strip(),
            ranges=values["ranges"].strip(),
        )

    form = SetupForm(title, setup, fields, apply, t("setup.campaign_intro", example=example_date()), describe=describe)
    if existing is None:
        form.first_field = "first"  # the name is offered; the dates are what must be typed
    return form


def closure_text(closure: Closure, names: dict[str, str]) -> str:
    """«11.12.2026 · Planleggingsdag», with the part of the day and the timebook when it is not the whole office's day."""
    times = f" {closure.start}-{closure.end}" if closure.start else ""
    text = t("setup.closure_row", date=show_date(closure.day), times=times, reason=closure.reason)
    if closure.timebook:
        text += " · " + t("setup.closure_only", timebook=names.get(closure.timebook, closure.timebook))
    return text
