"""What the backend writes to its log: one line per event, no identity number, no control character, no request value."""

from __future__ import annotations

import json
import logging
import re
import traceback
from datetime import UTC, datetime

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
    rid, method, target = clean(rid), clean(method), clean(target)  # once each: the line and the JSON fields share them
    fields = {"request_id": rid, "method": method, "path": target, "status": status, "ms": round(ms, 1)}
    if not logger.isEnabledFor(logging.INFO):
        return
    # Made here and handed on, as Logger.info would, without its search of the stack for the caller's file and line
    # (no format of ours prints them): a line per request, so that search was a visible share of a cached month read.
    record = logger.makeRecord(
        logger.name,
        logging.INFO,
        "(access)",
        0,
        "%s %s %s %s %.1fms%s",
        (rid, method, target, status, ms, f" ({note})" if note else ""),
        None,
        extra={"_timebok_clean": True, "timebok_fields": fields | ({"note": clean(note)} if note else {})},
    )
    logger.handle(record)


# What a JSON line may carry besides its message: set by our own calls (already clean), never a request value as such.
FIELDS = ("request_id", "method", "path", "status", "ms", "note")


class JsonLines(logging.Formatter):
    """One JSON object per line (`--log-format json`): time, level, logger, message, and the request's fields when the
    record has them. It formats records the Scrubbing filter has already cleaned; a newline cannot survive JSON."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        fields = getattr(record, "timebok_fields", None)
        if isinstance(fields, dict):
            line |= {key: fields[key] for key in FIELDS if key in fields}
        return json.dumps(line, ensure_ascii=False)


def request_fields(rid: str | None) -> dict[str, object]:
    """`extra=` for a log call about one request: its id as a field of the JSON line (the text line names it already)."""
    return {"timebok_fields": {"request_id": clean(rid)}} if rid else {}


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
