"""Free-time generation from office setups: 12 weeks for 50 offices × 4 time types, on SQLite and PostgreSQL.

Builds 50 offices, each with one place and the four time types, each type one timebook with a weekday
pattern (08:00–11:30 and 12:00–15:30, 10- or 15-minute times, Vaksine with two parallel times and a
Tuesday/Thursday flu campaign) and a 12-week horizon, then times:

1. the first generation (everything created),
2. a second run (idempotent: nothing created; the cost of the hourly run),
3. one office closing a day (the regeneration of one office, as a setup change does it).

Clock frozen at 2026-11-25 09:00 (Oslo), so the counts are the same every run.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("TIMEBOK_NOW", "2026-11-25T09:00:00+01:00")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from timebok.backend import schema  # noqa: E402
from timebok.backend.db import Database  # noqa: E402
from timebok.backend.generation import generate_all  # noqa: E402

OFFICES, WEEKS = 50, 12
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
PATTERN = json.dumps([{"days": WEEKDAYS, "start": "08:00", "end": "11:30"}, {"days": WEEKDAYS, "start": "12:00", "end": "15:30"}])
TYPES = [("Koronatest", 15, 1), ("Koronavaksine", 15, 1), ("Lab", 10, 1), ("Vaksine", 15, 2)]


def build(db: Database) -> None:
    with db.writing() as session:
        for number in range(OFFICES):
            office = schema.Organization(name=f"Bench legekontor {number}", her_id=f"9{number:06d}", orgnr=f"8{number:08d}")
            session.add(office)
            session.flush()
            place = schema.Location(
                organization_id=office.id, name=office.name, address_line="Gata 1", postal_code="0001", city="Oslo", directions=""
            )
            session.add(place)
            session.flush()
            for code, minutes, parallel in TYPES:
                service = schema.HealthcareService(organization_id=office.id, type_code=code, active=True)
                session.add(service)
                session.flush()
                book = schema.Schedule(
                    healthcare_service_id=service.id,
                    location_id=place.id,
                    name=code,
                    slot_minutes=minutes,
                    parallel=parallel,
                    horizon_days=WEEKS * 7,
                    weekly=PATTERN,
                )
                session.add(book)
                session.flush()
                if code == "Vaksine":
                    session.add(
                        schema.Campaign(
                            schedule_id=book.id,
                            name="Influensavaksine",
                            first=date(2026, 12, 1),
                            last=date(2027, 1, 31),
                            weekly=json.dumps([{"days": ["tue", "thu"], "start": "16:00", "end": "18:00"}]),
                        )
                    )


def measure(url: str) -> list[tuple[str, float, int]]:
    db = Database(url)
    try:
        db.migrate()
        build(db)
        rows = []
        started = time.perf_counter()
        first = generate_all(db)
        rows.append(("first generation", time.perf_counter() - started, first.created))
        started = time.perf_counter()
        again = generate_all(db)
        rows.append(("second run (idempotent)", time.perf_counter() - started, again.created))
        with db.writing() as session:
            session.add(schema.ClosureDay(organization_id=1, day=date(2026, 12, 4), reason="Planleggingsdag"))
        started = time.perf_counter()
        closed = generate_all(db, organization_id=1)
        rows.append(("one office closes a day", time.perf_counter() - started, -closed.removed))
        with db.reading() as session:
            total = session.scalar(select(func.count()).select_from(schema.Slot))
        rows.append(("slots in the database", 0.0, total))
        return rows
    finally:
        db.dispose()


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _postgres import BenchDatabase

    results: dict[str, list] = {}
    with tempfile.TemporaryDirectory(prefix="timebok-bench-setup-") as folder:
        results["SQLite"] = measure(f"sqlite:///{folder}/bench.db")
    database, note = BenchDatabase.create()
    if database is not None:
        try:
            results["PostgreSQL"] = measure(database.url)
        finally:
            database.drop()
    print(f"Generation of {WEEKS} weeks for {OFFICES} offices × {len(TYPES)} time types; {note}")
    print(f"{'':28}" + "".join(f"{name:>24}" for name in results))
    for index, (label, _, _) in enumerate(next(iter(results.values()))):
        cells = []
        for rows in results.values():
            _, seconds, count = rows[index]
            cells.append(f"{count:>10} slots" + (f" {seconds:>7.2f} s" if seconds else " " * 10))
        print(f"{label:28}" + "".join(f"{c:>24}" for c in cells))
    print("(negative: free times removed)")
    print(f"Python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
