"""What went wrong, in the user's words: each BookingError kind maps to a catalogue text; no server text reaches a screen."""

from __future__ import annotations

from timebok.client.errors import BookingError, ErrorKind
from timebok.ui.i18n import t

# Failures that may pass by themselves, so trying again (Ctrl+R) makes sense.
# After signing in again (in the browser, or `timebok login` in another window) the same request goes through.
RETRYABLE = frozenset({ErrorKind.OFFLINE, ErrorKind.TIMEOUT, ErrorKind.SERVER, ErrorKind.SIGN_IN})


def describe(error: BookingError) -> str:
    """The failure in plain words in the chosen language (the backend's diagnostic stays in the trace)."""
    return t(f"error.{error.kind.value}")


def retry_hint(error: BookingError, *, typed: bool = False) -> str:
    """How to try again, and (only where the user typed something) that it is kept; empty when retrying won't help."""
    if error.kind not in RETRYABLE:
        return ""
    return t("error.retry_hint_typed" if typed else "error.retry_hint")


def full_text(error: BookingError, *, typed: bool = False) -> str:
    hint = retry_hint(error, typed=typed)
    return describe(error) + (f"\n{hint}" if hint else "")
