"""Bearer tokens: who is asking (a citizen bound to one Patient, or staff bound to one office)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend import schema
from backend.outcome import FhirError

CITIZEN = "citizen"
STAFF = "staff"


@dataclass(frozen=True)
class Principal:
    role: str
    name: str
    patient_id: int | None
    organization_id: int | None

    @property
    def is_staff(self) -> bool:
        return self.role == STAFF

    @property
    def actor(self) -> str:
        """How the audit log names this user."""
        return f"{self.role}:{self.name}"


def _unauthorized(diagnostics: str) -> FhirError:
    return FhirError(401, "login", diagnostics, headers={"WWW-Authenticate": 'Bearer realm="timebok"'})


def authenticate(session: Session, authorization: str | None) -> Principal:
    """The principal for an Authorization header, or 401."""
    if not authorization:
        raise _unauthorized("Missing Authorization header: send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Authorization must use the Bearer scheme")
    if "\0" in token:  # no token holds one, and PostgreSQL refuses to even look it up
        raise _unauthorized("Unknown or expired token")
    row = session.get(schema.AccessToken, token.strip())
    if row is None:
        raise _unauthorized("Unknown or expired token")
    return Principal(role=row.role, name=row.name, patient_id=row.patient_id, organization_id=row.organization_id)


def new_token() -> str:
    return secrets.token_urlsafe(24)
