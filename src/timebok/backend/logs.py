"""What the backend writes to its log: one line per event, no identity number, no control character, no request value."""

from __future__ import annotations

import logging
import re
import traceback

from timebok.domain.privacy import scrub

# C0 controls, DEL and C1 controls: "%0A" in a URL must not start a forged log line, nor "%00" write NUL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean(text: str) -> str:
    """`text` as it may be logged: identity numbers masked, control characters written as escapes."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), scrub(text))


def where(error: BaseException) -> str:
    """The exception's type and the innermost place it was raised (file:line), never its message: that may hold values."""
    frames = traceback.extract_tb(error.__traceback__)
    place = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(error).__module__}.{type(error).__qualname__}{place}"


class Scrubbing(logging.Filter):
    """Rewrites every record to one clean line: message masked and escaped, a traceback reduced to where it happened."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_timebok_clean", False):
            return True
        message = clean(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            message += f" ({where(record.exc_info[1])})"
        record.msg, record.args = message, None
        # uvicorn's coloured variant of the message («Started server process [%d]» with colour codes), which its
        # formatter prints in a terminal instead of the message: its arguments are gone now, so it would print
        # the bare «%d». The plain, masked message is printed instead.
        record.__dict__.pop("color_message", None)
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        record._timebok_clean = True
        return True


def access(
    logger: logging.Logger, rid: str, method: str, target: str, status: int | str, ms: float, note: str | None = None
) -> None:
    """The request's line, `<request id> <method> <path> <status> <ms>`, and a `note` of ours after it. Each value is
    masked on its own and the line is not masked again: read whole, a date and the status after it
    («lt2027-02-01 200 123.4ms») would pass for an identity number and the line would lose its status."""
    logger.info(
        "%s %s %s %s %.1fms%s",
        clean(rid),
        clean(method),
        clean(target),
        status,
        ms,
        f" ({note})" if note else "",
        extra={"_timebok_clean": True},
    )


_SCRUBBING = Scrubbing()
LOGGERS = (
    "",
    "timebok",
    "timebok.access",
    "timebok.error",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "sqlalchemy",
    "alembic",
)


def install() -> None:
    """Route the app's, uvicorn's and SQLAlchemy's log records through the same scrubbing.

    A filter on a logger sees only records logged on it, and one on a handler only what reaches that
    handler; both are set, for the loggers uvicorn configures with handlers of their own."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _SCRUBBING not in logger.filters:
            logger.addFilter(_SCRUBBING)
        for handler in logger.handlers:
            if _SCRUBBING not in handler.filters:
                handler.addFilter(_SCRUBBING)
