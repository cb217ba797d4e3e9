"""Changing a time against booking one, and 32 racers changing times, over real HTTP on SQLite and PostgreSQL.

1. The desk books 100 times (`POST Appointment` status `booked`), then moves each to another free time
   (`POST Appointment` `booked` with R5's `replaces`: the new one booked, the old one cancelled in one
   transaction): p50 and p99 of each, one request at a time.
2. 32 racers, each moving its own booked time at once (throughput, p50/p99), then 32 racers all moving ONE
   time: exactly one must win. The database is checked afterwards: every moved time has exactly one active
   time left (the new or the old), never none and never two.

Run from the repository root:  .venv/bin/python -P bench/appointment_life.py
PostgreSQL from TIMEBOK_BENCH_PG (default the tests' server); without it only SQLite is measured, and it says so.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _postgres import BenchDatabase  # noqa: E402
from _servers import exit_on_sigterm, ignore_interrupts, median, percentile, platform_line, table, timebok_server  # noqa: E402

REPLACES = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.replaces"
STAFF = {"Authorization": "Bearer demo-staff-fjordsiden"}
PATIENTS = ("1", "2", "3")  # Fjordsiden's patients; each time is far from the others of the same patient
SEQUENTIAL = 100
RACERS = 32


def body(slot_id: str, patient: str, replaces: str | None = None) -> dict:
    resource = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"}],
    }
    if replaces:
        resource["extension"] = [{"url": REPLACES, "valueReference": {"reference": f"Appointment/{replaces}"}}]
    return resource


async def free_slots(client: httpx.AsyncClient, needed: int) -> list[str]:
    """Free times in December of every Fjordsiden timebook, far past the 24-hour deadline."""
    services = (await client.get("/HealthcareService", params={"organization": "Organization/1"}, headers=STAFF)).json()
    found: list[str] = []
    for service in services.get("entry", []):
        books = (
            await client.get("/Schedule", params={"actor": f"HealthcareService/{service['resource']['id']}"}, headers=STAFF)
        ).json()
        for book in books.get("entry", []):
            params = {"schedule": f"Schedule/{book['resource']['id']}", "status": "free", "start": "ge2026-12-01", "_count": 1000}
            slots = (await client.get("/Slot", params=params, headers=STAFF)).json()
            found += [e["resource"]["id"] for e in slots.get("entry", [])]
    if len(found) < needed:
        raise RuntimeError(f"only {len(found)} free times, {needed} needed")
    return found


async def timed(client: httpx.AsyncClient, payload: dict) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = await client.post("/Appointment", json=payload, headers=STAFF)
    return (time.perf_counter() - started) * 1000, response


async def measure(base: str) -> dict:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        slots = await free_slots(client, 2 * SEQUENTIAL + 3 * RACERS + RACERS + 1)
        # Spread over the patients, taking times in turn so one patient's times do not overlap each other.
        booking_ms, change_ms, booked = [], [], []
        for i in range(SEQUENTIAL):
            ms, response = await timed(client, body(slots.pop(0), PATIENTS[i % len(PATIENTS)]))
            assert response.status_code == 201, response.text
            booking_ms.append(ms)
            booked.append(response.json())
        for old in booked:
            patient = old["participant"][0]["actor"]["reference"].split("/")[1]
            ms, response = await timed(client, body(slots.pop(), patient, old["id"]))
            assert response.status_code == 201, response.text
            change_ms.append(ms)

        # 32 racers, each moving its own time.
        own = []
        for i in range(RACERS):
            _, response = await timed(client, body(slots.pop(0), PATIENTS[i % len(PATIENTS)]))
            own.append(response.json())
        clients = [httpx.AsyncClient(base_url=base, timeout=60) for _ in range(RACERS)]
        try:
            await asyncio.gather(*(c.get("/metadata") for c in clients))
            started = time.perf_counter()
            results = await asyncio.gather(
                *(
                    timed(c, body(slots.pop(), old["participant"][0]["actor"]["reference"].split("/")[1], old["id"]))
                    for c, old in zip(clients, own)
                )
            )
            race_seconds = time.perf_counter() - started
            race_ms = [ms for ms, _ in results]
            own_statuses = Counter(r.status_code for _, r in results)
            # 32 racers, one time.
            _, response = await timed(client, body(slots.pop(0), "1"))
            one = response.json()
            contested = await asyncio.gather(*(timed(c, body(slots.pop(), "1", one["id"])) for c in clients))
            one_statuses = Counter(r.status_code for _, r in contested)
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))

        # Every moved time: exactly one active time left among it and its changes.
        wrong = 0
        for old in [*booked, *own, one]:
            mine = await client.get(f"/Appointment/{old['id']}", headers=STAFF)
            patient = old["participant"][0]["actor"]["reference"]
            listed = (await client.get("/Appointment", params={"patient": patient, "_count": 1000}, headers=STAFF)).json()
            family = [
                e["resource"]["status"]
                for e in listed.get("entry", [])
                if e["resource"]["id"] == old["id"]
                or any(
                    x.get("valueReference", {}).get("reference") == f"Appointment/{old['id']}"
                    for x in e["resource"].get("extension", [])
                )
            ]
            wrong += sum(s == "booked" for s in family) != 1 or mine.status_code != 200
    return {
        "booking": booking_ms,
        "change": change_ms,
        "race": race_ms,
        "race_per_s": RACERS / race_seconds,
        "own": own_statuses,
        "one": one_statuses,
        "wrong": wrong,
    }


def main() -> int:
    exit_on_sigterm()
    print(platform_line())
    workdir = Path(tempfile.mkdtemp(prefix="timebok-life-"))
    pg, note = BenchDatabase.create()
    results: dict[str, dict] = {}
    try:
        targets = [("SQLite", str(workdir / "life.db"))] + ([("PostgreSQL", pg.url)] if pg else [])
        for name, db in targets:
            with timebok_server(db, workdir / f"{name}.log") as server:  # type: ignore[arg-type]
                results[name] = asyncio.run(measure(server.root + "/fhir"))
    except KeyboardInterrupt:
        print("\nInterrupted; stopping servers and removing temp files.", file=sys.stderr)
        return 130
    finally:
        ignore_interrupts()
        if pg is not None:
            pg.drop()
        shutil.rmtree(workdir, ignore_errors=True)

    rows = []
    for name, r in results.items():
        for kind in ("booking", "change"):
            rows.append([name, f"desk {kind}, one at a time", median(r[kind]), percentile(r[kind], 0.99), len(r[kind])])
        rows.append([name, f"{RACERS} racers, each its own time", median(r["race"]), percentile(r["race"], 0.99), RACERS])
    print(
        table(
            "Changing a time («Endre time») against booking one, POST Appointment over loopback HTTP",
            ["database", "what", "p50 ms", "p99 ms", "n"],
            rows,
            [f"PostgreSQL: {note}" if pg else f"PostgreSQL not measured: {note}"],
        )
    )
    failed = False
    for name, r in results.items():
        one = dict(r["one"])
        print(
            f"{name}: {RACERS} racers moving their own times: {dict(r['own'])} ({r['race_per_s']:.0f} changes/s); "
            f"{RACERS} racers moving one time: {one}; times left with other than exactly one active: {r['wrong']}"
        )
        failed |= one.get(201) != 1 or r["wrong"] != 0 or dict(r["own"]) != {201: RACERS}
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
