"""Backend benchmark over real HTTP on loopback, on SQLite and on PostgreSQL side by side: the month
query (200 from the server's cache, 304 with If-None-Match, and a cache miss, next to a bare FastAPI app
serving the very same bytes), then bookings alone (32 clients) and under mixed load (8 booking, 24
browsing months) on SQLite, PostgreSQL with one instance and with two, and a table of ratios to the goals.

Run from the repository root:  .venv/bin/python -P bench/backend_http.py  [--requests 200] [--bookings 1000]

Every server is its own process (`timebok serve --demo` on a fresh database, with the clock frozen at
the tests' instant), so the benchmark client does not share a GIL with it. PostgreSQL is found through
TIMEBOK_BENCH_PG (default: the tests' postgresql+psycopg://postgres@127.0.0.1:5432/test), where two
databases of this run's own are made and dropped; when it does not answer, only SQLite is measured and the
output says why. Every loop is bounded in count and time. Servers, databases and temp files are removed
at the end, also after Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import LoadRun, run_load  # noqa: E402
from _postgres import BenchDatabase  # noqa: E402
from _servers import (  # noqa: E402
    FHIR_JSON,
    NOW,
    ServerProcess,
    bare_server,
    exit_on_sigterm,
    ignore_interrupts,
    median,
    percentile,
    platform_line,
    table,
    timebok_server,
)

CITIZENS = ["demo-citizen-kari", "demo-citizen-ola", "demo-citizen-aisha", "demo-citizen-per", "demo-citizen-ingrid"]
READER = CITIZENS[0]  # the directory (Schedule, Slot) is readable with any token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": FHIR_JSON}


# -- choosing the month query ---------------------------------------------------------------


@dataclass
class Timebook:
    id: int
    name: str
    place: str

    @property
    def label(self) -> str:
        return f"Schedule/{self.id} {self.name}, {self.place}"


def timebooks(http: httpx.Client) -> list[Timebook]:
    bundle = http.get("/fhir/Schedule", params={"_include": "Schedule:actor", "_count": 200}).raise_for_status().json()
    resources = [e["resource"] for e in bundle.get("entry", [])]
    places = {r["id"]: r["name"] for r in resources if r["resourceType"] == "Location"}
    books = []
    for r in resources:
        if r["resourceType"] == "Schedule":
            location = next((a["reference"].split("/")[1] for a in r["actor"] if a["reference"].startswith("Location/")), "")
            books.append(Timebook(int(r["id"]), r.get("comment", ""), places.get(location, f"Location/{location}")))
    return books


def months_from(today: date, count: int) -> list[tuple[date, date]]:
    """(first day, first day of the next month) for `count` months from today's."""
    months, first = [], today.replace(day=1)
    for _ in range(count):
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        months.append((first, following))
        first = following
    return months


def month_params(book: Timebook, month: tuple[date, date], free_only: bool, count: int = 1000) -> list[tuple[str, str]]:
    params = [("schedule", f"Schedule/{book.id}")]
    if free_only:
        params.append(("status", "free"))
    return params + [("start", f"ge{month[0].isoformat()}"), ("start", f"lt{month[1].isoformat()}"), ("_count", str(count))]


def slot_total(http: httpx.Client, params: list[tuple[str, str]]) -> int:
    params = [(k, v) for k, v in params if k != "_count"] + [("_count", "1")]
    return http.get("/fhir/Slot", params=params).raise_for_status().json()["total"]


def busiest_month(http: httpx.Client, books: list[Timebook]) -> tuple[tuple[Timebook, tuple[date, date], int, int], ...]:
    """(timebook, month, free, all) for the month with the most free slots, and for the one with the most slots."""
    counts = []
    for book in books:
        for month in months_from(date.fromisoformat(NOW[:10]), 3):  # the seed covers this month and the next two
            counts.append(
                (
                    book,
                    month,
                    slot_total(http, month_params(book, month, True)),
                    slot_total(http, month_params(book, month, False)),
                )
            )
    if not counts:
        raise RuntimeError("the seed has no timebooks")
    return max(counts, key=lambda c: c[2]), max(counts, key=lambda c: c[3])


# -- the month query, real server next to the bare app ---------------------------------------


