"""Generates a timebook's free times from its setup, ahead of time and idempotently; a change touches only future free times."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from timebok.backend import freed, life, metrics, schema
from timebok.backend import versions as _versions
from timebok.backend.db import Database
from timebok.backend.fhir import to_storage
from timebok.backend.slots import is_public_holiday
from timebok.domain.clock import OSLO, now

log = logging.getLogger("timebok.generation")

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ACTIVE_APPOINTMENT = ("pending", "booked")
_CHUNK = 2000  # ids per IN (...): well under both databases' parameter limits
# Free times one generation transaction writes at most (about): tens of ms of the write lock on SQLite.
ROWS_PER_CHUNK = 500
Item = TypeVar("Item")
StoredSlot = Row[int, datetime, int, str]  # a slot as _diff reads it: id, start, seat, status


@dataclass(frozen=True)
class Range:
    weekdays: frozenset[int]
    opens: time
    closes: time


def ranges(text: str | list[dict[str, Any]] | None) -> list[Range]:
    """A stored (or sent) weekly pattern as ranges."""
    items = json.loads(text) if isinstance(text, str) else (text or [])
    result: list[Range] = []
    for item in items:
        opens, closes = (time.fromisoformat(item[k]) for k in ("start", "end"))
        result.append(Range(frozenset(DAYS.index(d) for d in item["days"]), opens, closes))
    return result


@dataclass(frozen=True)
class Closure:
    day: date
    opens: time | None  # None: the whole day
    closes: time | None


@dataclass
class BookChange:
    """One timebook's part of a change: the free times it adds and removes, and on which local days."""

    schedule_id: int | None
    name: str
    created: int = 0
    removed: int = 0
    days: set[date] = field(default_factory=set)

    def add(self, other: BookChange) -> None:
        self.created += other.created
        self.removed += other.removed
        self.days |= other.days


@dataclass
class Change:
    """What one generation did (or, in a preview, would do)."""

    created: int = 0
    removed: int = 0
    affected: list[schema.Appointment] = field(default_factory=list)
    months: set[tuple[int, datetime]] = field(default_factory=set)  # (timebook, a start) whose free times changed
    books: dict[int | str, BookChange] = field(default_factory=dict)

    def add(self, other: Change) -> None:
        self.created += other.created
        self.removed += other.removed
        self.affected += other.affected
        self.months |= other.months
        for key, entry in other.books.items():
            if key in self.books:
                self.books[key].add(entry)
            else:
                self.books[key] = BookChange(entry.schedule_id, entry.name, entry.created, entry.removed, set(entry.days))


def _day_times(day: date, pattern: Iterable[Range], length: int) -> Iterable[tuple[datetime, datetime]]:
    """(start, end) of each time on the day, as naive local wall-clock times."""
    step = timedelta(minutes=length)
    for item in pattern:
        if day.weekday() not in item.weekdays:
            continue
        start = datetime.combine(day, item.opens)
        closes = datetime.combine(day, item.closes)
        while start + step <= closes:
            yield start, start + step
            start += step


def _storing(day: date) -> Callable[[datetime], datetime]:
    """A local wall-clock time on `day` as the naive UTC the tables keep. One subtraction on most days; on the two
    DST Sundays zoneinfo gives each time its own offset."""
    morning = datetime.combine(day, time(0), tzinfo=OSLO).utcoffset()
    if morning is not None and morning == datetime.combine(day, time(23, 59), tzinfo=OSLO).utcoffset():
        shift = morning  # never None: OSLO gives every time an offset
        return lambda local: local - shift
    return lambda local: to_storage(local.replace(tzinfo=OSLO))


@dataclass(frozen=True)
class CampaignSetup:
    first: date
    last: date
    weekly: tuple[Range, ...]
    slot_minutes: int


