"""Bearer tokens: who is asking (a citizen bound to one Patient, staff bound to one office, or a support agent)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend import schema
from backend.outcome import FhirError

CITIZEN = "citizen"
STAFF = "staff"
SUPPORT = "support"
# A support agent reproduces what a citizen sees: the citizen's token as Bearer, their own in this header,
# so the backend answers exactly as it would the citizen and still audits the agent's reads.
AGENT_HEADER = "x-support-agent"


@dataclass(frozen=True)
class Principal:
    role: str
    name: str
    patient_id: int | None
    organization_id: int | None
    agent: str | None = None  # the support agent acting as this citizen

    @property
    def is_staff(self) -> bool:
        return self.role == STAFF

    @property
    def audited(self) -> bool:
        """Staff and support agents leave a trail when they touch patient data; citizens reading their own do not."""
        return self.is_staff or self.agent is not None

    @property
    def actor(self) -> str:
        """How the audit log names this user."""
        if self.agent is not None:
            return f"{SUPPORT}:{self.agent} as {self.role}:{self.name}"
        return f"{self.role}:{self.name}"


def _unauthorized(diagnostics: str) -> FhirError:
    return FhirError(401, "login", diagnostics, headers={"WWW-Authenticate": 'Bearer realm="timebok"'})


def authenticate(session: Session, authorization: str | None, agent_token: str | None = None) -> Principal:
    """The principal for an Authorization header (and a support agent's header), or 401."""
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
    agent = None
    if agent_token is not None:
        agent_row = session.get(schema.AccessToken, agent_token.strip())
        if agent_row is None or agent_row.role != SUPPORT:
            raise _unauthorized("The X-Support-Agent token is not a support agent's token")
        if row.role != CITIZEN:
            raise _unauthorized("A support agent can only act as a citizen")
        agent = agent_row.name
    return Principal(role=row.role, name=row.name, patient_id=row.patient_id, organization_id=row.organization_id, agent=agent)


def new_token() -> str:
    return secrets.token_urlsafe(24)
