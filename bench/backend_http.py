"""Backend benchmark over real HTTP on loopback, on SQLite and on PostgreSQL side by side: the month
query (next to a bare FastAPI app serving the very same bytes) and booking throughput with 32
concurrent clients.

Run from the repository root:  .venv/bin/python bench/backend_http.py  [--requests 200] [--bookings 1000]

Every server is its own process (`timebok serve --demo` on a fresh database, with the clock frozen at
the tests' instant), so the benchmark client does not share a GIL with it. PostgreSQL is found through
TIMEBOK_BENCH_PG (default: the tests' postgresql+psycopg://postgres@127.0.0.1:5432/test), where a
database of this run's own is made and dropped; when it does not answer, only SQLite is measured and the
output says why. Servers, databases and temp files are removed at the end, also after Ctrl-C or SIGTERM.
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

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _servers import (  # noqa: E402
    FHIR_JSON, NOW, ServerProcess, bare_server, exit_on_sigterm, ignore_interrupts, median, percentile, platform_line,
    table, timebok_server,
)
from _postgres import BenchDatabase  # noqa: E402

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
            counts.append((book, month, slot_total(http, month_params(book, month, True)),
                           slot_total(http, month_params(book, month, False))))
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
    ms: dict[str, list[float]] = field(default_factory=dict)  # server label → timings
    bare: ServerProcess | None = None


def timed_get(http: httpx.Client, path: str, size: int) -> float:
    started = time.perf_counter()
    response = http.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200 or len(response.content) != size:
        raise RuntimeError(f"GET {path}: {response.status_code}, {len(response.content)} bytes (expected 200, {size})")
    return elapsed


def measure_month_query(reals: dict[str, ServerProcess], variants: list[Variant], requests: int, warmup: int,
                        block: int = 25) -> None:
    """Sequential GETs on one keep-alive connection per server, taking turns in blocks so drift hits all alike."""
    for variant in variants:
        servers = dict(reals) | {"bare FastAPI": variant.bare}
        https = {label: httpx.Client(base_url=s.root, headers=bearer(READER), timeout=30) for label, s in servers.items()}
        sizes = {}
        try:
            for label, http in https.items():
                # The same bytes but for the links, which name each server's own port.
                body = http.get(variant.path).content.replace(servers[label].root.encode(), variant.origin.encode())
                if body != variant.body:
                    raise RuntimeError(f"{label} does not answer the month query with the same bytes as the first server")
                sizes[label] = len(http.get(variant.path).content)
                for _ in range(warmup):
                    timed_get(http, variant.path, sizes[label])
                variant.ms[label] = []
            while len(variant.ms["bare FastAPI"]) < requests:
                n = min(block, requests - len(variant.ms["bare FastAPI"]))
                for label, http in https.items():
                    variant.ms[label] += [timed_get(http, variant.path, sizes[label]) for _ in range(n)]
        finally:
            for http in https.values():
                http.close()


# -- booking throughput --------------------------------------------------------------------

def free_future_slots(http: httpx.Client, books: list[Timebook]) -> list[int]:
    ids: list[int] = []
    for book in books:
        url: str | None = "/fhir/Slot"
        params: list[tuple[str, str]] | None = [("schedule", f"Schedule/{book.id}"), ("status", "free"),
                                                 ("start", f"gt{NOW}"), ("_count", "1000")]
        while url:
            bundle = http.get(url, params=params).raise_for_status().json()
            ids += [int(e["resource"]["id"]) for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
            url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
            params = None  # the next link carries the whole query
    return ids


@dataclass
class BookingRun:
    clients: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[int, int]


async def book_concurrently(root: str, slot_ids: list[int], clients: int) -> BookingRun:
    slots = iter(slot_ids)  # one event loop: next() hands each slot to exactly one client
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    go = asyncio.Event()

    async def client(number: int, http: httpx.AsyncClient) -> None:
        # Who am I? (also opens the keep-alive connection before the clock starts)
        info = (await http.get("/auth/userinfo")).raise_for_status().json()
        patient = info["patient"]
        ready.append(number)
        await go.wait()
        for slot_id in slots:
            body = {
                "resourceType": "Appointment", "status": "pending",
                "slot": [{"reference": f"Slot/{slot_id}"}],
                "participant": [{"actor": {"reference": patient}, "status": "accepted"}],
                "description": "Benchmark",
            }
            started = time.perf_counter()
            response = await http.post("/fhir/Appointment", json=body, headers={"Content-Type": FHIR_JSON})
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    ready: list[int] = []
    https = [httpx.AsyncClient(base_url=root, headers=bearer(CITIZENS[i % len(CITIZENS)]), timeout=60) for i in range(clients)]
    try:
        tasks = [asyncio.create_task(client(i, http)) for i, http in enumerate(https)]
        while len(ready) < clients:
            if any(t.done() for t in tasks):
                await asyncio.gather(*tasks)  # raises the failure
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        go.set()
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - started
    finally:
        for http in https:
            await http.aclose()
    return BookingRun(clients, seconds, latencies, statuses)


def pending_total(root: str) -> int:
    total = 0
    for token in CITIZENS:
        bundle = httpx.get(f"{root}/fhir/Appointment", params={"status": "pending", "_count": "1"}, headers=bearer(token), timeout=30)
        total += bundle.raise_for_status().json()["total"]
    return total


# -- the run -------------------------------------------------------------------------------

def start_servers(workdir: Path, servers: list[ServerProcess], pg: BenchDatabase | None) -> dict[str, ServerProcess]:
    """`timebok serve --demo` on a fresh SQLite file and, when PostgreSQL answers, on a fresh PostgreSQL database."""
    reals = {"SQLite": timebok_server(workdir / "timebok.db", workdir / "serve-sqlite.log")}
    if pg is not None:
        reals["PostgreSQL"] = timebok_server(pg.url, workdir / "serve-postgresql.log")
    for real in reals.values():
        servers.append(real)
        real.start()
    return reals


def run(args: argparse.Namespace, workdir: Path, servers: list[ServerProcess], pg: BenchDatabase | None, pg_note: str) -> None:
    print("timebok backend benchmark: real HTTP on loopback, uvicorn, each server in its own process", flush=True)
    print(platform_line())
    cores = os.cpu_count() or 1
    print(f"Note: {cores} CPU core(s) are shared by the benchmark client and the server process(es); "
          f"the client's own HTTP work (httpx) is inside every figure below.")
    print(f"Clock frozen at TIMEBOK_NOW={NOW}; fresh demo databases (a SQLite file in a temp dir; {pg_note}).\n", flush=True)

    reals = start_servers(workdir, servers, pg)
    first = next(iter(reals.values()))

    with httpx.Client(base_url=first.root, headers=bearer(READER), timeout=30) as http:
        books = timebooks(http)
        (book, month, free_count, all_count), most = busiest_month(http, books)
        variants = []
        wanted = [(True, "free slots (status=free)")]
        if free_count < 900:
            wanted.append((False, "all slots (no status filter)"))
        for free_only, what in wanted:
            response = http.get("/fhir/Slot", params=month_params(book, month, free_only)).raise_for_status()
            path = str(response.request.url.raw_path, "ascii")
            slots = sum(1 for e in response.json().get("entry", []) if e["search"]["mode"] == "match")
            variants.append(Variant(what, path, response.content, slots, response.headers["content-type"], first.root))
        pool = free_future_slots(http, books)

    for i, variant in enumerate(variants):
        (workdir / f"body-{i}.json").write_bytes(variant.body)
        variant.bare = bare_server(workdir / f"body-{i}.json", variant.path.split("?")[0], variant.content_type,
                                   workdir / f"bare-{i}.log")
        servers.append(variant.bare)
        variant.bare.start()

    for label, real in reals.items():
        print(f"Server start on {label} (`timebok serve --demo`, migrating and seeding the fresh database): "
              f"{real.startup_seconds:.1f} s", flush=True)
    print(f"Measuring the month query: {args.warmup} warm-up + {args.requests} timed requests per server and variant "
          f"({', '.join(reals)}, bare FastAPI) ...", flush=True)
    measure_month_query(reals, variants, args.requests, args.warmup)

    bookings = min(args.bookings, len(pool))
    baseline = min(args.baseline_bookings, len(pool) - bookings)
    chosen = random.Random(1).sample(pool, bookings + baseline)  # the same slots on every database
    print(f"Booking {bookings} distinct free slots (from a pool of {len(pool)} across {len(books)} timebooks) "
          f"with {args.clients} concurrent clients" + (f", then {baseline} more with 1 client" if baseline else "")
          + f", on {' and on '.join(reals)} in turn ...\n", flush=True)
    runs: dict[str, list[BookingRun]] = {}
    created: dict[str, int] = {}
    for label, real in reals.items():
        before = pending_total(real.root)
        runs[label] = [asyncio.run(book_concurrently(real.root, chosen[:bookings], args.clients))]
        if baseline:
            runs[label].append(asyncio.run(book_concurrently(real.root, chosen[bookings:], 1)))
        created[label] = pending_total(real.root) - before

    month_label = f"{book.label}, {month[0]:%Y-%m}"
    rows = []
    for variant in variants:
        for label in [*reals, "bare FastAPI"]:
            server = f"timebok serve, {label}" if label in reals else "bare FastAPI (same bytes)"
            rows.append([variant.label if label == next(iter(reals)) else "", server, variant.slots, len(variant.body),
                         median(variant.ms[label]), percentile(variant.ms[label], 0.95)])
    notes = [
        f"Timebook and month with the most free slots: {month_label} ({free_count} free of {all_count} slots).",
        f"GET {variants[0].path}",
        f"{args.requests} sequential requests after {args.warmup} warm-up, one keep-alive httpx.Client per server, "
        f"taking turns in blocks of 25.",
        "Every server answered with the very same bytes (checked), so SQLite and PostgreSQL serve identical data.",
        "bare FastAPI: no database, no auth, no middleware; a `def` route returning the captured bytes "
        f"as {variants[0].content_type}.",
        "timebok serve logs one access line per request (INFO, to a file); the bare app logs nothing.",
    ]
    if len(variants) > 1:
        notes.insert(2, f"Fewer than 900 free slots, so the same query without status=free is shown too ({all_count} slots).")
    if most[3] > all_count:
        notes.insert(1, f"Most slots of any status: {most[0].label}, {most[1][0]:%Y-%m} ({most[3]} slots, {most[2]} free).")
    print(table("Month query: one timebook's Slots for one month", ["query", "server", "slots", "bytes", "median ms", "p95 ms"],
                rows, notes))
    print()

    rows, other_notes = [], []
    for label, booking_runs in runs.items():
        statuses: dict[int, int] = {}
        for b in booking_runs:
            rows.append([label, b.clients, len(b.latencies_ms), b.seconds, len(b.latencies_ms) / b.seconds, median(b.latencies_ms),
                         percentile(b.latencies_ms, 0.95), b.statuses.get(201, 0), sum(n for s, n in b.statuses.items() if s != 201)])
            for status, n in b.statuses.items():
                statuses[status] = statuses.get(status, 0) + n
        other = {s: n for s, n in sorted(statuses.items()) if s != 201}
        other_notes.append(f"{label}: other statuses {', '.join(f'{s}x{n}' for s, n in other.items()) or 'none'}; "
                           f"pending appointments created, counted afterwards: {created[label]} "
                           f"(expected {sum(len(b.latencies_ms) for b in booking_runs)}).")
    notes = [
        "asyncio + one httpx.AsyncClient (keep-alive) per client; 5 citizen tokens, each booking for its own Patient.",
        *other_notes,
        "SQLite (WAL) serialises the writes: each booking is one BEGIN IMMEDIATE transaction. PostgreSQL runs them side by "
        "side (READ COMMITTED, a conditional UPDATE claims the slot) and commits each with fsync (synchronous_commit on).",
    ]
    if baseline:
        notes.insert(1, "The 1-client rows are a baseline on the same server, run after the concurrent one.")
    if pg is None:
        notes.append(f"PostgreSQL was not measured: {pg_note}.")
    print(table(
        f"Booking throughput: {args.clients} concurrent clients, POST /fhir/Appointment on distinct free slots",
        ["database", "clients", "bookings", "seconds", "req/s", "median ms", "p95 ms", "201", "other"],
        rows,
        notes,
    ))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="timed month-query requests per server (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up requests per server (default 20)")
    parser.add_argument("--bookings", type=int, default=1000, help="bookings in the throughput run (default 1000)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent booking clients (default 32)")
    parser.add_argument("--baseline-bookings", type=int, default=200,
                        help="bookings by a single client afterwards, for comparison (default 200; 0 skips)")
    args = parser.parse_args(argv)

    exit_on_sigterm()
    workdir = Path(tempfile.mkdtemp(prefix="timebok-bench-"))
    servers: list[ServerProcess] = []
    pg, pg_note = BenchDatabase.create()
    try:
        run(args, workdir, servers, pg, pg_note)
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
        if pg is not None:
            pg.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
