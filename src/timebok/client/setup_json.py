"""The office's timebook setup on the wire (the backend's /setup JSON, README «Timebook setup») ↔ client.models."""

from __future__ import annotations

from datetime import date
from typing import Any

from timebok.client.models import (
    Ahead,
    Campaign,
    Closure,
    OfficeSetup,
    Service,
    SetupLocation,
    SetupTimebook,
    WeeklyRange,
)

Json = dict[str, Any]


def _weekly(items: list[Json]) -> list[WeeklyRange]:
    return [WeeklyRange(days=list(i["days"]), start=i["start"], end=i["end"]) for i in items]


def _campaign(c: Json) -> Campaign:
    return Campaign(
        name=c["name"],
        first=date.fromisoformat(c["first"]),
        last=date.fromisoformat(c["last"]),
        weekly=_weekly(c.get("weekly") or []),
        slot_minutes=c.get("slotMinutes"),
        id=c.get("id"),
    )


def _timebook(b: Json) -> SetupTimebook:
    ahead = b.get("ahead")
    return SetupTimebook(
        type=b["type"],
        location=b["location"],
        name=b["name"],
        slot_minutes=b["slotMinutes"],
        weekly=_weekly(b.get("weekly") or []),
        active=b.get("active", True),
        parallel=b.get("parallel", 1),
        horizon_days=b.get("horizonDays", 42),
        lead_minutes=b.get("leadMinutes", 120),
        reminder_hours=b.get("reminderHours", 48),
        offer_minutes=b.get("offerMinutes", 30),
        hold_minutes=b.get("holdMinutes", 5),
        deadline_hours=b.get("deadlineHours", 0),
        monday_by_friday=b.get("mondayByFriday", False),
        answer_days=b.get("answerDays", 2),
        campaigns=[_campaign(c) for c in b.get("campaigns") or []],
        ahead=Ahead(free=ahead["free"], total=ahead["total"]) if ahead else None,
        id=b.get("id"),
    )


def _closure(c: Json) -> Closure:
    return Closure(
        day=date.fromisoformat(c["day"]),
        reason=c["reason"],
        start=c.get("start"),
        end=c.get("end"),
        timebook=c.get("timebook"),
        id=c.get("id"),
    )


def setup_from_json(document: Json) -> OfficeSetup:
    return OfficeSetup(
        organization=document.get("organization") or "",
        services=[Service(type=s["type"], active=s["active"]) for s in document.get("services") or []],
        timebooks=[_timebook(b) for b in document.get("timebooks") or []],
        closures=[_closure(c) for c in document.get("closures") or []],
        locations=[SetupLocation(id=p["id"], name=p["name"]) for p in document.get("locations") or []],
        name=document.get("name"),
        version=document.get("version"),
    )


def _weekly_json(items: list[WeeklyRange]) -> list[Json]:
    return [{"days": list(i.days), "start": i.start, "end": i.end} for i in items]


def _campaign_json(c: Campaign) -> Json:
    # Keys as the backend writes them: an id only once saved, a length only when the campaign has its own.
    return {
        **({"id": c.id} if c.id else {}),
        "name": c.name,
        "first": c.first.isoformat(),
        "last": c.last.isoformat(),
        **({"slotMinutes": c.slot_minutes} if c.slot_minutes else {}),
        "weekly": _weekly_json(c.weekly),
    }


def _timebook_json(b: SetupTimebook) -> Json:
    return {
        **({"id": b.id} if b.id else {}),
        "type": b.type,
        "location": b.location,
        "name": b.name,
        "active": b.active,
        "slotMinutes": b.slot_minutes,
        "parallel": b.parallel,
        "horizonDays": b.horizon_days,
        "leadMinutes": b.lead_minutes,
        "reminderHours": b.reminder_hours,
        "offerMinutes": b.offer_minutes,
        "holdMinutes": b.hold_minutes,
        "deadlineHours": b.deadline_hours,
        "mondayByFriday": b.monday_by_friday,
        "answerDays": b.answer_days,
        "weekly": _weekly_json(b.weekly),
        **({"ahead": {"free": b.ahead.free, "total": b.ahead.total}} if b.ahead else {}),  # read-only, sent back as read
        "campaigns": [_campaign_json(c) for c in b.campaigns],
    }


def _closure_json(c: Closure) -> Json:
    return {
        **({"id": c.id} if c.id else {}),
        "day": c.day.isoformat(),
        "start": c.start,
        "end": c.end,
        "reason": c.reason,
        "timebook": c.timebook,
    }


def setup_to_json(setup: OfficeSetup) -> Json:
    return {
        "resourceType": "TimebookSetup",
        "organization": setup.organization,
        **({"name": setup.name} if setup.name is not None else {}),
        "services": [{"type": s.type, "active": s.active} for s in setup.services],
        "timebooks": [_timebook_json(b) for b in setup.timebooks],
        "closures": [_closure_json(c) for c in setup.closures],
        "locations": [{"id": p.id, "name": p.name} for p in setup.locations],
        **({"version": setup.version} if setup.version is not None else {}),
    }
