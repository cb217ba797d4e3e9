"""/metrics as Prometheus scrapes it: requests per route template, bookings, cancels, answers and rule refusals counted,
open to this machine and otherwise only with the token; /ready says whether to send traffic here."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from tests.conftest import FJORD_STAFF, KARI, OLA, bearer
from tests.fhir_validate import answer, booking_request, fhir_json, free_slots, outcome, timebook
from timebok.backend.app import create_app
from timebok.backend.db import Database


def value(exposition: str, name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist yet: a counter not yet incremented)."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


async def scrape(api: httpx.AsyncClient) -> str:
    response = await api.get("http://testserver/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_bookings_cancels_answers_and_refusals_are_counted_and_routes_are_templates(api):
    schedule = await timebook(api, KARI, 1, "Lab")
    first, second = [s["id"] for s in await free_slots(api, KARI, schedule, "2026-12-03", count=2)]
    before = await scrape(api)

    booked = fhir_json(await api.post("/Appointment", json=booking_request(first, 1), headers=bearer(KARI)), 201)
    outcome(
        await api.post("/Appointment", json=booking_request(first, 2), headers=bearer(OLA)), 409, "conflict"
    )  # taken just now
    fhir_json(
        await api.post(
            "/AppointmentResponse", json=answer(booked["id"], "declined", "Legen er syk"), headers=bearer(FJORD_STAFF)
        ),
        201,
    )
    again = fhir_json(await api.post("/Appointment", json=booking_request(second, 1), headers=bearer(KARI)), 201)
    cancel = [{"op": "replace", "path": "/status", "value": "cancelled"}]
    patch = await api.patch(
        f"/Appointment/{again['id']}",
        json=cancel,
        headers=bearer(KARI) | {"If-Match": 'W/"1"', "Content-Type": "application/json-patch+json"},
    )
    fhir_json(patch)
    after = await scrape(api)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("timebok_bookings_total") == 2
    assert grew("timebok_rejections_total", status="409", rule="conflict") == 1  # the slot is no longer free
    assert grew("timebok_answers_total", answer="declined") == 1
    assert grew("timebok_cancels_total", by="patient") == 1
    # Durations per route template: the two bookings under POST /fhir/Appointment, the cancel under its template.
    assert grew("timebok_http_request_duration_seconds_count", method="POST", route="/fhir/Appointment", status="201") == 2
    assert grew("timebok_http_request_duration_seconds_count", method="PATCH", route="/fhir/Appointment/{id_}", status="200") == 1
    assert f"/Appointment/{again['id']}" not in after and "Patient/1" not in after  # no id in any label
    # An unknown path is one series, not one per path a scanner tries.
    await api.get("/no/such/path/4711")
    assert "/no/such/path" not in await scrape(api)


async def test_the_pool_and_generation_are_measured(api):
    exposition = await scrape(api)
    assert value(exposition, "timebok_db_connections_open") >= 1  # this app's pool has connections open
    for name in ("timebok_outbox_lag_seconds", "timebok_outbox_failures_total", "timebok_changes_total", "timebok_holds_total"):
        assert f"# HELP {name}" in exposition, name  # defined for issues 24 and 25, which call their hooks


@pytest.fixture
def shielded(database: Database, monkeypatch) -> httpx.AsyncClient:
    monkeypatch.setenv("TIMEBOK_METRICS_TOKEN", "s3cret-scrape-token")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(database, demo=True), client=("10.1.2.3", 4711)))


async def test_a_caller_elsewhere_needs_the_token_and_one_behind_a_local_proxy_too(database, shielded):
    async with shielded as far:
        refused = await far.get("http://testserver/metrics")
        assert "TIMEBOK_METRICS_TOKEN" in outcome(refused, 403, "forbidden")
        assert (await far.get("http://testserver/metrics", headers=bearer("wrong"))).status_code == 403
        allowed = await far.get("http://testserver/metrics", headers=bearer("s3cret-scrape-token"))
        assert allowed.status_code == 200 and "timebok_bookings_total" in allowed.text
    # On this machine, straight: open. Through a proxy on this machine (it says whom it forwards): closed.
    local = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(database, demo=True), client=("127.0.0.1", 4711)))
    async with local:
        assert (await local.get("http://testserver/metrics")).status_code == 200
        forwarded = await local.get("http://testserver/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert forwarded.status_code == 403


async def test_ready_says_ready_on_a_migrated_database_and_not_ready_on_an_older_schema(api, database):
    ready = await api.get("http://testserver/ready")
    body = ready.json()
    assert ready.status_code == 200 and body["status"] == "ready" and body["schema"]["current"] == body["schema"]["expected"]
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        stale = await api.get("http://testserver/ready")
        assert stale.status_code == 503 and stale.json()["schema"]["current"] == "0001"
        assert stale.headers["retry-after"] == "5"
        assert (await api.get("http://testserver/health")).status_code == 200  # alive all the same
    finally:
        with database.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": body["schema"]["expected"]})


async def test_holds_their_requests_and_changes_are_counted_apart_from_plain_bookings(api):
    from timebok.domain import appointment_life as life

    schedule = await timebook(api, KARI, 1, "Lab")
    first, second, third = [s["id"] for s in await free_slots(api, KARI, schedule, "2026-12-03", count=3)]
    before = await scrape(api)
    hold = fhir_json(
        await api.post("/Appointment", json=booking_request(first, 1) | {"status": "proposed"}, headers=bearer(KARI)), 201
    )
    sent = await api.put(
        f"/Appointment/{hold['id']}", json=hold | {"status": "pending"}, headers=bearer(KARI) | {"If-Match": 'W/"1"'}
    )
    fhir_json(sent)  # the held time, now requested: a booking
    fhir_json(await api.post("/AppointmentResponse", json=answer(hold["id"], "accepted"), headers=bearer(FJORD_STAFF)), 201)
    change = booking_request(second, 1) | {
        "extension": [{"url": life.REPLACES_URL, "valueReference": {"reference": f"Appointment/{hold['id']}"}}]
    }
    fhir_json(await api.post("/Appointment", json=change, headers=bearer(KARI)), 201)
    fhir_json(await api.post("/Appointment", json=booking_request(third, 2), headers=bearer(OLA)), 201)
    after = await scrape(api)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert (grew("timebok_holds_total"), grew("timebok_changes_total"), grew("timebok_bookings_total")) == (1, 1, 2)
    assert grew("timebok_answers_total", answer="accepted") == 1
