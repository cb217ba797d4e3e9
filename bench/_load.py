"""Load generation for the benchmarks: a lean keep-alive HTTP/1.1 client, booking and browsing loops, server CPU.

The load generator shares the machine's cores with the servers, so it must cost little: httpx spends
about a millisecond of CPU per request, which at hundreds of requests a second is the bench measuring
itself. This client writes the request bytes itself and reads the answer by Content-Length (all the
backend sends), on one connection per simulated user, to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass, field

FHIR_JSON = "application/fhir+json"


class Wire:
    """One keep-alive HTTP/1.1 connection to a loopback server."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self._auth = f"Authorization: Bearer {token}\r\n".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        if self._writer is None:
            await self._connect()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()).encode()
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: {FHIR_JSON}\r\n".encode() + self._auth + extra
        )
        if body:
            head += f"Content-Type: {FHIR_JSON}\r\nContent-Length: {len(body)}\r\n".encode()
        self._writer.write(head + b"\r\n" + body)
        status_line = await self._reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        answer: dict[str, str] = {}
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            answer[name.strip().lower()] = value.strip()
        length = int(answer.get("content-length", "0"))
        data = await self._reader.readexactly(length) if length else b""
        if answer.get("connection", "").lower() == "close":
            await self.close()
        return status, answer, data

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
        self._reader = self._writer = None


def booking_body(slot_id: int, patient: str) -> bytes:
    return json.dumps(
        {
            "resourceType": "Appointment",
            "status": "pending",
            "slot": [{"reference": f"Slot/{slot_id}"}],
            "participant": [{"actor": {"reference": patient}, "status": "accepted"}],
            "description": "Benchmark",
        }
    ).encode()


async def whoami(wire: Wire) -> str:
    status, _, data = await wire.request("GET", "/auth/userinfo")
    if status != 200:
        raise RuntimeError(f"GET /auth/userinfo: {status}")
    return json.loads(data)["patient"]


@dataclass
class Tally:
    """Latencies (ms) and statuses of one kind of request."""

    ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, started: float, status: int) -> None:
        self.ms.append((time.perf_counter() - started) * 1000)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def count(self, status: int) -> int:
        return self.statuses.get(status, 0)


@dataclass
class LoadRun:
    seconds: float
    bookings: Tally
    months: Tally
    cpu_seconds: float  # the servers' own CPU during the run
    generator_cpu: float = 0.0  # this load generator's own CPU during the run
    postgres_cpu: float = 0.0  # every PostgreSQL process's CPU (0 on SQLite or where /proc does not show them)
    machine_busy: float = 0.0  # CPU seconds the whole machine spent busy (all processes, all cores)


async def run_load(
    ports: list[int],
    tokens: list[str],
    slots: list[int],
    month_targets: list[str],
    *,
    bookers: int,
    browsers: int,
    seconds: float,
    pids: list[int],
) -> LoadRun:
    """`bookers` clients book distinct slots from `slots` while `browsers` read months (with If-None-Match,
    as the app does), both spread over the servers' ports; stops when the slots or the time run out."""
    slot_iter = iter(slots)
    bookings, months = Tally(), Tally()
    stop = asyncio.Event()
    go = asyncio.Event()
    ready: list[int] = []

    async def booker(number: int) -> None:
        wire = Wire(ports[number % len(ports)], tokens[number % len(tokens)])
        try:
            patient = await whoami(wire)
            ready.append(number)
            await go.wait()
            for slot_id in slot_iter:
                if stop.is_set():
                    break
                started = time.perf_counter()
                status, _, _ = await wire.request("POST", "/fhir/Appointment", booking_body(slot_id, patient))
                bookings.add(started, status)
            stop.set()  # out of slots: the run is over
        finally:
            await wire.close()

    async def browser(number: int) -> None:
        wire = Wire(ports[number % len(ports)], tokens[number % len(tokens)])
        rng = random.Random(number)
        tags: dict[str, str] = {}
        try:
            await whoami(wire)
            ready.append(-1 - number)
            await go.wait()
            while not stop.is_set():
                target = rng.choice(month_targets)
                started = time.perf_counter()
                status, headers, _ = await wire.request(
                    "GET", target, headers={"If-None-Match": tags[target]} if target in tags else None
                )
                months.add(started, status)
                if status == 200 and "etag" in headers:
                    tags[target] = headers["etag"]
        finally:
            await wire.close()

    tasks = [asyncio.create_task(booker(i)) for i in range(bookers)] + [asyncio.create_task(browser(i)) for i in range(browsers)]
    while len(ready) < bookers + browsers:
        if any(t.done() for t in tasks):
            await asyncio.gather(*tasks)  # raises the failure
        await asyncio.sleep(0.01)
    cpu_before = sum(process_cpu(pid) for pid in pids)
    generator_before, postgres_before, machine_before = process_cpu(os.getpid()), postgres_cpu(), machine_busy()
    started = time.perf_counter()
    go.set()
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        stop.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    return LoadRun(
        elapsed,
        bookings,
        months,
        sum(process_cpu(pid) for pid in pids) - cpu_before,
        process_cpu(os.getpid()) - generator_before,
        postgres_cpu() - postgres_before,
        machine_busy() - machine_before,
    )


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc), 0 where unknown."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_busy() -> float:
    """CPU seconds all cores have spent not idle since boot (Linux /proc/stat), 0 where unknown."""
    try:
        values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (sum(values[:8]) - values[3] - values[4]) / _TICKS  # user..steal, less idle and iowait


def postgres_cpu() -> float:
    """CPU seconds used so far by the processes named postgres on this machine (the database's share of a run)."""
    total = 0.0
    for name in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if name.isdigit():
            try:
                stat = open(f"/proc/{name}/stat").read()
            except OSError:
                continue
            if "(postgres)" in stat:
                fields = stat.rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total
