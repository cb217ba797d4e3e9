"""One issuer of the local provider: its signing keys (with rotation), its codes and refresh tokens, and what its tokens say."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, KeySetSerialization, RSAKey

from timebok.devidp.models import IssuedCode, IssuedRefresh
from timebok.domain.clock import now

ALGORITHMS = ("RS256", "ES256")
HELSEID_PREFIX = "helseid://claims/"


@dataclass
class Realm:
    """One issuer: its signing keys (RSA and EC; the previous pair stays published after a rotation), codes and refresh tokens."""

    name: str
    audience: str
    keys: list[RSAKey | ECKey] = field(default_factory=list)
    retired: list[RSAKey | ECKey] = field(default_factory=list)
    codes: dict[str, IssuedCode] = field(default_factory=dict)
    refresh: dict[str, IssuedRefresh] = field(default_factory=dict)
    generation: int = 0
    padding: list[Any] = field(default_factory=list)  # extra published keys signing nothing (a bloated key set)

    def __post_init__(self) -> None:
        self.rotate()

    def rotate(self) -> None:
        """New signing keys with new kids; the old ones stay in the JWKS one round, as a real issuer does."""
        self.generation += 1
        tag = f"{self.name}-{self.generation}-{secrets.token_hex(3)}"
        self.retired = self.keys
        self.keys = [
            RSAKey.generate_key(2048, parameters={"kid": f"{tag}-rs", "use": "sig", "alg": "RS256"}),
            ECKey.generate_key("P-256", parameters={"kid": f"{tag}-es", "use": "sig", "alg": "ES256"}),
        ]

    def key_for(self, alg: str) -> RSAKey | ECKey:
        return next(key for key in self.keys if key.alg == alg)

    def jwks(self) -> KeySetSerialization:
        return KeySet(self.keys + self.retired + self.padding).as_dict(private=False)

    def sign(self, issuer: str, claims: dict[str, Any], alg: str = "RS256") -> str:
        key = self.key_for(alg)
        return jwt.encode({"alg": alg, "kid": key.kid, "typ": "at+jwt"}, {"iss": issuer, **claims}, key)

    def person(self, identity: dict[str, str]) -> dict[str, Any]:
        """The claims naming the signed-in person, shaped like this issuer's (in the access token and the ID token alike)."""
        if self.name == "idporten":
            # ID-porten's sub is a pairwise pseudonym; pid is the identity number.
            return {"sub": _pseudonym(identity["pid"]), "pid": identity["pid"], "acr": identity["acr"]}
        claims = {
            "sub": _pseudonym(identity["hpr_number"]),
            "name": identity["name"],
            f"{HELSEID_PREFIX}identity/security_level": identity["security_level"],
            f"{HELSEID_PREFIX}hpr/hpr_number": identity["hpr_number"],
        }
        if identity.get("orgnr"):
            claims[f"{HELSEID_PREFIX}client/claims/orgnr_child"] = identity["orgnr"]
        return claims

    def access_claims(self, identity: dict[str, str], scope: str, client_id: str, lifetime: int) -> dict[str, Any]:
        """An access token's claims, timed by the domain clock (tests move it, and the backend checks against it)."""
        at = int(now().timestamp())
        return {
            "aud": self.audience,
            "iat": at,
            "nbf": at,
            "exp": at + lifetime,
            "client_id": client_id,
            "scope": scope,
            "jti": secrets.token_hex(8),
            **self.person(identity),
        }


def _pseudonym(value: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(f"sub:{value}".encode()).digest()[:18]).decode()
