"""Who is signed in in which browser (a cookie names a server-side record), and the limits on open tabs."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field


@dataclass
class SignedIn:
    """One browser's sign-in. The tokens stay on the server: the browser holds only `id`, in an httpOnly cookie."""

    id: str
    role: str  # citizen, staff or support
    name: str  # as the top line names them: «Kari Nordmann», «Kundesenter, NHN som Kari Nordmann»
    token: str = field(repr=False)  # the bearer: the citizen's for a support agent
    agent_token: str = field(default="", repr=False)  # a support agent's own
    seen: float = field(default_factory=time.monotonic)


@dataclass
class Pending:
    """An OpenID Connect sign-in under way: its PKCE verifier, bound to the browser that started it (`browser`)."""

    browser: str
    realm: str  # staff (HelseID) or citizen (ID-porten)
    issuer: str
    verifier: str = field(repr=False)
    agent_token: str = field(default="", repr=False)  # a support agent's token while the test citizen signs in
    agent_name: str = ""
    started: float = field(default_factory=time.monotonic)


class Sessions:
    """Sign-ins by cookie, pending sign-ins by state, and the open tabs (app processes), with a cap and idle limits."""

    PENDING_SECONDS = 600.0

    def __init__(self, *, max_tabs: int, idle_seconds: float) -> None:
        self.max_tabs = max_tabs
        self.idle_seconds = idle_seconds
        self.signed_in: dict[str, SignedIn] = {}
        self.pending: dict[str, Pending] = {}
        self.tabs = 0
        self._open: dict[str, int] = {}  # open tabs per sign-in: one in use is not forgotten (the tab's own idle limit applies)

    def add(self, role: str, name: str, token: str, agent_token: str = "") -> SignedIn:
        who = SignedIn(secrets.token_urlsafe(32), role, name, token, agent_token)
        self.signed_in[who.id] = who
        return who

    def get(self, cookie: str | None) -> SignedIn | None:
        """The sign-in this cookie names, unless it has been idle too long (then it is forgotten)."""
        who = self.signed_in.get(cookie or "")
        if who is None:
            return None
        if time.monotonic() - who.seen > self.idle_seconds and not self._open.get(who.id):
            del self.signed_in[who.id]
            return None
        who.seen = time.monotonic()
        return who

    def drop(self, cookie: str | None) -> None:
        self.signed_in.pop(cookie or "", None)

    def start(self, state: str, pending: Pending) -> None:
        cutoff = time.monotonic() - self.PENDING_SECONDS
        for key in [k for k, p in self.pending.items() if p.started < cutoff]:
            del self.pending[key]  # abandoned sign-ins do not pile up
        self.pending[state] = pending

    def finish(self, state: str, browser: str | None) -> Pending | None:
        """The sign-in this state started, once, and only in the browser that started it (no login CSRF)."""
        pending = self.pending.pop(state, None)
        if pending is None or pending.browser != browser or time.monotonic() - pending.started > self.PENDING_SECONDS:
            return None
        return pending

    # -- tabs -----------------------------------------------------------------------------------------------

    def open_tab(self, who: SignedIn) -> bool:
        """Room for one more app process? Counts it when there is."""
        if self.tabs >= self.max_tabs:
            return False
        self.tabs += 1
        self._open[who.id] = self._open.get(who.id, 0) + 1
        return True

    def close_tab(self, who: SignedIn) -> None:
        self.tabs = max(0, self.tabs - 1)
        who.seen = time.monotonic()
        left = self._open.get(who.id, 0) - 1
        if left > 0:
            self._open[who.id] = left
        else:
            self._open.pop(who.id, None)

    @property
    def full(self) -> bool:
        return self.tabs >= self.max_tabs
