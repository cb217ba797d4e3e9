"""The folkeregister the representation rules read: one interface, and the demo's register behind it.

A real integration (Folkeregisteret's API for people and parents, the fullmakt service for fullmakt) would be
another class with these methods; `open_register` is the one place that picks it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebok.backend import schema
from timebok.domain.representation import Kind, Person, Protection, Relation


@dataclass(frozen=True)
class RegisteredPerson:
    identifier: str
    given: str
    family: str
    facts: Person


@dataclass(frozen=True)
class Tie:
    """A relation seen from the representative: who the other person is, and how they are tied."""

    person: str  # the other person's identity number
    relation: Relation


class Register(Protocol):
    """What the rules ask a folkeregister. Identity numbers go in and out; they never reach a URL or a log."""

    def person(self, identifier: str) -> RegisteredPerson | None:
        """The person with this number, or None when the register has no such person."""
        ...

    def ties_from(self, representative: str) -> list[Tie]:
        """Everyone the register ties to `representative`: their children, and those who gave them a fullmakt."""
        ...


class DemoRegister:
    """The demo's register: fictional people with synthetic numbers, kept in the backend's own database (the seed
    writes them), so a test or an operator changes the register (a fullmakt withdrawn) as the real one would change."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def person(self, identifier: str) -> RegisteredPerson | None:
        row = self._session.get(schema.RegisterPerson, identifier)
        if row is None:
            return None
        facts = Person(birth_date=row.birth_date, address=row.address, protection=Protection(row.protection))
        return RegisteredPerson(row.identifier, row.given, row.family, facts)

    def ties_from(self, representative: str) -> list[Tie]:
        rows = self._session.scalars(
            select(schema.RegisterRelation)
            .where(schema.RegisterRelation.representative == representative)
            .order_by(schema.RegisterRelation.id)
        ).all()
        return [
            Tie(
                row.person,
                Relation(
                    kind=Kind(row.kind),
                    parental_responsibility=row.parental_responsibility,
                    area=row.area,
                    withdrawn=row.withdrawn,
                ),
            )
            for row in rows
        ]


def open_register(session: Session) -> Register:
    """The register for this request (the demo's, read in the request's own transaction)."""
    return DemoRegister(session)
