"""Whom a signed-in citizen may act for, decided on the server from the register (never from what a client says)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebok.backend import schema
from timebok.backend.auth import Principal
from timebok.backend.outcome import FhirError, forbidden
from timebok.backend.register import Register, open_register
from timebok.domain.clock import OSLO, now
from timebok.domain.representation import Kind, Protection, Verdict, age, decide

NOT_REPRESENTATIVE = "not-representative"  # nobody the caller may act for (whether the person exists is not said)
READ_ONLY = "read-only"  # the caller may see the person's times but not book or cancel them


@dataclass(frozen=True)
class Represented:
    """A person the register ties to the caller, with the rules' verdict; `patient` is None when they have no
    record in this service (no GP office here), so there is nothing to book or read for them."""

    given: str
    family: str
    age: int
    kind: Kind
    verdict: Verdict
    patient: schema.Patient | None

    @property
    def name(self) -> str:
        return f"{self.given} {self.family}"


def everyone(session: Session, who: Principal, register: Register | None = None) -> list[Represented]:
    """Everyone the register ties to the citizen `who`, each with its verdict (refusals too: support's «why not?»).
    Protected persons are left out altogether: not even their refusal may show that they exist."""
    if who.is_staff or who.patient_id is None:
        return []
    me = session.get(schema.Patient, who.patient_id)
    register = register or open_register(session)
    myself = register.person(me.identifier) if me is not None else None
    if myself is None:
        return []
    today = now().astimezone(OSLO).date()
    found: list[Represented] = []
    for tie in register.ties_from(myself.identifier):
        person = register.person(tie.person)
        if person is None or person.facts.protection is not Protection.NONE:
            continue
        verdict = decide(myself.facts, person.facts, tie.relation, today)
        patient = session.scalar(select(schema.Patient).where(schema.Patient.identifier == tie.person))
        found.append(
            Represented(person.given, person.family, age(person.facts.birth_date, today), tie.relation.kind, verdict, patient)
        )
    return found


def reach(session: Session, who: Principal) -> dict[int, Represented]:
    """Patient id → the person, for everyone whose times and messages `who` may see (besides their own)."""
    return {r.patient.id: r for r in everyone(session, who) if r.verdict.may_read and r.patient is not None}


def readable_ids(session: Session, who: Principal) -> list[int]:
    """The patients whose rows a citizen's searches cover: themself first, then those they may read for."""
    if who.is_staff or who.patient_id is None:
        return []
    return [who.patient_id, *sorted(reach(session, who))]


def acting_for(session: Session, who: Principal, patient_id: int, *, write: bool) -> Represented | None:
    """None when a citizen acts for themself; the person when they may act for them; else 403 without saying whether
    the person exists (`not-representative`), or `read-only` for a person whose times they may only see."""
    if who.is_staff or patient_id == who.patient_id:
        return None
    person = reach(session, who).get(patient_id)
    if person is None:
        raise refused()
    if write and not person.verdict.may_book:
        raise forbidden(
            f"You may see this person's appointments but not book or cancel them ({person.verdict.rule.value})",
            rule=READ_ONLY,
        )
    return person


def refused() -> FhirError:
    return forbidden("You may not act for this person", rule=NOT_REPRESENTATIVE)
