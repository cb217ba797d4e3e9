"""The calendar's Slot search, lean: one query of the needed columns, orjson, and the answer cached per timebook version."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import cast
from urllib.parse import urlencode

import orjson
from sqlalchemy import Connection, DateTime, String, and_, bindparam, case, func, or_, select, type_coerce

from timebok.backend import fhir, schema
from timebok.backend.search import Bound, between
from timebok.domain.appointment_life import HOLD_URL

_SLOT = schema.Slot.__table__.c
# The times as the driver gives them (SQLite: text, PostgreSQL: datetime): a warm render only looks them up,
# and SQLAlchemy's text-to-datetime step for 1200 values cost more than the lookups themselves.
_RAW_START, _RAW_END = type_coerce(_SLOT.start, String), type_coerce(_SLOT.end, String)
_RAW_HELD = type_coerce(_SLOT.held_until, String)


def _stored(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


class AnswerCache:
    """Serialized answers by (base URL, query), each kept with the timebook version it was made from.

    Per process; the version it is checked against lives in the database, so an answer made before
    another instance's booking is never served after it.
    """

    def __init__(self, size: int = 128) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, bytes], tuple[str, bytes]] = OrderedDict()
        self._lock = threading.Lock()  # routes run in a thread pool
        # Each slot's entry bytes by (base URL, timebook) and row: a month answered again after one booking
        # re-serializes only the slot that changed. Per app, so two databases in one process never mix.
        self.fragments: dict[tuple[str, int], dict[tuple[object, ...], bytes]] = {}

    def get(self, key: tuple[str, bytes], version: str) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] != version:
                return None
            self._items.move_to_end(key)
            return found[1]

    def put(self, key: tuple[str, bytes], version: str, body: bytes) -> None:
        with self._lock:
            self._items[key] = (version, body)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


# The month's tag in one statement (one round trip, built once so SQLAlchemy's compiled-statement cache finds it
# without hashing a new statement per request): the timebook month's version, and the latest end of a hold in the
# timebook that has passed and left its slot free (index ix_slot_schedule_held_until), so a hold ending with nobody
# writing anything still changes the answer's ETag. Both are read before the rows (see versions.current).
_TAG_STATE = select(
    select(schema.ChangeVersion.version).where(schema.ChangeVersion.scope == bindparam("scope")).scalar_subquery(),
    select(func.max(_SLOT.held_until))
    .where(_SLOT.schedule_id == bindparam("schedule_id"), _SLOT.held_until <= bindparam("at", type_=DateTime))
    .scalar_subquery(),
)


def tag_state(connection: Connection, scope: str, schedule_id: int, at: datetime) -> tuple[int, datetime | None]:
    """(the scope's version, 0 before its first change; the latest ended hold in the timebook, or None)."""
    version, ended = connection.execute(_TAG_STATE, {"scope": scope, "schedule_id": schedule_id, "at": at}).one()
    return cast(int | None, version) or 0, _stored(ended) if ended is not None else None


def render(
    connection: Connection,
    cache: AnswerCache,
    *,
    base: str,
    self_base: str,
    kept: list[tuple[str, str]],
    schedule_id: int,
    status: str | None,
    lower: Bound | None,
    upper: Bound | None,
    count: int,
    offset: int,
    at: datetime,
    holds_ended: bool = True,
) -> bytes:
    """The Bundle's bytes, as `fhir.bundle` of `fhir.slot`s would serialize them; a slot whose hold ended before `at`
    (stored UTC) reads free (fhir.slot_status). `holds_ended` False (no hold in the timebook has ended, see
    tag_state): the plain status query, on its index."""
    # is_not(None) first: NOT of a NULL comparison is NULL, which would drop every request from a busy-tentative search.
    ended = and_(_SLOT.status == "busy-tentative", _SLOT.held_until.is_not(None), _SLOT.held_until <= at)
    status_now = case((ended, "free"), else_=_SLOT.status) if holds_ended else _SLOT.status
    where = [_SLOT.schedule_id == schedule_id]
    if status == "free" and holds_ended:
        where.append(or_(_SLOT.status == "free", ended))
    elif status == "busy-tentative" and holds_ended:
        where.append(and_(_SLOT.status == status, ~ended))
    elif status is not None:
        where.append(_SLOT.status == status)
    where += between(_SLOT.start, lower, upper)
    rows = connection.execute(
        select(_SLOT.id, _RAW_START, _RAW_END, status_now, _RAW_HELD)
        .where(*where)
        .order_by(_SLOT.start, _SLOT.id)
        .offset(offset)
        .limit(count)
    ).all()
    # The count is a second query only when this page may not be all there is.
    if offset == 0 and len(rows) < count:
        total = len(rows)
    else:
        total = connection.execute(select(func.count()).select_from(schema.Slot.__table__).where(*where)).scalar_one()
    fragments = cache.fragments.get((base, schedule_id))
    if fragments is None or len(fragments) > 50_000:  # bounded: a timebook's slots for a year or so
        fragments = cache.fragments[(base, schedule_id)] = {}
    parts = []
    get = fragments.get
    for id_, start, end, row_status, held in rows:
        # Keyed by a plain tuple: SQLAlchemy's Row hashes and compares in Python, which cost more than the
        # rest of a warm render (~0.4 ms of 1.1 for a 600-slot month).
        row = (id_, start, end, row_status, held)
        part = get(row)
        if part is None:
            resource: dict[str, object] = {
                "resourceType": "Slot",
                "id": str(id_),
                "schedule": {"reference": f"Schedule/{schedule_id}"},
                "status": row_status,
                "start": fhir.instant(_stored(start)),
                "end": fhir.instant(_stored(end)),
            }
            if row_status == "busy-tentative" and held is not None:
                resource["extension"] = [{"url": HOLD_URL, "valueInstant": fhir.instant(_stored(held))}]  # held, not requested
            part = fragments[row] = orjson.dumps(
                {"fullUrl": f"{base}/Slot/{id_}", "resource": resource, "search": {"mode": "match"}}
            )
        parts.append(part)
    links = [{"relation": "self", "url": f"{self_base}?{urlencode(kept + [('_count', count), ('_offset', offset)])}"}]
    if offset + count < total:
        links.append(
            {"relation": "next", "url": f"{self_base}?{urlencode(kept + [('_count', count), ('_offset', offset + count)])}"}
        )
    # Byte for byte what orjson makes of the whole Bundle (see fhir.bundle): the entries spliced into "entry":[].
    head = orjson.dumps({"resourceType": "Bundle", "type": "searchset", "total": total, "link": links, "entry": []})
    return head[:-2] + b",".join(parts) + b"]}"
