"""Booking for someone else: whom a citizen may act for (GET /fhir/Patient), and support's «why not?»."""

from __future__ import annotations

from fastapi import APIRouter, Request

from timebok.backend import audit, fhir, representation, schema
from timebok.backend.deps import CurrentPrincipal, DatabaseDep, patient_read
from timebok.backend.http import FhirResponse, fhir_base, search_params
from timebok.backend.outcome import forbidden

router = APIRouter(prefix="/fhir")
support_router = APIRouter(prefix="/support")


@router.get("/Patient")
def search_patients_represented(request: Request, who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    """A citizen's own Patient first, then everyone they may act for, each with the relation as a contained
    RelatedPerson; nobody else, and never a person with a protected address."""
    if who.is_staff:
        raise forbidden("Staff find patients with POST /fhir/Patient/_search")
    search_params(request, set())  # no parameters: an unknown one is a 400, not a filter silently ignored
    if who.patient_id is None:
        raise forbidden("A support agent sees a citizen's people only while acting as that citizen")
    with patient_read(db, who) as session:
        me = session.get_one(schema.Patient, who.patient_id)
        people = [p for p in representation.everyone(session, who) if p.verdict.may_read and p.patient is not None]
        entries = [fhir.patient(me)] + [
            fhir.represented_patient(p.patient, me, p.kind.value, p.verdict.access.value, p.verdict.rule.value)
            for p in people
            if p.patient is not None
        ]
        audit.record(session, who, [me.id] + [p.patient.id for p in people if p.patient is not None], "read", "Patient search")
        base = fhir_base(request)
        return FhirResponse(fhir.bundle(base, entries, total=len(entries), self_url=f"{base}/Patient"))


@support_router.get("/representation")
def explain_representation(who: CurrentPrincipal, db: DatabaseDep) -> FhirResponse:
    """For a support agent acting as a citizen: everyone the register ties to the citizen, with what they may do and
    the rule that decided («why can't she book for her son?»). A protected person is left out here too."""
    if who.agent is None or who.patient_id is None:
        raise forbidden("Only a support agent acting as a citizen may ask why")
    with db.writing() as session:  # the agent's read is audited
        people = representation.everyone(session, who)
        audit.record(
            session, who, [who.patient_id] + [p.patient.id for p in people if p.patient is not None], "read", "Representation"
        )
        return FhirResponse(
            {
                "people": [
                    {
                        "name": p.name,
                        "age": p.age,
                        "relation": p.kind.value,
                        "access": p.verdict.access.value,
                        "rule": p.verdict.rule.value,
                        "patient": f"Patient/{p.patient.id}" if p.patient is not None else None,
                    }
                    for p in people
                ]
            }
        )
