"""Generates a timebook's free times from its setup, ahead of time and idempotently; a change touches only future free times."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from timebok.backend import schema
from timebok.backend import versions as _versions
from timebok.backend.fhir import to_storage
from timebok.backend.slots import is_public_holiday
from timebok.domain.clock import OSLO, now

log = logging.getLogger("timebok.generation")

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ACTIVE_APPOINTMENT = ("pending", "booked")
_CHUNK = 2000  # ids per IN (...): well under both databases' parameter limits


@dataclass(frozen=True)
class Range:
    weekdays: frozenset[int]
    opens: time
    closes: time


def ranges(text: str | list | None) -> list[Range]:
    """A stored (or sent) weekly pattern as ranges."""
    items = json.loads(text) if isinstance(text, str) else (text or [])
    result = []
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
class Change:
    """What one generation did (or, in a preview, would do)."""

    created: int = 0
    removed: int = 0
    affected: list[schema.Appointment] = field(default_factory=list)
    months: set[tuple[int, datetime]] = field(default_factory=set)  # (timebook, a start) whose free times changed

    def add(self, other: Change) -> None:
        self.created += other.created
        self.removed += other.removed
        self.affected += other.affected
        self.months |= other.months


def _day_times(day: date, pattern: list[Range], length: int) -> Iterable[tuple[datetime, datetime]]:
    step = timedelta(minutes=length)
    for item in pattern:
        if day.weekday() not in item.weekdays:
            continue
        # Local wall-clock times on the day: zoneinfo gives the right UTC offset on both DST Sundays.
        start = datetime.combine(day, item.opens, tzinfo=OSLO)
        closes = datetime.combine(day, item.closes, tzinfo=OSLO)
        while start + step <= closes:
            yield start, start + step
            start += step


def wanted(book: schema.Schedule, campaigns: list[schema.Campaign], closures: list[Closure], first: date, last: date,
           ) -> dict[tuple[datetime, int], datetime]:
    """The times the setup asks for from `first` to `last`: (stored start, seat) → stored end."""
    weekly = ranges(book.weekly)
    campaign_patterns = [(c.first, c.last, ranges(c.weekly), c.slot_minutes or book.slot_minutes) for c in campaigns]
    closed_days = {c.day for c in closures if c.opens is None}
    part_closed: dict[date, list[Closure]] = {}
    for closure in closures:
        if closure.opens is not None:
            part_closed.setdefault(closure.day, []).append(closure)
    result: dict[tuple[datetime, int], datetime] = {}
    day = first
    while day <= last:
        if day not in closed_days and not is_public_holiday(day):
            times = list(_day_times(day, weekly, book.slot_minutes))
            for c_first, c_last, pattern, length in campaign_patterns:
                if c_first <= day <= c_last:  # a campaign adds to the weekly pattern
                    times += _day_times(day, pattern, length)
            for start, end in times:
                if any(_overlaps(start, end, c) for c in part_closed.get(day, ())):
                    continue
                for seat in range(book.parallel):
                    result.setdefault((to_storage(start), seat), to_storage(end))
        day += timedelta(days=1)
    return result


def _overlaps(start: datetime, end: datetime, closure: Closure) -> bool:
    opens = datetime.combine(closure.day, closure.opens, tzinfo=OSLO)
    closes = datetime.combine(closure.day, closure.closes, tzinfo=OSLO)
    return start < closes and opens < end


def closures_for(session: Session, book: schema.Schedule, organization_id: int) -> list[Closure]:
    rows = session.scalars(select(schema.ClosureDay).where(schema.ClosureDay.organization_id == organization_id)).all()
    return [Closure(r.day, time.fromisoformat(r.start_time) if r.start_time else None,
                    time.fromisoformat(r.end_time) if r.end_time else None)
            for r in rows if r.schedule_id in (None, book.id)]


def _chunks(items: list, size: int = _CHUNK) -> Iterable[list]:
    for index in range(0, len(items), size):
        yield items[index:index + size]


def _insert(session: Session, rows: list[dict]) -> None:
    # ON CONFLICT DO NOTHING on the unique (timebook, start, seat): a second instance generating at the same
    # moment, or a repeat, creates nothing twice.
    if not rows:
        return
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(schema.Slot).on_conflict_do_nothing(index_elements=["schedule_id", "start", "seq"])
    # executemany: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues") without compiling each chunk.
    session.connection().execute(statement, rows)


def _wanted_now(session: Session, book: schema.Schedule, since: datetime | None = None) -> dict:
    """The future times the timebook's setup wants, as it is stored now: {(start, seat): end}."""
    moment = now()
    cutoff = to_storage(since or moment)
    first = (since or moment).astimezone(OSLO).date()
    last = moment.astimezone(OSLO).date() + timedelta(days=book.horizon_days)
    service = session.get(schema.HealthcareService, book.healthcare_service_id)
    if not (book.active and service.active):
        return {}  # a timebook or time type switched off offers nothing new
    campaigns = session.scalars(select(schema.Campaign).where(schema.Campaign.schedule_id == book.id)).all()
    return {key: end for key, end in wanted(book, list(campaigns), closures_for(session, book, service.organization_id),
                                            first, last).items() if key[0] > cutoff}


