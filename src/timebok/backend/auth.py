"""Bearer tokens: who is asking (a citizen bound to one Patient, staff bound to one office, or a support agent)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebok.backend import oidc, schema
from timebok.backend.oidc import Verifier
from timebok.backend.outcome import FhirError, forbidden

CITIZEN = "citizen"
STAFF = "staff"
SUPPORT = "support"
# Rule codes of a sign-in the backend refuses (403), so the app can say why in the user's words.
NOT_A_PATIENT = "not-a-patient"  # ID-porten signed in someone who is no patient of an office here
ASSURANCE_TOO_LOW = "assurance-too-low"  # ID-porten's level of assurance is below substantial
SIGN_IN_LEVEL = "sign-in-level"  # HelseID's security level is below 4
UNKNOWN_OFFICE = "unknown-office"  # HelseID names an organisation that is no office here
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
    # For a signed-in (OpenID Connect) user: the token's subject and issuer, which the audit log records.
    subject: str | None = None
    agent_subject: str | None = None

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
        me = f"{self.role}:{self.name}" + (f" [{self.subject}]" if self.subject else "")
        if self.agent is not None:
            return f"{SUPPORT}:{self.agent}" + (f" [{self.agent_subject}]" if self.agent_subject else "") + f" as {me}"
        return me


def _unauthorized(diagnostics: str) -> FhirError:
    return FhirError(401, "login", diagnostics, headers={"WWW-Authenticate": 'Bearer realm="timebok"'})


def authenticate(
    session: Session,
    authorization: str | None,
    agent_token: str | None = None,
    *,
    verifier: Verifier | None = None,
    static_tokens: bool = True,
) -> Principal:
    """The principal for an Authorization header (and a support agent's header), or 401/403.

    A token shaped like a JWT goes to the OpenID Connect `verifier` (when the server trusts issuers);
    anything else is a static token, looked up only when `static_tokens` (a --demo instance)."""
    if not authorization:
        raise _unauthorized("Missing Authorization header: send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Authorization must use the Bearer scheme")
    who = _resolve(session, token.strip(), verifier, static_tokens)
    if agent_token is None:
        return who
    agent = _resolve(session, agent_token.strip(), verifier, static_tokens, header="The X-Support-Agent token")
    if agent.role != SUPPORT:
        raise _unauthorized("The X-Support-Agent token is not a support agent's token")
    if who.role != CITIZEN:
        raise _unauthorized("A support agent can only act as a citizen")
    return replace(who, agent=agent.name, agent_subject=agent.subject)


def _resolve(
    session: Session, token: str, verifier: Verifier | None, static_tokens: bool, header: str = "The token"
) -> Principal:
    if "\0" in token:  # no token holds one, and PostgreSQL refuses to even look it up
        raise _unauthorized(f"{header} is unknown or expired")
    if verifier is not None and oidc.looks_like_jwt(token):
        try:
            issuer, claims = verifier.verify(token)
        except oidc.TokenRefused as why:
            raise _unauthorized(f"{header} is refused: {why}") from None
        return claims_principal(session, issuer.role, issuer.url, claims)
    if not static_tokens:
        # Static bearer tokens are the demo's; a real instance takes only tokens from its trusted issuers.
        raise _unauthorized(f"{header} is not accepted: this server takes only tokens from its OpenID Connect issuers")
    row = session.get(schema.AccessToken, token)
    if row is None:
        raise _unauthorized(f"{header} is unknown or expired" if header != "The token" else "Unknown or expired token")
    return Principal(role=row.role, name=row.name, patient_id=row.patient_id, organization_id=row.organization_id)


def claims_principal(session: Session, role: str, issuer: str, claims: dict[str, Any]) -> Principal:
    """Map a verified token's claims to a user: a citizen by `pid`, staff by HelseID person and orgnr, support by scope."""
    subject = f"sub={str(claims.get('sub'))[:80]} iss={issuer[:80]}"
    granted = oidc.scopes(claims)
    if role == CITIZEN:
        if claims.get("acr") not in oidc.CITIZEN_ACR:
            raise forbidden(
                "The sign-in's level of assurance is too low: ID-porten substantial or high is needed", rule=ASSURANCE_TOO_LOW
            )
        pid = claims.get("pid")
        patient = None
        if isinstance(pid, str) and pid.isascii() and pid.isdigit() and len(pid) == 11:
            patient = session.scalar(select(schema.Patient).where(schema.Patient.identifier == pid))
        if patient is None:  # never echo the number: it would end up in the client's trace
            raise forbidden(
                "The signed-in person is not a patient known to this service; nothing was created", rule=NOT_A_PATIENT
            )
        return Principal(
            role=CITIZEN, name=f"{patient.given} {patient.family}", patient_id=patient.id, organization_id=None, subject=subject
        )
    level = claims.get(oidc.HELSEID_LEVEL_CLAIM)
    try:
        level_ok = int(str(level)) >= oidc.HELSEID_MIN_LEVEL
    except ValueError:
        level_ok = False
    if not level_ok:
        raise forbidden(
            f"The sign-in's security level is too low: HelseID level {oidc.HELSEID_MIN_LEVEL} is needed", rule=SIGN_IN_LEVEL
        )
    person = claims.get(oidc.HELSEID_HPR) or claims.get(oidc.HELSEID_PID)
    if not person:
        raise forbidden("The token names no health person (HelseID pid or HPR number)")
    name = str(claims.get("name") or (f"HPR {claims[oidc.HELSEID_HPR]}" if claims.get(oidc.HELSEID_HPR) else "HelseID user"))[
        :100
    ]
    if role == SUPPORT or oidc.SUPPORT_SCOPE in granted:
        if oidc.SUPPORT_SCOPE not in granted:
            raise forbidden(f"A support agent's token must carry the scope {oidc.SUPPORT_SCOPE}")
        return Principal(role=SUPPORT, name=name, patient_id=None, organization_id=None, subject=subject)
    orgnr = next((str(claims[c]) for c in oidc.ORGNR_CLAIMS if claims.get(c)), None)
    office = session.scalar(select(schema.Organization).where(schema.Organization.orgnr == orgnr)) if orgnr else None
    if office is None:
        raise forbidden("The token's organisation (orgnr) is not an office known to this service", rule=UNKNOWN_OFFICE)
    return Principal(role=STAFF, name=name, patient_id=None, organization_id=office.id, subject=subject)


def new_token() -> str:
    return secrets.token_urlsafe(24)
