"""What went wrong, in the user's words: each BookingError kind maps to a catalogue text; no server text reaches a screen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from timebok.client.errors import BookingError, ErrorKind
from timebok.ui.i18n import has_text, t

if TYPE_CHECKING:  # client.signin loads httpx: not before the first paint
    from timebok.client.signin import SignInError

# Failures that may pass by themselves, so trying again (Ctrl+R) makes sense.
# After signing in again (in the browser, or `timebok login` in another window) the same request goes through.
RETRYABLE = frozenset({ErrorKind.OFFLINE, ErrorKind.TIMEOUT, ErrorKind.SERVER, ErrorKind.SIGN_IN})


def explain(error: SignInError, service: str = "") -> str:
    """A failed sign-in in the user's words and language; the English message stays for logs."""
    return t(f"signin.error.{error.reason}", service=service or error.service or "ID-porten/HelseID", detail=error.detail)


def describe(error: BookingError) -> str:
    """The failure in plain words in the chosen language (the backend's diagnostic stays in the trace)."""
    if error.kind is ErrorKind.SIGN_IN and error.rule == "unreachable":
        # Name the service that is down: «kunne ikke fornyes» alone sends the user to the wrong place.
        return t("error.sign_in_unreachable", service=getattr(error.source, "service", "") or "ID-porten/HelseID")
    if error.kind is ErrorKind.SIGN_IN_REFUSED and error.rule and has_text(f"error.sign_in_refused.{error.rule}"):
        return t(f"error.sign_in_refused.{error.rule}")
    if error.kind is ErrorKind.FORBIDDEN and error.rule in ("not-representative", "read-only"):
        # Booking for someone else: the register no longer lets them (a fullmakt withdrawn), or only to see the times.
        return t(f"error.forbidden.{error.rule}")
    return t(f"error.{error.kind.value}")


def retry_hint(error: BookingError, *, typed: bool = False) -> str:
    """How to try again, and (only where the user typed something) that it is kept; empty when retrying won't help."""
    if error.kind is ErrorKind.SIGN_IN_REFUSED:
        return t("error.sign_in_refused_hint")  # trying again would be refused again: sign in as someone else
    if error.kind not in RETRYABLE:
        return ""
    return t("error.retry_hint_typed" if typed else "error.retry_hint")


def sign_in_text(error: BookingError, *, typed: bool = False) -> str:
    """A sign-in the app offers to redo (Ctrl+L): refused (why, and sign in as someone else), its service down
    (named; Ctrl+R in a while), or expired (sign in again; what was typed is kept)."""
    if error.kind is ErrorKind.SIGN_IN_REFUSED:
        return full_text(error, typed=typed)
    if error.rule == "unreachable":
        return describe(error) + "\n" + t("error.sign_in_unreachable_hint")
    return t("error.sign_in_again") + "\n" + t("error.sign_in_again_hint_typed" if typed else "error.sign_in_again_hint")


def full_text(error: BookingError, *, typed: bool = False) -> str:
    hint = retry_hint(error, typed=typed)
    return describe(error) + (f"\n{hint}" if hint else "")
