"""Reminders falling due at once, sent by 2 `timebok serve` instances on PostgreSQL through a local SMTP sink.

A fresh PostgreSQL database of its own (made on `TIMEBOK_BENCH_PG`, dropped at the end; skipped with a note when
PostgreSQL does not answer), clock frozen at 2026-11-25 09:00. N reminders (default 20 000,
`TIMEBOK_BENCH_REMINDERS`), each to its own address, fall due at once on two running instances, started first with
`--smtp` pointed at an aiosmtpd sink in a process of its own, which notes each message's Message-ID: the reminders
are written in one transaction, so they all fall due at its commit, as a real morning's reminders fall due on running
servers. Prints the time from that commit until the database says every one is sent, the rate, the messages the
sink got and how many of them were a Message-ID it had seen before (goal: 0), and the figure extrapolated to issue
25's 100 000 (goal: ≤ 2 minutes), linear since each message costs the same claim share, send and mark.

The machine is shared, so it also prints where the CPU went, in milliseconds per message: the two instances, the
sink, PostgreSQL's backends serving this database, and the whole machine (the rest is other work), with the load
average. While they send, it watches the sink's list of ids (a file), not the database, and asks the database only
once the sink has them all: counting 100 000 rows five times a second would itself be a share of PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _postgres import BenchDatabase  # noqa: E402
from _servers import NOW, ServerProcess, exit_on_sigterm, free_port, platform_line, table  # noqa: E402

COUNT = int(os.environ.get("TIMEBOK_BENCH_REMINDERS", "20000"))
INSTANCES = 2
TARGET = 100_000
GOAL_SECONDS = 120.0

_SINK = r"""
import sys, time
from aiosmtpd.controller import Controller
out = open(sys.argv[2], "a", buffering=1)
class Handler:
    async def handle_DATA(self, server, session, envelope):
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                out.write(line[11:].strip().decode() + "\n")
                break
        return "250 OK"
controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


def _prepare(url: str) -> None:
    """The schema and the demo offices, before the instances start."""
    from timebok.backend.server import open_database
    from timebok.domain import clock

    clock.set_now(NOW)
    open_database(url, demo=True).dispose()


def _fill(url: str, count: int) -> float:
    """Writes the reminders in one transaction, so they all fall due at its commit; when it committed (perf_counter)."""
    from timebok.backend import notices
    from timebok.backend.fhir import to_storage
    from timebok.backend.server import open_database

    db = open_database(url, demo=True)
    moment = to_storage(datetime.fromisoformat(NOW))
    with db.writing() as session:
        for first in range(0, count, 5000):
            notices.insert_rows(session, _rows(first, min(first + 5000, count), moment))
    committed = time.perf_counter()
    db.dispose()
    return committed


def _rows(first: int, end: int, moment: datetime) -> list[dict[str, object]]:
    return [
        {
            "dedup_key": f"reminder:{n}:email:person{n}@innbygger.example",
            "event": "reminder",
            "channel": "email",
            "recipient": f"person{n}@innbygger.example",
            "patient_id": 1,
            "organization_id": 1,
            "appointment_id": None,
            "subject": "Påminnelse om time",
            "body": f"Du har time hos Fjordsiden legekontor (melding {n}). Les mer i innboksen din i timebok.",
            "created": moment,
            "due": moment,
            "state": "pending",
            "reason": None,
            "attempts": 0,
        }
        for n in range(first, end)
    ]


def _sent(url: str) -> int:
    import psycopg
    from sqlalchemy.engine import make_url

    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as connection:
        return connection.execute("SELECT count(*) FROM outbox_message WHERE state = 'sent'").fetchone()[0]


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system), 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _machine_cpu_seconds() -> float:
    """The whole machine's busy CPU time so far (every core; idle and iowait left out)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / _TICK


def _backends(url: str) -> list[int]:
    """The process ids of PostgreSQL's backends connected to this database (on this machine)."""
    import psycopg
    from sqlalchemy.engine import make_url

    made = make_url(url)
    libpq = made.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as connection:
        rows = connection.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (made.database,)).fetchall()
    return [row[0] for row in rows]


