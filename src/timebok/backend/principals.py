"""Who a bearer token belongs to, remembered for a few seconds so a read need not look the token up every time."""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session

from timebok.backend.auth import Principal, authenticate
from timebok.backend.db import Database
from timebok.backend.oidc import Verifier

# Tokens are only ever added (by the seed or an operator), and an unknown token is always looked up,
# so a new token works at once; a removed one keeps working at most this long on each instance.
TTL_SECONDS = 5.0


class Principals:
    """A per-process memo of successful token lookups, keyed by the Authorization and X-Support-Agent headers."""

    def __init__(
        self, db: Database, ttl: float = TTL_SECONDS, *, verifier: Verifier | None = None, static_tokens: bool = True
    ) -> None:
        self._db = db
        self._ttl = ttl
        # OpenID Connect tokens are verified by `verifier` (backend/oidc.py); static ones accepted only when
        # `static_tokens` (a --demo instance). A verified JWT is remembered like a static token: its expiry is
        # checked with 30 s of skew anyway, so the few seconds here add little.
        self._verifier = verifier
        self._static_tokens = static_tokens
        self._known: dict[tuple[str | None, str | None], tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def known(self, authorization: str | None, agent_token: str | None) -> Principal | None:
        """The principal when the token was looked up in the last few seconds, else None (no database)."""
        found = self._known.get((authorization, agent_token))
        return found[1] if found is not None and found[0] > time.monotonic() else None

    def who(self, authorization: str | None, agent_token: str | None, session: Session | None = None) -> Principal:
        key = (authorization, agent_token)
        if (principal := self.known(authorization, agent_token)) is not None:
            return principal
        if session is not None:
            principal = authenticate(
                session, authorization, agent_token, verifier=self._verifier, static_tokens=self._static_tokens
            )
        else:
            with self._db.reading() as own:
                principal = authenticate(
                    own, authorization, agent_token, verifier=self._verifier, static_tokens=self._static_tokens
                )
        with self._lock:
            if len(self._known) > 10_000:  # a flood of distinct valid tokens must not grow this without end
                self._known.clear()
            self._known[key] = (time.monotonic() + self._ttl, principal)
        return principal
