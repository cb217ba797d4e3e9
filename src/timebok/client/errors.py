"""One exception family for everything that can go wrong talking to the backend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # signin loads httpx; the errors load with every screen
    from timebok.client.signin import TokenSource


class ErrorKind(Enum):
    OFFLINE = "offline"  # the backend could not be reached
    TIMEOUT = "timeout"  # it did not answer in time
    UNAUTHORIZED = "unauthorized"  # the token is missing, unknown or expired
    SIGN_IN = "sign_in"  # the sign-in expired and could not be renewed: sign in again, then retry
    FORBIDDEN = "forbidden"  # the token may not do this
    READ_ONLY = "read_only"  # a support agent acting as a citizen has not chosen «Skriv som» (or it ran out)
    SIGN_IN_REFUSED = "sign_in_refused"  # signed in, but as no one this service knows (`rule` says why): sign in as someone else
    NOT_FOUND = "not_found"
    SLOT_TAKEN = "slot_taken"  # someone else got the time first
    SLOT_GONE = "slot_gone"  # the time is no longer in the timebook (the office changed its setup)
    SLOT_PAST = "slot_past"  # the time has started or passed (e.g. while the user was on review)
    TOO_SOON = "too_soon"  # the time starts sooner than the timebook's booking lead time
    PATIENT_OVERLAP = "patient_overlap"  # the patient already holds a time that overlaps this one (BookingError.held)
    SLOT_HELD = "slot_held"  # another user holds the time for a few minutes (BookingError.until: when the hold ends)
    CHANGE_DEADLINE = "change_deadline"  # past the deadline to cancel or change (BookingError.until: the deadline)
    CHANGE_PENDING = "change_pending"  # the time already has a change waiting for the office's answer
    ILLEGAL_TRANSITION = "illegal_transition"  # the appointment cannot make that move from where it is now
    TOO_EARLY = "too_early"  # no-show before the time has begun
    UNANSWERED = "unanswered"  # the request's time has begun: it is closed as unanswered, not answered now
    CONFLICT = "conflict"  # the thing changed state meanwhile (already answered, already cancelled)
    STALE = "stale"  # our copy is out of date (If-Match failed)
    INVALID = "invalid"  # the backend refused what we sent
    SERVER = "server"  # the backend failed


@dataclass(frozen=True)
class HeldTime:
    """The time a patient already holds that overlaps the one asked for; its type and place only when the caller may
    see them (the backend tells another office's staff the start alone)."""

    start: datetime
    type_code: str | None = None
    place: str | None = None


class BookingError(Exception):
    """A failed call, with what kind of failure it was and the backend's own diagnostic."""

    def __init__(
        self,
        kind: ErrorKind,
        diagnostic: str,
        *,
        status: int | None = None,
        field: str | None = None,
        source: TokenSource | None = None,
        rule: str | None = None,
        held: HeldTime | None = None,
        maybe_sent: bool = True,
        until: datetime | None = None,
    ) -> None:
        super().__init__(f"{kind.value}: {diagnostic}")
        self.kind = kind
        self.diagnostic = diagnostic
        self.status = status
        self.field = field  # the path of the element the backend found at fault (OperationOutcome.issue.expression)
        # SIGN_IN: the sign-in (client.signin.TokenSource) that could not be renewed; a support agent has two.
        self.source = source
        self.rule = rule  # the backend's rule code (OperationOutcome.issue.details), when it named one
        self.held = held  # PATIENT_OVERLAP: the time they already have
        self.until = until  # SLOT_HELD: when the other user's hold ends; CHANGE_DEADLINE: the deadline that passed
        # OFFLINE/TIMEOUT: whether the request may have reached the backend. False only when no connection was made
        # (refused, or no answer to connecting): then a write surely did not happen, and nobody need wonder.
        self.maybe_sent = maybe_sent