class _Ids:
    """The sink's file of Message-IDs, read on from where the last look ended."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.lines = path, 0, 0

    def count(self) -> int:
        try:
            with self.path.open("rb") as file:
                file.seek(self.offset)
                chunk = file.read()
        except FileNotFoundError:
            return 0
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        self.lines += chunk.count(b"\n", 0, end)
        return self.lines


def main() -> int:
    exit_on_sigterm()
    print(platform_line())
    database, note = BenchDatabase.create()
    print(note)
    if database is None:
        print("Skipped: the benchmark needs PostgreSQL (FOR UPDATE SKIP LOCKED over two instances).")
        return 0
    folder = Path(tempfile.mkdtemp(prefix="timebok-bench-notices-"))
    sink_port, ids = free_port(), folder / "message-ids.txt"
    sink = subprocess.Popen(
        [sys.executable, "-c", _SINK, str(sink_port), str(ids)], stdout=subprocess.PIPE, start_new_session=True
    )
    servers: list[ServerProcess] = []
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == b"ready"
        _prepare(database.url)
        script = Path(sys.executable).with_name("timebok")
        begun = time.perf_counter()
        for n in range(INSTANCES):
            port = free_port()
            argv = [str(script), "serve", "--db", database.url, "--port", str(port), "--smtp", f"smtp://127.0.0.1:{sink_port}"]
            servers.append(ServerProcess(f"instance {n + 1}", argv, port, "/fhir/metadata", folder / f"serve-{n}.log").start())
        ready = time.perf_counter() - begun
        time.sleep(3)  # past their first rounds (the start-up's sweep of unanswered requests, free times made)
        before = time.perf_counter()
        started = _fill(database.url, COUNT)
        print(f"{COUNT} reminders written to the outbox in one transaction in {started - before:.1f} s")
        serving_cpu = {server.name: _cpu_seconds(server.process.pid) for server in servers if server.process}
        sink_cpu, machine_cpu, backends_before = _cpu_seconds(sink.pid), _machine_cpu_seconds(), _backends(database.url)
        pg_cpu = {pid: _cpu_seconds(pid) for pid in backends_before}
        load_before = os.getloadavg()
        ids_seen = _Ids(ids)
        while ids_seen.count() < COUNT or _sent(database.url) < COUNT:
            if time.perf_counter() - started > 1800:
                print(f"Gave up after 30 minutes with {ids_seen.lines} of {COUNT} at the sink")
                return 1
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        # CPU from the commit that made them due until all were sent.
        instances = sum(_cpu_seconds(server.process.pid) - serving_cpu[server.name] for server in servers if server.process)
        sink_used = _cpu_seconds(sink.pid) - sink_cpu
        postgres = sum(_cpu_seconds(pid) - pg_cpu.get(pid, 0.0) for pid in _backends(database.url))
        machine = _machine_cpu_seconds() - machine_cpu
        load_after = os.getloadavg()
        for server in servers:
            server.stop()
        time.sleep(0.5)  # the sink writes each id as it takes the message; let the last lines land
        received = ids.read_text().split()
        twice = len(received) - len(set(received))
        extrapolated = seconds * TARGET / COUNT
        rows = [
            ["reminders due at once", COUNT, "", ""],
            ["instances (PostgreSQL, SKIP LOCKED)", INSTANCES, "", ""],
            ["instances started (before the reminders, not counted)", f"{ready:.1f} s", "", ""],
            ["all sent after (from the commit that made them due)", f"{seconds:.1f} s", "", ""],
            ["rate", f"{COUNT / seconds:.0f}/s", "", ""],
            ["messages the sink got / distinct", f"{len(received)} / {len(set(received))}", "", ""],
            ["sent twice", twice, "0", "met" if twice == 0 else "NOT met"],
            [
                f"{TARGET:,} extrapolated (linear)".replace(",", " "),
                f"{extrapolated:.0f} s",
                f"≤ {GOAL_SECONDS:.0f} s",
                f"{extrapolated / GOAL_SECONDS:.2f}",
            ],
        ]
        print(table("Reminders through SMTP over 2 instances", ["figure", "measured", "goal", "ratio"], rows))
        per = 1000 / COUNT
        split = [
            ["the two instances", f"{instances:.1f} s", f"{instances * per:.2f} ms"],
            ["the SMTP sink", f"{sink_used:.1f} s", f"{sink_used * per:.2f} ms"],
            ["PostgreSQL (this database's backends)", f"{postgres:.1f} s", f"{postgres * per:.2f} ms"],
            ["whole machine (all of it, others' work too)", f"{machine:.1f} s", f"{machine * per:.2f} ms"],
            ["… of it neither ours nor PostgreSQL's", f"{machine - instances - sink_used - postgres:.1f} s", ""],
        ]
        notes = [
            f"load average {load_before[0]:.1f} at the commit, {load_after[0]:.1f} at the end; {os.cpu_count()} cores",
            f"{seconds:.1f} s of wall time on {os.cpu_count()} cores is {seconds * (os.cpu_count() or 1):.0f} CPU seconds",
        ]
        print(table("CPU while sending (from the commit until all sent)", ["who", "CPU", "per message"], split, notes))
        return 0 if twice == 0 and len(set(received)) == COUNT else 1
    finally:
        for server in servers:
            server.stop()
        sink.terminate()
        sink.wait(5)
        database.drop()


if __name__ == "__main__":
    sys.exit(main())
