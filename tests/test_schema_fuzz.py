"""A bounded schemathesis run against the real backend on SQLite: generated requests, valid and not, never a 5xx,
and a refused request never changes anything."""

from __future__ import annotations

import time

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy import func, select

from tests.conftest import FJORD_STAFF, KARI, bearer
from timebok.backend import schema
from timebok.backend.app import create_app
from timebok.backend.server import open_database

# Per operation, token and mode: ~21 operations × 2 tokens × 2 modes × 10 ≈ 800 requests, well under a minute.
EXAMPLES = 10


def _state(db) -> tuple:
    """A cheap fingerprint of everything a write can change (audit rows aside: a refused read may be audited)."""
    with db.reading() as session:
        return tuple(
            session.execute(
                select(
                    select(func.count(), func.coalesce(func.sum(schema.Appointment.version), 0))
                    .select_from(schema.Appointment)
                    .subquery(),
                    select(func.coalesce(func.sum(schema.Slot.version), 0)).scalar_subquery(),
                    select(func.count()).select_from(schema.Communication).scalar_subquery(),
                    select(func.count()).select_from(schema.AppointmentResponse).scalar_subquery(),
                    select(func.count()).select_from(schema.Patient).scalar_subquery(),
                    select(func.count()).select_from(schema.AccessToken).scalar_subquery(),
                )
            ).one()
        )


def test_the_published_schema_is_generated_from_the_typed_bodies(db_path):
    db = open_database(db_path, demo=True)
    try:
        api = schemathesis.openapi.from_asgi("/fhir/openapi.json", create_app(db, demo=True))
        document = api.raw_schema
    finally:
        db.dispose()
    body = document["paths"]["/fhir/Appointment"]["post"]["requestBody"]["content"]["application/fhir+json"]["schema"]
    assert body["additionalProperties"] is False and "cancelationReason" in body["properties"]
    assert "/fhir/AppointmentResponse" in document["paths"] and "/health" in document["paths"]
    # Every FHIR answer, and every refusal, is declared as sent: application/fhir+json (an OperationOutcome for a
    # refusal, a 400 for a bad parameter: no FastAPI 422).
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            if path != "/health":
                assert set(responses["4XX"]["content"]) == {"application/fhir+json"}, (method, path)
            if path.startswith("/fhir/$bulk-publish"):  # SMART Scheduling Links: a JSON manifest and NDJSON files
                assert set(responses["200"]["content"]) == {
                    "application/json" if path.endswith("publish") else "application/fhir+ndjson"
                }
            elif path.startswith("/fhir/") or path == "/health":
                assert set(responses["200"]["content"]) == {"application/fhir+json"}, (method, path)


def test_generated_requests_never_get_a_5xx_and_refused_ones_change_nothing(db_path):
    db = open_database(db_path, demo=True)
    app = create_app(db, demo=True)
    api = schemathesis.openapi.from_asgi("/fhir/openapi.json", app)
    failures: list[str] = []
    sent = 0
    started = time.monotonic()
    try:
        for result in api.get_all_operations():
            operation = result.ok()
            for token, mode in (
                (KARI, GenerationMode.POSITIVE),
                (KARI, GenerationMode.NEGATIVE),
                (FJORD_STAFF, GenerationMode.POSITIVE),
                (FJORD_STAFF, GenerationMode.NEGATIVE),
            ):

                @settings(
                    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
                )
                @given(case=operation.as_strategy(mode))
                def run(case) -> None:
                    nonlocal sent
                    before = _state(db)
                    response = case.call(headers=bearer(token))  # noqa: B023 (called within this iteration)
                    sent += 1
                    try:  # the media type sent is one the schema declares (application/fhir+json, not application/json)
                        case.validate_response(response, checks=[schemathesis.checks.content_type_conformance])
                    except Exception as mismatch:  # noqa: BLE001 - schemathesis raises its own failure types
                        failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: {mismatch}"[:300])
                    if response.status_code >= 500:
                        failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:200]}")
                    elif response.status_code >= 400 and _state(db) != before:
                        failures.append(f"{case.method} {case.formatted_path} → {response.status_code} yet changed the database")

                try:
                    run()
                except Unsatisfiable:  # nothing to make negative (e.g. /fhir/metadata takes no input)
                    pass
    finally:
        db.dispose()
    took = time.monotonic() - started
    assert not failures, "\n".join(failures[:20])
    assert sent >= 200, sent
    print(f"schemathesis: {sent} requests in {took:.1f} s")