@dataclass
class Variant:
    label: str
    path: str  # path and query, the same on every server
    body: bytes
    slots: int
    content_type: str
    origin: str  # the root URL of the server the body was captured from
    ms: dict[str, list[float]] = field(default_factory=dict)  # row label → timings
    bare: ServerProcess | None = None


def timed_get(http: httpx.Client, path: str, size: int | None, status: int = 200, headers: dict | None = None) -> float:
    started = time.perf_counter()
    response = http.get(path, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != status or (size is not None and len(response.content) != size):
        raise RuntimeError(f"GET {path}: {response.status_code}, {len(response.content)} bytes (expected {status}, {size})")
    return elapsed


def measure_month_query(
    reals: dict[str, ServerProcess], variants: list[Variant], requests: int, warmup: int, block: int = 25
) -> None:
    """Sequential GETs on one keep-alive connection per server, taking turns in blocks so drift hits all alike.

    Per real server three kinds: the answer (200, from the server's cache after the first), the same with
    If-None-Match (304), and a cache miss each time (a different _count, so a different URL: the lean
    query and serialization every time)."""
    for variant in variants:
        servers = dict(reals) | {"bare FastAPI": variant.bare}
        https = {label: httpx.Client(base_url=s.root, headers=bearer(READER), timeout=30) for label, s in servers.items()}
        sizes, tags = {}, {}
        misses = iter(range(10_000, 1000, -1))  # _count values ≥ any month's slots: the same slots, a new URL
        try:
            for label, http in https.items():
                # The same bytes but for the links, which name each server's own port.
                body = http.get(variant.path).content.replace(servers[label].root.encode(), variant.origin.encode())
                if body != variant.body:
                    raise RuntimeError(f"{label} does not answer the month query with the same bytes as the first server")
                response = http.get(variant.path)
                sizes[label], tags[label] = len(response.content), response.headers.get("etag")
                for _ in range(warmup):
                    timed_get(http, variant.path, sizes[label])
                variant.ms[label] = []
                if label in reals:
                    variant.ms[f"{label} 304"] = []
                    variant.ms[f"{label} uncached"] = []
            while len(variant.ms["bare FastAPI"]) < requests:
                n = min(block, requests - len(variant.ms["bare FastAPI"]))
                for label, http in https.items():
                    variant.ms[label] += [timed_get(http, variant.path, sizes[label]) for _ in range(n)]
                    if label in reals:
                        # A server without ETags (an older timebok) answers 200 in full: timed as such.
                        variant.ms[f"{label} 304"] += [
                            timed_get(
                                http,
                                variant.path,
                                0 if tags[label] else None,
                                304 if tags[label] else 200,
                                {"If-None-Match": tags[label]} if tags[label] else None,
                            )
                            for _ in range(n)
                        ]
                        variant.ms[f"{label} uncached"] += [
                            timed_get(http, variant.path.replace("_count=1000", f"_count={next(misses)}"), None) for _ in range(n)
                        ]
        finally:
            for http in https.values():
                http.close()


# -- booking throughput, alone and under mixed load ------------------------------------------------


def free_future_slots(http: httpx.Client, books: list[Timebook]) -> list[int]:
    ids: list[int] = []
    for book in books:
        url: str | None = "/fhir/Slot"
        params: list[tuple[str, str]] | None = [
            ("schedule", f"Schedule/{book.id}"),
            ("status", "free"),
            ("start", f"gt{NOW}"),
            ("_count", "1000"),
        ]
        while url:
            bundle = http.get(url, params=params).raise_for_status().json()
            ids += [int(e["resource"]["id"]) for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
            url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
            params = None  # the next link carries the whole query
    return ids


def double_bookings(root: str) -> int:
    """Slots held by more than one live appointment, counted through the staff queues of both offices."""
    held: dict[str, int] = {}
    for token in ("demo-staff-fjordsiden", "demo-staff-bakkebyen"):
        url: str | None = f"{root}/fhir/Appointment?status=pending,booked&_count=1000"
        while url:
            bundle = httpx.get(url, headers=bearer(token), timeout=60).raise_for_status().json()
            for entry in bundle.get("entry", []):
                if entry["search"]["mode"] == "match":
                    slot = entry["resource"]["slot"][0]["reference"]
                    held[slot] = held.get(slot, 0) + 1
            url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    return sum(1 for n in held.values() if n > 1)


@dataclass
class Setup:
    label: str
    servers: list[ServerProcess]


def start_setups(workdir: Path, started: list[ServerProcess], pgs: list[BenchDatabase]) -> list[Setup]:
    """SQLite with one instance; PostgreSQL with one instance, and two instances on another database."""
    sqlite = timebok_server(workdir / "timebok.db", workdir / "serve-sqlite.log")
    setups = [Setup("SQLite, 1 instance", [sqlite])]
    if pgs:
        setups.append(Setup("PostgreSQL, 1 instance", [timebok_server(pgs[0].url, workdir / "serve-pg1.log")]))
        setups.append(
            Setup("PostgreSQL, 2 instances", [timebok_server(pgs[1].url, workdir / f"serve-pg2-{i}.log") for i in (1, 2)])
        )
    for setup in setups:
        for server in setup.servers:  # one after the other: the first of two seeds, the second finds it done
            started.append(server)
            server.start()
    return setups


def month_targets(books: list[Timebook]) -> list[str]:
    targets = []
    for book in books:
        for month in months_from(date.fromisoformat(NOW[:10]), 3):
            query = "&".join(f"{k}={quote(v, safe='')}" for k, v in month_params(book, month, True))
            targets.append(f"/fhir/Slot?{query}")
    return targets


# -- the run -------------------------------------------------------------------------------


def run(args: argparse.Namespace, workdir: Path, servers: list[ServerProcess], pgs: list[BenchDatabase], pg_note: str) -> None:
    print("timebok backend benchmark: real HTTP on loopback, uvicorn, each server in its own process", flush=True)
    print(platform_line())
    cores = os.cpu_count() or 1
    print(
        f"Note: {cores} CPU core(s) are shared by the benchmark client and the server process(es); "
        f"the client's own work is inside every figure below."
    )
    print(f"Clock frozen at TIMEBOK_NOW={NOW}; fresh demo databases (a SQLite file in a temp dir; {pg_note}).\n", flush=True)

    setups = start_setups(workdir, servers, pgs)
    reals = {setup.label.split(",")[0]: setup.servers[0] for setup in setups if not setup.label.endswith("2 instances")}
    first = next(iter(reals.values()))

    with httpx.Client(base_url=first.root, headers=bearer(READER), timeout=30) as http:
        books = timebooks(http)
        (book, month, free_count, all_count), most = busiest_month(http, books)
        variants = []
        wanted = [(True, "free slots (status=free)")]
        if free_count < 900 and not args.quick:
            wanted.append((False, "all slots (no status filter)"))
        for free_only, what in wanted:
            response = http.get("/fhir/Slot", params=month_params(book, month, free_only)).raise_for_status()
            path = str(response.request.url.raw_path, "ascii")
            slots = sum(1 for e in response.json().get("entry", []) if e["search"]["mode"] == "match")
            variants.append(Variant(what, path, response.content, slots, response.headers["content-type"], first.root))
        pool = free_future_slots(http, books)

    for i, variant in enumerate(variants):
        (workdir / f"body-{i}.json").write_bytes(variant.body)
        variant.bare = bare_server(
            workdir / f"body-{i}.json", variant.path.split("?")[0], variant.content_type, workdir / f"bare-{i}.log"
        )
        servers.append(variant.bare)
        variant.bare.start()

    for setup in setups:
        print(
            f"Server start, {setup.label} (`timebok serve --demo`, migrating and seeding the fresh database): "
            + ", ".join(f"{s.startup_seconds:.1f} s" for s in setup.servers),
            flush=True,
        )
    print(
        f"Measuring the month query: {args.warmup} warm-up + {args.requests} timed requests per server, variant and kind "
        f"({', '.join(reals)}, bare FastAPI) ...",
        flush=True,
    )
    measure_month_query(reals, variants, args.requests, args.warmup)

    alone = min(args.bookings, len(pool) // 3)
    mixed_cap = min(args.mixed_bookings, len(pool) - alone)
    chosen = random.Random(1).sample(pool, alone + mixed_cap)  # the same slots on every database
    targets = month_targets(books)
    print(
        f"Booking: {args.clients} clients on {alone} distinct free slots (bounded to {args.seconds:.0f} s), then mixed load, "
        f"{args.bookers} booking + {args.browsers} browsing months for {args.mixed_seconds:.0f} s "
        f"(at most {mixed_cap} bookings), on {', '.join(s.label for s in setups)} in turn ...\n",
        flush=True,
    )
    results: dict[str, tuple[LoadRun, LoadRun, int]] = {}
    for setup in setups:
        ports = [s.port for s in setup.servers]
        pids = [s.process.pid for s in setup.servers]
        lone = asyncio.run(
            run_load(ports, CITIZENS, chosen[:alone], targets, bookers=args.clients, browsers=0, seconds=args.seconds, pids=pids)
        )
        mixed = asyncio.run(
            run_load(
                ports,
                CITIZENS,
                chosen[alone:],
                targets,
                bookers=args.bookers,
                browsers=args.browsers,
                seconds=args.mixed_seconds,
                pids=pids,
            )
        )
        results[setup.label] = (lone, mixed, double_bookings(setup.servers[0].root))

    print_month_table(variants, reals, book, month, free_count, all_count, most, args)
    print()
    print_booking_table(results, args)
    print()
    print_cpu_table(results)
    print()
    print_goals(variants, reals, results)


def _ratio(value: float, goal: float, lower_is_better: bool = True) -> str:
    ratio = value / goal if goal else float("nan")
    met = ratio <= 1 if lower_is_better else ratio >= 1
    return f"{ratio:.2f}× goal {'met' if met else 'NOT met'}"


def print_month_table(variants, reals, book, month, free_count, all_count, most, args) -> None:
    rows = []
    for variant in variants:
        bare = median(variant.ms["bare FastAPI"])
        first_row = True
        for label in [*reals, "bare FastAPI"]:
            kinds = [("", "200")] + (
                [(" 304", "304 (If-None-Match)"), (" uncached", "200, not cached")] if label in reals else []
            )
            for suffix, kind in kinds:
                ms = variant.ms[label + suffix]
                server = f"timebok serve, {label}" if label in reals else "bare FastAPI (same bytes)"
                size = 0 if suffix == " 304" else len(variant.body)
                rows.append(
                    [
                        variant.label if first_row else "",
                        server,
                        kind,
                        variant.slots,
                        size,
                        median(ms),
                        percentile(ms, 0.95),
                        median(ms) / bare,
                    ]
                )
                first_row = False
    notes = [
        f"Timebook and month with the most free slots: {book.label}, {month[0]:%Y-%m} ({free_count} free of {all_count} slots).",
        f"GET {variants[0].path}",
        f"{args.requests} sequential requests of each kind after {args.warmup} warm-up, one keep-alive httpx.Client per server, "
        "taking turns in blocks of 25. × bare: median against the bare app's median (goal ≤ 2 for 200).",
        "200: the answer the server keeps per timebook version; 304: the same request with the ETag the app holds; "
        "not cached: a new URL each time (_count varied), so the lean query and orjson run every time.",
        "Every server answered with the very same bytes (checked), so SQLite and PostgreSQL serve identical data.",
        "bare FastAPI: no database, no auth, no middleware; a `def` route returning the captured bytes.",
        "timebok serve logs one access line per request (INFO, to a file); the bare app logs nothing.",
    ]
    if most[3] > all_count:
        notes.insert(1, f"Most slots of any status: {most[0].label}, {most[1][0]:%Y-%m} ({most[3]} slots, {most[2]} free).")
    print(
        table(
            "Month query: one timebook's Slots for one month",
            ["query", "server", "answer", "slots", "bytes", "median ms", "p95 ms", "× bare"],
            rows,
            notes,
        )
    )


def print_booking_table(results: dict[str, tuple[LoadRun, LoadRun, int]], args) -> None:
    rows = []
    notes = []
    for label, (lone, mixed, doubles) in results.items():
        for kind, run_ in (("alone", lone), ("mixed", mixed)):
            b, m = run_.bookings, run_.months
            made = b.count(201)
            rows.append(
                [
                    label if kind == "alone" else "",
                    kind,
                    made,
                    run_.seconds,
                    made / run_.seconds,
                    median(b.ms) if b.ms else 0.0,
                    percentile(b.ms, 0.99) if b.ms else 0.0,
                    max(b.ms) if b.ms else 0.0,
                    run_.cpu_seconds * 1000 / made if made else 0.0,
                    len(m.ms) / run_.seconds if m.ms else 0.0,
                    median(m.ms) if m.ms else 0.0,
                    percentile(m.ms, 0.99) if m.ms else 0.0,
                ]
            )
        other = {s: n for run_ in (lone, mixed) for s, n in run_.bookings.statuses.items() if s != 201}
        notes.append(
            f"{label}: bookings other than 201: {other or 'none'}; month answers "
            f"{dict(sorted(mixed.months.statuses.items()))}; slots held twice afterwards: {doubles}."
        )
    notes += [
        f"alone: {args.clients} clients booking distinct free slots; mixed: {args.bookers} booking while {args.browsers} browse "
        "months of every timebook (3 months each) sending If-None-Match as the app does. Two instances: clients alternate.",
        "CPU/booking: the server processes' own CPU (user+system, /proc) over the run divided by bookings made "
        "(in mixed it includes the month reads).",
        "Load from bench/_load.py: one keep-alive HTTP/1.1 connection per client, a minimal client so the figures are the servers'.",
    ]
    print(
        table(
            "Bookings (POST /fhir/Appointment), alone and under mixed load",
            [
                "setup",
                "load",
                "booked",
                "seconds",
                "booked/s",
                "p50 ms",
                "p99 ms",
                "max ms",
                "CPU ms/booking",
                "months/s",
                "month p50",
                "month p99",
            ],
            rows,
            notes,
        )
    )


def print_cpu_table(results: dict[str, tuple[LoadRun, LoadRun, int]]) -> None:
    """Where the machine's CPU went during each run: whether a figure is bounded by the cores, not by the code."""
    rows = []
    for label, (lone, mixed, _doubles) in results.items():
        for kind, run_ in (("alone", lone), ("mixed", mixed)):
            s = run_.seconds
            requests = len(run_.bookings.ms) + len(run_.months.ms)
            other = run_.machine_busy - run_.cpu_seconds - run_.generator_cpu - run_.postgres_cpu
            rows.append(
                [
                    label if kind == "alone" else "",
                    kind,
                    run_.cpu_seconds / s,
                    max(run_.postgres_cpu, 0.0) / s,
                    run_.generator_cpu / s,
                    max(other, 0.0) / s,
                    run_.machine_busy / s,
                    requests / run_.cpu_seconds if run_.cpu_seconds else 0.0,
                ]
            )
    cores = os.cpu_count() or 1
    print(
        table(
            "CPU during the runs, in cores busy (CPU seconds per second)",
            [
                "setup",
                "load",
                "servers",
                "postgres",
                "generator",
                "other processes",
                f"machine (of {cores})",
                "requests per server CPU-second",
            ],
            rows,
            [
                "A Python server process holds one GIL: it can use about one core however many requests wait. "
                '"other processes": everything else on the machine (other work sharing these cores).',
                "postgres: the processes alive at the end, less those at the start (a lower bound: connections closed "
                "during the run take their CPU with them). The runs alone are short (about a second): their split is rough.",
                "Requests per server CPU-second staying level from one instance to two means throughput grows with "
                "the CPU the instances get: on a machine with a free core per instance, two give about twice one.",
            ],
        )
    )


def print_goals(variants, reals, results) -> None:
    variant = variants[0]
    bare = median(variant.ms["bare FastAPI"])
    rows = []
    for label in reals:
        rows.append(
            [
                f"month 200, {label}",
                f"{median(variant.ms[label]):.2f} ms",
                f"≤ 2× bare ({2 * bare:.2f} ms)",
                _ratio(median(variant.ms[label]), 2 * bare),
            ]
        )
        rows.append(
            [
                f"month 304, {label}",
                f"{median(variant.ms[label + ' 304']):.2f} ms",
                f"close to bare: ≤ 1.25× ({1.25 * bare:.2f} ms)",
                _ratio(median(variant.ms[label + " 304"]), 1.25 * bare),
            ]
        )
    for label, (lone, mixed, doubles) in results.items():
        rate = lone.bookings.count(201) / lone.seconds
        mixed_rate = mixed.bookings.count(201) / mixed.seconds
        if label.startswith("SQLite"):
            rows.append([f"bookings alone, {label}", f"{rate:.0f}/s", "≥ 500/s", _ratio(rate, 500, False)])
            p99 = percentile(lone.bookings.ms, 0.99)
            rows.append([f"booking p99 alone, {label}", f"{p99:.0f} ms", "≤ 250 ms", _ratio(p99, 250)])
            made = lone.bookings.count(201)
            cpu = lone.cpu_seconds * 1000 / made if made else float("nan")
            rows.append([f"server CPU per booking, {label}", f"{cpu:.2f} ms", "≤ 1 ms", _ratio(cpu, 1)])
        if not label.endswith("2 instances"):
            rows.append(
                [
                    f"mixed: bookings kept, {label}",
                    f"{mixed_rate / rate * 100:.0f} %",
                    "≥ 80 %",
                    _ratio(mixed_rate / rate, 0.8, False),
                ]
            )
            rows.append(
                [
                    f"mixed: booking p99, {label}",
                    f"{percentile(mixed.bookings.ms, 0.99):.0f} ms",
                    "≤ 250 ms",
                    _ratio(percentile(mixed.bookings.ms, 0.99), 250),
                ]
            )
            rows.append(
                [
                    f"mixed: month p99, {label}",
                    f"{percentile(mixed.months.ms, 0.99):.0f} ms",
                    "≤ 250 ms",
                    _ratio(percentile(mixed.months.ms, 0.99), 250),
                ]
            )
        rows.append([f"double bookings, {label}", str(doubles), "0", "met" if doubles == 0 else "NOT met"])
    if "PostgreSQL, 1 instance" in results and "PostgreSQL, 2 instances" in results:
        one, two = results["PostgreSQL, 1 instance"][1], results["PostgreSQL, 2 instances"][1]
        speedup = (
            (two.bookings.count(201) + len(two.months.ms))
            / two.seconds
            / ((one.bookings.count(201) + len(one.months.ms)) / one.seconds)
        )
        rows.append(["PostgreSQL 2 instances / 1, mixed requests/s", f"{speedup:.2f}×", "≥ 1.6×", _ratio(speedup, 1.6, False)])
    print(
        table(
            "Goals of issue 10 (ratios from this run)",
            ["figure", "measured", "goal", "ratio"],
            rows,
            [
                "Both instances of a setup and the load generator share this machine's cores: with 2 cores, a second "
                "instance adds no CPU, so its ratio says little about a bigger machine."
            ],
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="timed month-query requests per server (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up requests per server (default 20)")
    parser.add_argument("--bookings", type=int, default=1000, help="bookings in the run alone (default 1000)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent booking clients alone (default 32)")
    parser.add_argument("--seconds", type=float, default=20, help="time bound of the run alone (default 20)")
    parser.add_argument("--bookers", type=int, default=8, help="booking clients under mixed load (default 8)")
    parser.add_argument("--browsers", type=int, default=24, help="month-browsing clients under mixed load (default 24)")
    parser.add_argument("--mixed-seconds", type=float, default=8, help="length of the mixed run (default 8)")
    parser.add_argument(
        "--mixed-bookings", type=int, default=2000, help="at most this many bookings in the mixed run (default 2000)"
    )
    parser.add_argument("--quick", action="store_true", help="only the free-slots month query")
    args = parser.parse_args(argv)

    exit_on_sigterm()
    workdir = Path(tempfile.mkdtemp(prefix="timebok-bench-"))
    servers: list[ServerProcess] = []
    pgs: list[BenchDatabase] = []
    pg, pg_note = BenchDatabase.create()
    if pg is not None:
        pgs = [pg, BenchDatabase.create()[0]]
        pgs = [p for p in pgs if p is not None]
        if len(pgs) < 2:
            pgs[0].drop()
            pgs, pg_note = [], "PostgreSQL gave one database but not a second"
    try:
        run(args, workdir, servers, pgs, pg_note)
    except KeyboardInterrupt:
        print("\nInterrupted; stopping servers and removing temp files.", file=sys.stderr)
        return 130
    except Exception:
        for server in servers:
            tail = server.log_tail()
            if tail:
                print(f"--- last lines of the {server.name} log ---\n{tail}", file=sys.stderr)
        raise
    finally:
        ignore_interrupts()
        for server in reversed(servers):
            server.stop()
        for database in pgs:
            database.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