@dataclass(frozen=True)
class BookSetup:
    """What generation needs of one timebook's setup: read from the database, or (a preview) from a body not stored.
    Frozen and hashable, so the hourly run can tell a timebook whose setup has not changed since its last run."""

    id: int | None  # None: a new timebook a preview has not stored
    name: str
    open: bool  # the timebook and its time type are both on
    managed: bool  # False: made before setup existed, its slots are not ours to touch
    slot_minutes: int
    parallel: int
    horizon_days: int
    weekly: tuple[Range, ...]
    campaigns: tuple[CampaignSetup, ...] = ()
    closures: tuple[Closure, ...] = ()

    def times_on(self, day: date) -> dict[tuple[datetime, int], datetime]:
        """The times the setup asks for on one local day, whatever the horizon: (stored start, seat) → stored end."""
        if not self.open or is_public_holiday(day) or any(c.day == day and c.opens is None for c in self.closures):
            return {}
        times = list(_day_times(day, self.weekly, self.slot_minutes))
        for campaign in self.campaigns:
            if campaign.first <= day <= campaign.last:  # a campaign adds to the weekly pattern
                times += _day_times(day, campaign.weekly, campaign.slot_minutes)
        part_closed = [
            (datetime.combine(day, c.opens), datetime.combine(day, c.closes))  # naive local, as _day_times gives
            for c in self.closures
            if c.day == day and c.opens is not None and c.closes is not None  # a part of a day has both (setup_body)
        ]
        storing = _storing(day)
        result: dict[tuple[datetime, int], datetime] = {}
        for start, end in times:
            if any(start < closes and opens < end for opens, closes in part_closed):
                continue
            stored_start, stored_end = storing(start), storing(end)
            for seat in range(self.parallel):
                result.setdefault((stored_start, seat), stored_end)
        return result

    def most_in_a_day(self) -> int:
        """An upper bound of the times on any one day (sizes the chunks generation writes in)."""
        per_weekday = [
            _count_on(weekday, self.weekly, self.slot_minutes)
            + sum(_count_on(weekday, c.weekly, c.slot_minutes) for c in self.campaigns)
            for weekday in range(7)
        ]
        return max(per_weekday) * self.parallel

    def count(self, first: date, last: date) -> int:
        """How many times the setup asks for from `first` to `last`, by arithmetic (no times are made): an upper bound,
        since part-day closures and a campaign time that is also a weekly one are counted as if they were not there."""
        if not self.open:
            return 0
        closed = {c.day for c in self.closures if c.opens is None}
        weekly = [_count_on(weekday, self.weekly, self.slot_minutes) for weekday in range(7)]
        campaigns = [(c, [_count_on(weekday, c.weekly, c.slot_minutes) for weekday in range(7)]) for c in self.campaigns]
        total, day = 0, first
        while day <= last:
            if day not in closed and not is_public_holiday(day):
                total += weekly[day.weekday()] + sum(counts[day.weekday()] for c, counts in campaigns if c.first <= day <= c.last)
            day += timedelta(days=1)
        return total * self.parallel

    def horizon(self, since: datetime | None = None) -> tuple[datetime, date, date]:
        """(stored cutoff, first local day, last local day): the times generation keeps in line with the setup."""
        moment = now()
        return (
            to_storage(since or moment),
            (since or moment).astimezone(OSLO).date(),
            moment.astimezone(OSLO).date() + timedelta(days=self.horizon_days),
        )


