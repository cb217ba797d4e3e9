"""The calendar's month read answers the same whether the caller's token is new or known (the short way past the router,
issue 30): the same bytes and tag, 304 for a held tag, a fresh month after a booking, errors as OperationOutcome, and
counted under its route in /metrics."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import KARI, OLA, bearer
from tests.fhir_validate import booking_request, fhir_json, matches, outcome, timebook

MONTH = [("status", "free"), ("start", "ge2026-12-01"), ("start", "lt2027-01-01"), ("_count", "1000")]


def _month(schedule: str) -> list[tuple[str, str]]:
    return [("schedule", f"Schedule/{schedule}"), *MONTH]


def _slot_reads(exposition: str, status: str) -> float:
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if (
                sample.name == "timebok_http_request_duration_seconds_count"
                and sample.labels.get("route") == "/fhir/Slot"
                and sample.labels.get("status") == status
            ):
                return sample.value
    return 0.0


async def test_a_known_caller_reads_the_same_month_a_new_one_does_and_sees_a_booking_at_once(api: httpx.AsyncClient) -> None:
    schedule = await timebook(api, KARI, 1, "Lab")  # Kari's token is known from here on
    first = await api.get("/Slot", params=_month(schedule), headers=bearer(OLA))  # Ola's is new: looked up first
    again = await api.get("/Slot", params=_month(schedule), headers=bearer(OLA))  # now known
    kari = await api.get("/Slot", params=_month(schedule), headers=bearer(KARI))
    month = fhir_json(first)
    assert len(matches(month)) > 100
    assert again.content == first.content == kari.content
    assert again.headers["etag"] == first.headers["etag"] and again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["x-request-id"] != first.headers["x-request-id"]

    held = await api.get("/Slot", params=_month(schedule), headers=bearer(KARI) | {"If-None-Match": again.headers["etag"]})
    assert held.status_code == 304 and held.headers["etag"] == again.headers["etag"] and held.content == b""

    # Booked by Kari: Ola's next read, the cached month's tag moved, no longer offers the time.
    taken = matches(month)[0]["id"]
    fhir_json(await api.post("/Appointment", json=booking_request(taken, 1), headers=bearer(KARI)), 201)
    after = await api.get("/Slot", params=_month(schedule), headers=bearer(OLA) | {"If-None-Match": again.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != again.headers["etag"]
    assert taken not in [slot["id"] for slot in matches(fhir_json(after))]
    assert len(matches(fhir_json(after))) == len(matches(month)) - 1


async def test_a_known_caller_s_bad_month_read_is_an_operation_outcome_and_every_read_is_counted(
    api: httpx.AsyncClient,
) -> None:
    schedule = await timebook(api, KARI, 1, "Lab")
    before = (await api.get("http://testserver/metrics")).text
    fhir_json(await api.get("/Slot", params=_month(schedule), headers=bearer(KARI)))
    fhir_json(await api.get("/Slot", params=_month(schedule), headers=bearer(KARI)))
    wrong = [("schedule", f"Schedule/{schedule}"), ("status", "vacant")]
    assert "status must be a Slot status" in outcome(await api.get("/Slot", params=wrong, headers=bearer(KARI)), 400, "invalid")
    assert "needs schedule" in outcome(await api.get("/Slot", params=MONTH, headers=bearer(KARI)), 400, "invalid")
    outcome(await api.get("/Slot", params=_month(schedule), headers=bearer("no-such-token")), 401)
    after = (await api.get("http://testserver/metrics")).text
    assert _slot_reads(after, "200") - _slot_reads(before, "200") == 2
    assert _slot_reads(after, "400") - _slot_reads(before, "400") == 2
    assert _slot_reads(after, "401") - _slot_reads(before, "401") == 1
