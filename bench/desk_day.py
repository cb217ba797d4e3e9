"""Prints the desk's day (issue 26): «Dagens timer» with 400 appointments from the key, the 400-row day list as PDF,
and the patient's page with 200 past appointments from the key; each against its goal.

Two rulers for a screen: the first frame the app draws with the whole list in it (what the desk sees), and, as
measured before, the list filled and then the process idle (Pilot's pause: at least one 20 ms sleep, and it also
waits for what the screen does in the background after it is painted). Beside the wall time, the process's CPU
time over the same span (all threads: the embedded backend's as well), which a loaded machine disturbs less."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

NOW = "2026-11-25T07:00:00+01:00"  # early, so the whole day's 400 times lie ahead and none is marked late
DAY = date(2026, 11, 25)
RUNS = 10
GOALS = {"day": 150.0, "pdf": 1000.0, "patient": 150.0}


def _line(name: str, timings: list[float], goal: float) -> str:
    timings = sorted(timings)
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    median = statistics.median(timings)
    return (
        f"  {name:<58}median {median:7.1f} ms   p95 {p95:7.1f} ms   goal ≤ {goal:.0f} ms   "
        f"median/goal {median / goal:.2f}   ({len(timings)} runs)"
    )


def _fill(path: Path) -> None:
    """The demo data, then 400 confirmed appointments today at Fjordsiden's lab (400 patients, æøå in their names) and
    200 past ones for Kari, written straight into the tables: the API would refuse so many for so few patients."""
    from sqlalchemy import select

    from timebok.backend import schema
    from timebok.backend.fhir import to_storage
    from timebok.backend.server import open_database
    from timebok.domain.clock import OSLO

    db = open_database(path, demo=True)
    with db.writing() as session:
        lab = session.scalars(select(schema.Schedule).order_by(schema.Schedule.id)).all()
        schedule = next(s for s in lab if "lab" in s.name.lower())
        first = datetime.combine(DAY, datetime.min.time(), OSLO) + timedelta(hours=7, minutes=30)

        def slot(start: datetime, seat: int) -> schema.Slot:
            row = schema.Slot(
                schedule_id=schedule.id,
                start=to_storage(start),
                end=to_storage(start + timedelta(minutes=5)),
                status="busy",
                seq=seat,
            )
            session.add(row)
            return row

        def appointment(row: schema.Slot, patient_id: int, status: str) -> schema.Appointment:
            return schema.Appointment(
                status=status,
                slot_id=row.id,
                patient_id=patient_id,
                organization_id=1,
                start=row.start,
                end=row.end,
                created=row.start - timedelta(days=3),
                last_updated=row.start - timedelta(days=2),
                description="benk",
            )

        for n in range(400):
            patient = schema.Patient(
                identifier_system="urn:oid:2.16.578.1.12.4.1.4.1",
                identifier=f"9{n:010d}",
                given=f"Åse {n}",
                family="Ødegård Ærø",
                birth_date=date(1950 + n % 60, 1 + n % 12, 1 + n % 28),
                gp_organization_id=1,
            )
            session.add(patient)
            row = slot(first + timedelta(minutes=n), 50 + n)
            session.flush()
            session.add(appointment(row, patient.id, "booked"))
        for n in range(200):
            row = slot(first - timedelta(days=2 * (n + 1)), 500 + n)
            session.flush()
            session.add(appointment(row, 1, "booked"))
    db.dispose()


async def measure(path: Path) -> None:
    from timebok.backend.server import EmbeddedServer
    from timebok.domain import clock
    from timebok.screens.patient_page import PatientScreen
    from timebok.screens.today import TodayScreen
    from timebok.tui.app import TimebokApp
    from timebok.tui.connection import Connection
    from timebok.ui.daylist import day_rows
    from timebok.ui.printing import day_list_pdf

    clock.set_now(NOW)
    server = EmbeddedServer(path).start()
    server.ready.wait(60)
    days, pages, pdfs = [], [], []
    day_frames: list[tuple[float, float]] = []
    page_frames: list[tuple[float, float]] = []
    app = TimebokApp(Connection(server.url, "demo-staff-fjordsiden"))
    frame = _FirstFrame(app)
    async with app.run_test(size=(100, 32)) as pilot:

        async def settle() -> None:
            for _ in range(4):
                await pilot.pause()
                await app.workers.wait_for_complete()

        await settle()
        for _ in range(RUNS):
            frame.expect(lambda: isinstance(app.screen, TodayScreen) and _rows(app.screen, "#day-table") >= 400)
            started = time.perf_counter()
            app.screen.action_today()  # what D runs, without the harness's own wait for idle
            await _until(lambda: isinstance(app.screen, TodayScreen) and _rows(app.screen, "#day-table") >= 400)
            await pilot.pause()  # the table measured and painted
            days.append((time.perf_counter() - started) * 1000)
            day_frames.append(frame.taken())
            rows = app.screen.rows
            await settle()
            app.go_home()
            await settle()
        kari = next(a.patient for a in (await app.client.appointments("1")) if a.patient is not None)
        for _ in range(RUNS):
            frame.expect(lambda: isinstance(app.screen, PatientScreen) and _rows(app.screen, "#past") >= 200)
            started = time.perf_counter()
            app.push_screen(PatientScreen(kari))
            await _until(lambda: isinstance(app.screen, PatientScreen) and _rows(app.screen, "#past") >= 200)
            await pilot.pause()  # the tables measured and painted
            pages.append((time.perf_counter() - started) * 1000)
            page_frames.append(frame.taken())
            await settle()
            app.go_home()
            await settle()
    server.stop()
    assert len(rows) >= 400, len(rows)
    moment = clock.now()
    for _ in range(RUNS):
        started = time.perf_counter()
        day_list_pdf(
            day_rows([r.appointment for r in rows], hidden=False, moment=moment),
            office="Fjordsiden",
            day=DAY,
            scope="Alle",
            printed=moment,
        )
        pdfs.append((time.perf_counter() - started) * 1000)
    print("The desk's day, through HTTP on loopback (the app's own event loop, headless, 100x32)")
    firsts = [w for w, _ in day_frames], [w for w, _ in page_frames]
    print(_line(f"«Dagens timer», {len(rows)} appointments: key → first frame", firsts[0], GOALS["day"]))
    print(f"    {_cpu(day_frames)}; the first open of the process (a 200, not a 304): {day_frames[0][0]:.1f} ms")
    print(_line("  … key → list filled, then idle (the ruler before)", days, GOALS["day"]))
    print(_line("patient's page, 200 past: opened → first frame", firsts[1], GOALS["patient"]))
    print(f"    {_cpu(page_frames)}; the first open of the process (a 200, not a 304): {page_frames[0][0]:.1f} ms")
    print(_line("  … opened → lists filled, then idle (the ruler before)", pages, GOALS["patient"]))
    print(_line(f"day list PDF, {len(rows)} rows (first one includes fonts)", pdfs, GOALS["pdf"]))
    print(f"  first PDF of the process: {pdfs[0]:.1f} ms")
    bare = await _bare_table(len(rows))
    print(_line(f"reference: a bare Textual DataTable, {len(rows)} rows", bare, GOALS["day"]))
    print(f"  load average now: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


async def _bare_table(count: int) -> list[float]:
    """What Textual itself takes to fill and paint a DataTable of as many rows, with no backend and no app of ours."""
    from rich.text import Text
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable()

    timings = []
    app = Bare()
    async with app.run_test(size=(100, 32)) as pilot:
        table = app.query_one(DataTable)
        table.add_columns("Tid", "Type", "Sted", "Pasient", "Status")
        for _ in range(RUNS):
            started = time.perf_counter()
            table.clear()
            table.add_rows(
                (Text("08:00"), Text("● Laboratoriet"), Text("Fjordsiden"), Text(f"Åse {n}"), Text("Bekreftet"))
                for n in range(count)
            )
            await pilot.pause()
            timings.append((time.perf_counter() - started) * 1000)
    return timings


class _FirstFrame:
    """The wall and CPU time from `expect` to the first frame the app draws while `condition` holds."""

    def __init__(self, app) -> None:
        self._display = app._display  # every frame of the app goes through it (headless: drawn, not written)
        app._display = self._frame
        self._condition = None
        self._started = (0.0, 0.0)
        self._found: tuple[float, float] | None = None

    def expect(self, condition) -> None:
        self._condition, self._found = condition, None
        self._started = (time.perf_counter(), time.process_time())

    def _frame(self, screen, renderable) -> None:
        self._display(screen, renderable)
        if renderable is not None and self._found is None and self._condition is not None and self._condition():
            self._found = (
                (time.perf_counter() - self._started[0]) * 1000,
                (time.process_time() - self._started[1]) * 1000,
            )

    def taken(self) -> tuple[float, float]:
        assert self._found is not None, "no frame was drawn with the list"
        return self._found


def _cpu(frames: list[tuple[float, float]]) -> str:
    return f"CPU: median {statistics.median(c for _, c in frames):.1f} ms of process time"


def _rows(screen, table_id: str) -> int:
    """The rows the screen's table holds, 0 before the screen has composed it."""
    tables = screen.query(table_id)
    return tables.first().row_count if tables else 0


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.0005)


def main() -> None:
    print(f"timebok desk-day benchmark — Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    os.environ["TIMEBOK_NOW"] = NOW
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "day.db"
        _fill(path)
        asyncio.run(measure(path))


if __name__ == "__main__":
    main()