def _count_on(weekday: int, pattern: tuple[Range, ...], length: int) -> int:
    return sum((_minutes(r.closes) - _minutes(r.opens)) // length for r in pattern if weekday in r.weekdays)


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def setup_of(
    book: schema.Schedule,
    campaigns: Iterable[schema.Campaign],
    closures: Iterable[Closure],
    *,
    open_: bool = True,
) -> BookSetup:
    return BookSetup(
        id=book.id,
        name=book.name,
        open=open_,
        managed=book.weekly is not None,
        slot_minutes=book.slot_minutes,
        parallel=book.parallel,
        horizon_days=book.horizon_days,
        weekly=tuple(ranges(book.weekly)),
        campaigns=tuple(
            CampaignSetup(c.first, c.last, tuple(ranges(c.weekly)), c.slot_minutes or book.slot_minutes)
            for c in sorted(campaigns, key=lambda c: (c.first, c.id or 0))
        ),
        closures=tuple(sorted(closures, key=lambda c: (c.day, c.opens or time(0)))),
    )


def stored_setup(session: Session, book: schema.Schedule) -> BookSetup:
    """The timebook's setup as the database holds it now."""
    service = session.get_one(schema.HealthcareService, book.healthcare_service_id)  # a foreign key: it exists
    campaigns = session.scalars(select(schema.Campaign).where(schema.Campaign.schedule_id == book.id)).all()
    return setup_of(
        book, campaigns, closures_for(session, book, service.organization_id), open_=bool(book.active and service.active)
    )


def wanted(
    book: schema.Schedule,
    campaigns: list[schema.Campaign],
    closures: list[Closure],
    first: date,
    last: date,
) -> dict[tuple[datetime, int], datetime]:
    """The times the setup asks for from `first` to `last`: (stored start, seat) → stored end."""
    setup = setup_of(book, campaigns, closures)
    result: dict[tuple[datetime, int], datetime] = {}
    day = first
    while day <= last:
        result.update(setup.times_on(day))
        day += timedelta(days=1)
    return result


def closures_for(session: Session, book: schema.Schedule, organization_id: int) -> list[Closure]:
    rows = session.scalars(select(schema.ClosureDay).where(schema.ClosureDay.organization_id == organization_id)).all()
    return [
        Closure(
            r.day,
            time.fromisoformat(r.start_time) if r.start_time else None,
            time.fromisoformat(r.end_time) if r.end_time else None,
        )
        for r in rows
        if r.schedule_id in (None, book.id)
    ]


def _chunks(items: list[Item], size: int = _CHUNK) -> Iterable[list[Item]]:
    for index in range(0, len(items), size):
        yield items[index : index + size]


def _insert(session: Session, rows: list[dict[str, Any]], *, awaited: bool = False) -> None:
    # ON CONFLICT DO NOTHING on the unique (timebook, start, seat): a second instance generating at the same
    # moment, or a repeat, creates nothing twice.
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(schema.Slot).on_conflict_do_nothing(index_elements=["schedule_id", "start", "seq"])
    # executemany: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues") without compiling each chunk.
    if not awaited:
        session.connection().execute(statement, rows)
        return
    # Someone waits for a time of this timebook: the times made here (not those another instance made) are freed.
    made: list[int] = list(session.connection().execute(statement.returning(schema.Slot.id), rows).scalars())
    freed.note(session, made)


def _local_midnight(day: date) -> datetime:
    return to_storage(datetime.combine(day, time(0), tzinfo=OSLO))


def _local_day(stored: datetime) -> date:
    return stored.replace(tzinfo=UTC).astimezone(OSLO).date()


@dataclass
class Diff:
    """Where a window of days differs from its setup: what generation writes, or a preview only counts."""

    schedule_id: int | None
    missing: list[dict[str, Any]] = field(default_factory=list)
    restoring: list[StoredSlot] = field(default_factory=list)  # rows kept as busy-unavailable that the setup wants again
    unwanted_free: list[StoredSlot] = field(default_factory=list)
    unwanted_taken: list[int] = field(default_factory=list)  # slot ids of booked or requested times outside the setup


def _diff(session: Session, setup: BookSetup, first: date, last: date, cutoff: datetime, horizon_last: date) -> Diff:
    """Reads only: the slots stored from local day `first` to `last` (after `cutoff`) against what the setup wants."""
    diff = Diff(setup.id)
    want: dict[tuple[datetime, int], datetime] = {}
    day = first
    while day <= min(last, horizon_last):
        want.update(setup.times_on(day))
        day += timedelta(days=1)
    want = {key: end for key, end in want.items() if key[0] > cutoff}
    existing = (
        []
        if setup.id is None
        else session.execute(
            select(schema.Slot.id, schema.Slot.start, schema.Slot.seq, schema.Slot.status).where(
                schema.Slot.schedule_id == setup.id,
                schema.Slot.start > cutoff,
                schema.Slot.start >= _local_midnight(first),
                schema.Slot.start < _local_midnight(last + timedelta(days=1)),
            )
        ).all()
    )
    have = {(row.start, row.seq): row for row in existing}
    diff.missing = [
        {"schedule_id": setup.id, "start": start, "end": end, "seq": seat, "status": "free", "version": 1}
        for (start, seat), end in want.items()
        if (start, seat) not in have
    ]
    diff.restoring = [row for key, row in have.items() if key in want and row.status == "busy-unavailable"]
    diff.unwanted_free = [row for key, row in have.items() if key not in want and row.status == "free"]
    beyond: dict[date, dict[tuple[datetime, int], datetime]] = {}
    for key, row in have.items():
        if key in want or row.status not in ("busy", "busy-tentative"):
            continue
        day = _local_day(row.start)
        if day > horizon_last:
            # Past the horizon the setup publishes no new free times, but a booking made there earlier is still
            # valid as long as the pattern has its time: only one the setup no longer has at all is affected.
            if day not in beyond:
                beyond[day] = setup.times_on(day)
            if key in beyond[day]:
                continue
        diff.unwanted_taken.append(row.id)
    return diff


def _note(change: Change, setup: BookSetup, diff: Diff) -> None:
    created = len(diff.missing) + len(diff.restoring)
    removed = len(diff.unwanted_free)
    if not (created or removed):
        return
    # A new timebook in a preview has no id yet: its name tells it apart from the others.
    entry = change.books.setdefault(setup.id if setup.id is not None else f"new:{setup.name}", BookChange(setup.id, setup.name))
    entry.created += created
    entry.removed += removed
    starts = (
        [row["start"] for row in diff.missing] + [row.start for row in diff.restoring] + [row.start for row in diff.unwanted_free]
    )
    entry.days.update(_local_day(start) for start in starts)
    change.created += created
    change.removed += removed
    if setup.id is not None:
        change.months |= {(setup.id, start) for start in starts}


def _affected(session: Session, slot_ids: list[int]) -> list[schema.Appointment]:
    found: list[schema.Appointment] = []
    for chunk in _chunks(slot_ids):
        found += session.scalars(
            select(schema.Appointment).where(
                schema.Appointment.slot_id.in_(chunk), schema.Appointment.status.in_(ACTIVE_APPOINTMENT)
            )
        ).all()
    return found


def _write(session: Session, diff: Diff) -> None:
    """Brings one window in line: free times added, removed and restored; booked and requested ones never touched."""
    free_ids = [row.id for row in diff.unwanted_free]
    # A removed free time that an old (cancelled) request still points at is kept as unavailable, not deleted.
    referenced: set[int] = set()
    for chunk in _chunks(free_ids):
        referenced |= set(session.scalars(select(schema.Appointment.slot_id).where(schema.Appointment.slot_id.in_(chunk))))
    gone = [i for i in free_ids if i not in referenced]
    for chunk in _chunks(gone):
        session.execute(delete(schema.Slot).where(schema.Slot.id.in_(chunk), schema.Slot.status == "free"))
    for chunk in _chunks(sorted(referenced)):
        session.execute(
            update(schema.Slot)
            .where(schema.Slot.id.in_(chunk), schema.Slot.status == "free")
            .values(status="busy-unavailable", version=schema.Slot.version + 1)
        )
    # Times made free here go to the short-notice list only if someone waits for this timebook (one EXISTS, asked
    # only when there is something to add): a plain setup or horizon run costs nothing more.
    awaited = bool(diff.restoring or diff.missing) and diff.schedule_id is not None and freed.awaited(session, diff.schedule_id)
    for chunk in _chunks([row.id for row in diff.restoring]):
        restored = session.execute(
            update(schema.Slot)
            .where(schema.Slot.id.in_(chunk), schema.Slot.status == "busy-unavailable")
            .values(status="free", version=schema.Slot.version + 1)
            .returning(schema.Slot.id)
        )
        ids = restored.scalars().all()
        if awaited:
            freed.note(session, ids)  # a closure lifted
    _insert(session, diff.missing, awaited=awaited)


def _windows(session: Session, setup: BookSetup, first: date, last: date, cutoff: datetime) -> Iterable[tuple[date, date]]:
    """Runs of days whose times fit in one chunk, from `first` to the later of `last` and the last stored slot (a
    shortened horizon leaves free times past the new end, which must go)."""
    end = last
    if setup.id is not None:
        latest = session.scalar(
            select(func.max(schema.Slot.start)).where(schema.Slot.schedule_id == setup.id, schema.Slot.start > cutoff)
        )
        if latest is not None:
            end = max(end, _local_day(latest))
    step = max(1, ROWS_PER_CHUNK // max(1, setup.most_in_a_day()))
    day = first
    while day <= end:
        yield day, min(end, day + timedelta(days=step - 1))
        day += timedelta(days=step)


def survey(session: Session, setup: BookSetup, *, since: datetime | None = None) -> Change:
    """What bringing the timebook in line with `setup` would do, by reads only (a preview), one window at a time."""
    change = Change()
    if not setup.managed:
        return change
    cutoff, first, last = setup.horizon(since)
    for window_first, window_last in _windows(session, setup, first, last, cutoff):
        diff = _diff(session, setup, window_first, window_last, cutoff, last)
        _note(change, setup, diff)
        change.affected += _affected(session, diff.unwanted_taken)
    return change


def regenerate(session: Session, book: schema.Schedule, *, since: datetime | None = None) -> Change:
    """Bring the timebook's future free times in line with its setup in the caller's one transaction (the demo seed;
    the server uses `generate`, which commits each chunk). Booked and requested times are never deleted or moved:
    those the setup no longer wants are reported in `affected`. `since` generates from an earlier moment than now."""
    change = Change()
    setup = stored_setup(session, book)
    if not setup.managed:
        return change  # made before setup existed: its slots are not ours to touch
    cutoff, first, last = setup.horizon(since)
    for window_first, window_last in _windows(session, setup, first, last, cutoff):
        change.add(_generate_window(session, setup, window_first, window_last, cutoff, last))
    return change


def _generate_window(session: Session, setup: BookSetup, first: date, last: date, cutoff: datetime, horizon_last: date) -> Change:
    change = Change()
    diff = _diff(session, setup, first, last, cutoff, horizon_last)
    _note(change, setup, diff)
    change.affected += _affected(session, diff.unwanted_taken)
    _write(session, diff)
    if change.created or change.removed:
        changed(session, change)
    return change


def generate(db: Database, schedule_id: int, *, first: date | None = None) -> Change:
    """Bring one timebook in line with its stored setup in chunks of days, each its own short writing transaction,
    so a booking anywhere waits at most for one chunk (tens of ms), and memory holds one chunk. Each chunk reads the
    setup again: a save in between is what the next chunk follows. `first`: start at this local day (the hourly
    run, for the days newly inside the horizon). On PostgreSQL each chunk holds the timebook's advisory lock, so
    two instances take turns on it and neither creates a time twice."""
    total = Change()
    with db.reading() as session:
        book = session.get(schema.Schedule, schedule_id)
        if book is None:
            return total
        setup = stored_setup(session, book)
        if not setup.managed:
            return total
        cutoff, start, last = setup.horizon()
        windows = list(_windows(session, setup, max(start, first or start), last, cutoff))
    for window_first, window_last in windows:
        with db.writing() as session:
            db.serialize(session, f"generate:{schedule_id}")
            book = session.get_one(schema.Schedule, schedule_id)  # read above; a timebook is never deleted
            setup = stored_setup(session, book)
            cutoff, _, last = setup.horizon()
            total.add(_generate_window(session, setup, window_first, window_last, cutoff, last))
    return total


def outside_setup(session: Session, book: schema.Schedule) -> set[int]:
    """The timebook's future booked or requested times that its setup, as stored now, no longer wants: an earlier
    change's «affected», which the next change must not report again as its own."""
    setup = stored_setup(session, book)
    if not setup.managed:
        return set()
    cutoff, _, last = setup.horizon()
    rows = session.execute(
        select(schema.Slot.id, schema.Slot.start, schema.Slot.seq).where(
            schema.Slot.schedule_id == book.id, schema.Slot.start > cutoff, schema.Slot.status.in_(("busy", "busy-tentative"))
        )
    ).all()
    by_day: dict[date, dict[tuple[datetime, int], datetime]] = {}
    outside = set()
    for row in rows:
        day = _local_day(row.start)
        if day not in by_day:
            by_day[day] = setup.times_on(day)
        if (row.start, row.seq) not in by_day[day]:
            outside.add(row.id)  # judged by the pattern alone: past the horizon a booking still stands
    return outside


def changed(session: Session, change: Change) -> None:
    """THE ONE CALL SITE for issue 10's per-timebook change counters: a month whose free times changed is a new
    version, so no instance answers 304 or serves it from its month cache."""
    scopes: set[str] = set()
    for schedule_id, start in change.months:
        scopes.update(_versions.slot_change(schedule_id, start))
    _versions.bump(session, scopes)


def generate_all(
    db: Database, organization_id: int | None = None, done: dict[int, tuple[BookSetup, date]] | None = None
) -> Change:
    """Generate every timebook's free times, each in chunks of short transactions (`generate`). `done` (the hourly
    run's memory: timebook → the setup and horizon's last day it last generated) skips a timebook whose setup has not
    changed and generates only the days newly inside its horizon."""
    total = Change()
    query = select(schema.Schedule.id).where(schema.Schedule.weekly.is_not(None)).order_by(schema.Schedule.id)
    if organization_id is not None:
        query = query.join(schema.HealthcareService).where(schema.HealthcareService.organization_id == organization_id)
    with db.reading() as session:
        ids = list(session.scalars(query))
    for schedule_id in ids:
        first = None
        if done is not None:
            with db.reading() as session:
                setup = stored_setup(session, session.get_one(schema.Schedule, schedule_id))  # never deleted
            last = setup.horizon()[2]
            before = done.get(schedule_id)
            if before is not None and before[0] == setup:
                if before[1] >= last:
                    continue  # nothing changed: nothing to do
                first = before[1] + timedelta(days=1)
        total.add(generate(db, schedule_id, first=first))
        if done is not None:
            done[schedule_id] = (setup, last)
    return total


EVERY = 3600.0  # seconds between runs: the horizon moves a day at a time, so hourly is plenty


class Generator:
    """Runs generate_all on start and then every `every` seconds, on a daemon thread of the server's own; each run
    writes in short chunks, so bookings never wait for it for long, and after the first only the changes."""

    def __init__(self, db: Database, every: float = EVERY) -> None:
        self.db = db
        self.every = every
        self._stop = threading.Event()
        # What each timebook's last run generated (its setup, its horizon's last day): later runs do only what changed.
        self._done: dict[int, tuple[BookSetup, date]] = {}
        self._thread = threading.Thread(target=self._run, name="timebok-generate", daemon=True)

    def start(self) -> Generator:
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            try:
                with metrics.generation_run():
                    change = generate_all(self.db, done=self._done)
                metrics.GENERATED.labels(change="created").inc(change.created)
                metrics.GENERATED.labels(change="removed").inc(change.removed)
                if change.created or change.removed:
                    log.info("generated %d free times, removed %d", change.created, change.removed)
            except Exception as error:  # noqa: BLE001 - a database hiccup must not end the schedule
                log.warning("free-time generation failed: %s", type(error).__name__)
            try:
                life.sweep_everywhere(self.db)
            except Exception as error:  # noqa: BLE001 - as above: the next hour tries again
                log.warning("closing unanswered requests and ended holds failed: %s", type(error).__name__)
            if self._stop.wait(self.every):
                return

    def stop(self) -> None:
        self._stop.set()
