"""A flu-campaign morning: simulated citizens over 4 `timebok serve` instances on one PostgreSQL database.

Each citizen opens the month, looks at two days, and books one time; 30 % pick a time someone else has
just taken (a 409), look at that day again and book another. Reports p50/p95/p99 per step, bookings per
second, conflicts, and checks in the database that no slot is held twice. Bounded in citizens (default
1000), concurrency (default 100 at once) and time (default 150 s: no new citizen starts after it).

Run from the repository root:  .venv/bin/python -P bench/flu_morning.py  [--citizens 1000] [--instances 4]
Needs PostgreSQL (TIMEBOK_BENCH_PG, default the tests' server); without it, it says so and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import Tally, Wire, booking_body, process_cpu, whoami  # noqa: E402
from _postgres import BenchDatabase  # noqa: E402
from _servers import (  # noqa: E402
    NOW,
    ServerProcess,
    exit_on_sigterm,
    ignore_interrupts,
    median,
    percentile,
    platform_line,
    table,
    timebok_server,
)

CITIZENS = ["demo-citizen-kari", "demo-citizen-ola", "demo-citizen-aisha", "demo-citizen-per", "demo-citizen-ingrid"]
CAMPAIGN = (4, 6)  # the two laboratory timebooks, with the most free times: the campaign's vaccination times


def query(**params: str | list[str]) -> str:
    parts = []
    for key, value in params.items():
        for one in value if isinstance(value, list) else [value]:
            parts.append(f"{key}={quote(one, safe='')}")
    return "&".join(parts)


def month_target(book: int, first: date) -> str:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return "/fhir/Slot?" + query(
        schedule=f"Schedule/{book}", status="free", start=[f"ge{first.isoformat()}", f"lt{following.isoformat()}"], _count="1000"
    )


def day_target(book: int, day: date) -> str:
    return "/fhir/Slot?" + query(
        schedule=f"Schedule/{book}",
        status="free",
        start=[f"ge{day.isoformat()}", f"lt{(day + timedelta(days=1)).isoformat()}"],
        _count="200",
    )


def slots_of(data: bytes) -> list[tuple[int, str]]:
    return [(int(e["resource"]["id"]), e["resource"]["start"][:10]) for e in json.loads(data).get("entry", [])]


class Morning:
    def __init__(self, ports: list[int], steal_share: float, seed: int) -> None:
        self.ports = ports
        self.steal_share = steal_share
        self.rng = random.Random(seed)
        self.steps = {
            name: Tally() for name in ("open the month", "look at a day", "book (201)", "book (409, taken)", "whole visit")
        }
        self.just_taken: list[int] = []  # slots others booked a moment ago: what a slow citizen clicks on
        self.booked = 0
        self.gave_up = 0

    async def citizen(self, number: int) -> None:
        rng = random.Random(number)
        wire = Wire(self.ports[number % len(self.ports)], CITIZENS[number % len(CITIZENS)])
        visit = time.perf_counter()
        try:
            patient = await whoami(wire)
            book = CAMPAIGN[number % len(CAMPAIGN)]
            first = date.fromisoformat(NOW[:10]).replace(day=1)
            first = date(first.year + first.month // 12, first.month % 12 + 1, 1)  # December: the campaign month
            started = time.perf_counter()
            status, _, data = await wire.request("GET", month_target(book, first))
            self.steps["open the month"].add(started, status)
            days = sorted({d for _, d in slots_of(data)})
            if not days:
                self.gave_up += 1
                return
            looked: list[tuple[int, str]] = []
            for day in rng.sample(days, min(2, len(days))):
                started = time.perf_counter()
                status, _, data = await wire.request("GET", day_target(book, date.fromisoformat(day)))
                self.steps["look at a day"].add(started, status)
                looked = slots_of(data) or looked
            for attempt in range(4):
                if attempt == 0 and self.just_taken and rng.random() < self.steal_share:
                    slot = rng.choice(self.just_taken[-20:])
                elif looked:
                    slot = rng.choice(looked)[0]
                else:
                    break
                started = time.perf_counter()
                status, _, _ = await wire.request("POST", "/fhir/Appointment", booking_body(slot, patient))
                if status == 201:
                    self.steps["book (201)"].add(started, status)
                    self.booked += 1
                    self.just_taken.append(slot)
                    break
                self.steps["book (409, taken)"].add(started, status)
                # Taken: look at a day again (its free times now) and try another.
                started = time.perf_counter()
                status, _, data = await wire.request("GET", day_target(book, date.fromisoformat(rng.choice(days))))
                self.steps["look at a day"].add(started, status)
                looked = slots_of(data)
            else:
                self.gave_up += 1
        finally:
            self.steps["whole visit"].add(visit, 200)
            await wire.close()


async def run_morning(morning: Morning, citizens: int, at_once: int, bound: float) -> tuple[float, int]:
    gate = asyncio.Semaphore(at_once)
    deadline = time.perf_counter() + bound
    started_count = 0

    async def one(number: int) -> None:
        async with gate:
            if time.perf_counter() > deadline:
                return
            nonlocal started_count
            started_count += 1
            await morning.citizen(number)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(citizens)))
    return time.perf_counter() - started, started_count


def held_twice(url: str) -> tuple[int, int]:
    """(slots held by more than one live appointment, live appointments), straight from the database."""
    import psycopg

    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as connection:
        twice = connection.execute(
            "SELECT count(*) FROM (SELECT slot_id FROM appointment WHERE status IN ('pending', 'booked') "
            "GROUP BY slot_id HAVING count(*) > 1) AS doubled"
        ).fetchone()[0]
        live = connection.execute("SELECT count(*) FROM appointment WHERE status IN ('pending', 'booked')").fetchone()[0]
    return twice, live


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=1000)
    parser.add_argument("--instances", type=int, default=4)
    parser.add_argument("--at-once", type=int, default=100, help="citizens in the middle of their visit at once (default 100)")
    parser.add_argument("--seconds", type=float, default=150, help="no citizen starts after this (default 150)")
    parser.add_argument("--steal", type=float, default=0.3, help="share picking a time someone just took (default 0.3)")
    args = parser.parse_args(argv)

    exit_on_sigterm()
    print(
        "Flu-campaign morning: simulated citizens over several `timebok serve` instances on one PostgreSQL database", flush=True
    )
    print(platform_line())
    pg, note = BenchDatabase.create()
    if pg is None:
        print(f"Not measured: {note}.")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="timebok-flu-"))
    servers: list[ServerProcess] = []
    try:
        for i in range(args.instances):
            server = timebok_server(pg.url, workdir / f"serve-{i}.log")
            servers.append(server)
            server.start()
        print(
            f"{args.instances} instances on {note}; clock frozen at {NOW}. {args.citizens} citizens, {args.at_once} at once, "
            f"{args.steal:.0%} pick a time just taken ...",
            flush=True,
        )
        morning = Morning([s.port for s in servers], args.steal, 1)
        cpu_before = sum(process_cpu(s.process.pid) for s in servers)
        seconds, started = asyncio.run(run_morning(morning, args.citizens, args.at_once, args.seconds))
        cpu = sum(process_cpu(s.process.pid) for s in servers) - cpu_before
        twice, live = held_twice(pg.url)
    except KeyboardInterrupt:
        print("\nInterrupted; stopping servers and removing temp files.", file=sys.stderr)
        return 130
    finally:
        ignore_interrupts()
        for server in reversed(servers):
            server.stop()
        pg.drop()
        shutil.rmtree(workdir, ignore_errors=True)

    rows = []
    for name, tally in morning.steps.items():
        if tally.ms:
            rows.append(
                [name, len(tally.ms), median(tally.ms), percentile(tally.ms, 0.95), percentile(tally.ms, 0.99), max(tally.ms)]
            )
    requests = sum(len(t.ms) for n, t in morning.steps.items() if n != "whole visit") + started  # + one userinfo each
    notes = [
        f"{started} of {args.citizens} citizens came (none starts after {args.seconds:.0f} s) in {seconds:.1f} s; "
        f"{morning.booked} booked: {morning.booked / seconds:.0f} bookings/s; {requests / seconds:.0f} requests/s over "
        f"{args.instances} instances; {len(morning.steps['book (409, taken)'].ms)} conflicts (409); {morning.gave_up} gave up.",
        f"Slots held by two live appointments afterwards (checked in the database): {twice} (goal 0); live appointments "
        f"{live}, of which {morning.booked} made this morning.",
        f"Server CPU: {cpu:.1f} s over all instances, {cpu * 1000 / max(requests, 1):.2f} ms per request.",
        f"The load generator (one process, bench/_load.py) and all {args.instances} instances share {os.cpu_count()} cores, "
        "so this is the machine's ceiling, not the instances': on a machine with a core per instance and the citizens elsewhere, "
        "throughput scales with instances until PostgreSQL's commit rate (one fsync per booking, group-committed) is the limit.",
        "5 citizen tokens are shared by all simulated citizens (the demo has 5); each citizen has its own connection.",
    ]
    print()
    print(table("Flu-campaign morning, per step (ms)", ["step", "count", "p50", "p95", "p99", "max"], rows, notes))
    return 0 if twice == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
