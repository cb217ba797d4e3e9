"""What screens and widgets may ask of the app they run in, beyond Textual's own App (tui.app.TimebokApp provides it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:  # the client's module loads httpx: kept off the start-up path
    from textual.dom import DOMNode
    from textual.notifications import SeverityLevel
    from textual.worker import Worker

    from timebok.client.api import BookingClient
    from timebok.client.errors import BookingError
    from timebok.client.models import Patient, Represented, User
    from timebok.client.signin import TokenSource
    from timebok.client.trace import Trace


class ConnectionFacts(Protocol):
    """What a screen may read of the connection: whether it is the embedded demo, and whom it signs in as."""

    @property
    def embedded(self) -> bool: ...

    @property
    def token(self) -> str: ...

    @property
    def agent_token(self) -> str: ...


class TimebokAppContract(Protocol):
    """The app as screens see it (they sit below tui/ and never import it). Every member is read-only to a screen;
    mypy checks that tui.app.TimebokApp provides it all (the assignment at the end of tui/app.py)."""

    @property
    def user(self) -> User | None: ...  # None until the backend has said who the token belongs to

    @property
    def client(self) -> BookingClient | None: ...  # None until connected; the screens that fetch come after that

    @property
    def connection(self) -> ConnectionFacts: ...

    @property
    def trace(self) -> Trace: ...  # this session's requests, for the support desk's panel

    @property
    def trace_dir(self) -> Path: ...  # where the panel exports a trace

    @property
    def people(self) -> list[Represented]: ...  # whom the signed-in citizen may act for (children, fullmakt)

    @property
    def seen_messages(self) -> set[str]: ...  # the inbox messages this user has opened (mark_seen adds to it)

    @property
    def read_only(self) -> bool: ...  # a support agent acting as a citizen, before «Skriv som»: nothing that writes

    @property
    def hide_names(self) -> bool: ...  # «Skjul navn»: staff screens show initials and birth year instead of names

    @property
    def sign_in_needed(self) -> TokenSource | None: ...  # the sign-in whose renewal failed (Ctrl+L signs in again), else None

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None: ...

    def describe(self, error: BookingError) -> str: ...

    def report(self, error: BookingError, *, typed: bool = False) -> None: ...

    def offer_sign_in(self, error: BookingError) -> bool: ...

    def mark_seen(self, message_id: str) -> None: ...

    def connect(self) -> Worker[None]: ...

    def sign_in(self, token: str, agent_token: str = "", *, role: str | None = None) -> None: ...

    def start_booking(self, patient: Patient | None = None) -> None: ...

    def open_inbox(self, *, from_flow: bool = False, patient: Patient | None = None) -> None: ...

    def open_appointments(self) -> None: ...

    def go_home(self) -> None: ...


def app_of(node: DOMNode) -> TimebokAppContract:
    """The app `node` runs in, typed as the contract (the one place that casts, as Posting casts to its App)."""
    return cast("TimebokAppContract", node.app)


class UsesApp:
    """Mixed into our screens and widgets: `self.timebok` is the app as the contract declares it."""

    @property
    def timebok(self) -> TimebokAppContract:
        return app_of(self)  # type: ignore[arg-type]  # mixed only into DOMNodes

    @property
    def client(self) -> BookingClient:
        """The connected client, for a screen that fetches: such screens open only once the app has connected, and
        signing out closes them (and cancels their workers) before the client goes."""
        client = self.timebok.client
        if client is None:
            raise RuntimeError("a screen that fetches ran before the app connected")
        return client

    @property
    def signed_in(self) -> User:
        """The signed-in user, for a screen opened from a role's home (there is none before the backend said who)."""
        user = self.timebok.user
        if user is None:
            raise RuntimeError("a screen for a signed-in user ran before the backend said who it is")
        return user