def outside_setup(session: Session, book: schema.Schedule) -> set[int]:
    """The timebook's future booked or requested times that its setup, as stored now, no longer wants: an earlier
    change's «affected», which the next change must not report again as its own."""
    if book.weekly is None:
        return set()
    want = _wanted_now(session, book)
    rows = session.execute(select(schema.Slot.id, schema.Slot.start, schema.Slot.seq).where(
        schema.Slot.schedule_id == book.id, schema.Slot.start > to_storage(now()),
        schema.Slot.status.in_(("busy", "busy-tentative")))).all()
    return {row.id for row in rows if (row.start, row.seq) not in want}


def regenerate(session: Session, book: schema.Schedule, *, since: datetime | None = None) -> Change:
    """Bring the timebook's future free times in line with its setup. Booked and requested times are never
    deleted or moved: those the setup no longer wants are reported in `affected`. `since` (the demo seed)
    generates from an earlier moment than now."""
    change = Change()
    if book.weekly is None:
        return change  # made before setup existed: its slots are not ours to touch
    cutoff = to_storage(since or now())
    want = _wanted_now(session, book, since)
    existing = session.execute(
        select(schema.Slot.id, schema.Slot.start, schema.Slot.seq, schema.Slot.status, schema.Slot.end)
        .where(schema.Slot.schedule_id == book.id, schema.Slot.start > cutoff)).all()
    have = {(row.start, row.seq): row for row in existing}
    missing = [{"schedule_id": book.id, "start": start, "end": end, "seq": seat, "status": "free", "version": 1}
               for (start, seat), end in want.items() if (start, seat) not in have]
    restoring = [row for key, row in have.items() if key in want and row.status == "busy-unavailable"]
    restore = [row.id for row in restoring]
    unwanted_free = [row for key, row in have.items() if key not in want and row.status == "free"]
    unwanted_taken = [row.id for key, row in have.items() if key not in want and row.status in ("busy", "busy-tentative")]
    # A removed free time that an old (cancelled) request still points at is kept as unavailable, not deleted.
    free_ids = [row.id for row in unwanted_free]
    referenced: set[int] = set()
    for chunk in _chunks(free_ids):
        referenced |= set(session.scalars(select(schema.Appointment.slot_id).where(schema.Appointment.slot_id.in_(chunk))))
    gone = [i for i in free_ids if i not in referenced]
    for chunk in _chunks(gone):
        session.execute(delete(schema.Slot).where(schema.Slot.id.in_(chunk), schema.Slot.status == "free"))
    for chunk in _chunks(sorted(referenced)):
        session.execute(update(schema.Slot).where(schema.Slot.id.in_(chunk), schema.Slot.status == "free")
                        .values(status="busy-unavailable", version=schema.Slot.version + 1))
    for chunk in _chunks(restore):
        session.execute(update(schema.Slot).where(schema.Slot.id.in_(chunk), schema.Slot.status == "busy-unavailable")
                        .values(status="free", version=schema.Slot.version + 1))
    _insert(session, missing)
    for chunk in _chunks(unwanted_taken):
        change.affected += session.scalars(select(schema.Appointment).where(
            schema.Appointment.slot_id.in_(chunk), schema.Appointment.status.in_(ACTIVE_APPOINTMENT))).all()
    change.affected.sort(key=lambda a: (a.start, a.id))
    change.created = len(missing) + len(restore)
    change.removed = len(unwanted_free)
    change.months = ({(book.id, row["start"]) for row in missing} | {(book.id, row.start) for row in unwanted_free}
                     | {(book.id, row.start) for row in restoring})
    if change.created or change.removed:
        changed(session, change)
    return change


def changed(session: Session, change: Change) -> None:
    """THE ONE CALL SITE for issue 10's per-timebook change counters: a month whose free times changed is a new
    version, so no instance answers 304 or serves it from its month cache."""
    scopes: set[str] = set()
    for schedule_id, start in change.months:
        scopes.update(_versions.slot_change(schedule_id, start))
    _versions.bump(session, scopes)


def generate_all(db, organization_id: int | None = None) -> Change:
    """Generate every timebook's free times, one short transaction per timebook so bookings are not held up for
    long; on PostgreSQL each timebook's run holds an advisory lock, so two instances take turns on it."""
    total = Change()
    query = select(schema.Schedule.id).where(schema.Schedule.weekly.is_not(None)).order_by(schema.Schedule.id)
    if organization_id is not None:
        query = query.join(schema.HealthcareService).where(schema.HealthcareService.organization_id == organization_id)
    with db.reading() as session:
        ids = list(session.scalars(query))
    for schedule_id in ids:
        with db.writing() as session:
            db.serialize(session, f"generate:{schedule_id}")
            book = session.get(schema.Schedule, schedule_id)
            if book is not None:
                total.add(regenerate(session, book))
    return total


EVERY = 3600.0  # seconds between runs: the horizon moves a day at a time, so hourly is plenty


class Generator:
    """Runs generate_all on start and then every `every` seconds, on a daemon thread of the server's own."""

    def __init__(self, db, every: float = EVERY) -> None:
        self.db = db
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="timebok-generate", daemon=True)

    def start(self) -> Generator:
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            try:
                change = generate_all(self.db)
                if change.created or change.removed:
                    log.info("generated %d free times, removed %d", change.created, change.removed)
            except Exception as error:  # noqa: BLE001 - a database hiccup must not end the schedule
                log.warning("free-time generation failed: %s", type(error).__name__)
            if self._stop.wait(self.every):
                return

    def stop(self) -> None:
        self._stop.set()
