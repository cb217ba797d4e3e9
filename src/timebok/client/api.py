"""`BookingClient`: one async method per thing a user does, over the backend's FHIR API."""

from __future__ import annotations

import asyncio
import json as jsonlib
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar, cast
from urllib.parse import unquote

import httpx
import orjson

from timebok.client import fhir_map
from timebok.client.errors import BookingError, ErrorKind, HeldTime
from timebok.client.models import (
    AffectedAppointment,
    Appointment,
    AppointmentState,
    DemoUser,
    InboxMessage,
    MonthAvailability,
    Notice,
    NoticeAttempt,
    Office,
    OfficeSetup,
    Patient,
    RepresentationReason,
    Represented,
    SetupChange,
    ShortNoticeWish,
    Slot,
    Timebook,
    TimebookChange,
    TimeType,
    User,
)
from timebok.client.setup_json import setup_from_json, setup_to_json
from timebok.client.signin import SignInError, TokenSource
from timebok.client.trace import REQUEST_HEADERS, RESPONSE_HEADERS, Exchange, hide, masked_body
from timebok.domain import appointment_life as life
from timebok.domain.clock import OSLO, now
from timebok.domain.notice_rules import OPT_OUT_URL
from timebok.domain.privacy import scrub
from timebok.domain.timetypes import TIMETYPE_CODES, TIMETYPE_SYSTEM

FHIR_JSON = "application/fhir+json"
_ELEVEN_DIGITS = re.compile(r"\d{11}")
REQUEST_ID_SYSTEM = "urn:ietf:rfc:3986"  # identifiers are urn:uuid:… URIs
Json = dict[str, Any]
# A search's query: a mapping, or pairs when a name repeats (FHIR's `date=ge…&date=lt…`).
Params = Mapping[str, str] | Sequence[tuple[str, str]]
PurposeKey = tuple[Hashable, ...]  # what a create is for, so a retry of the same thing reuses its identifier
Built = TypeVar("Built")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BookingClient:
    """Talks to one backend with one bearer token; use as `async with BookingClient(...) as client`.

    Searches are conditional without the caller doing anything: the client keeps the last ETag and
    parsed answer of each search URL and sends `If-None-Match`; on `304 Not Modified` the backend sends
    no body. When nothing changed, `month_availability`, `appointments`, `inbox`, `pending_requests` and
    `todays_appointments` return the very same object as the previous call, so a poller can tell
    "unchanged" with `result is previous` (and must treat results as read-only).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        agent_token: str | None = None,
        timeout: float = 10.0,
        page_size: int = 1000,
        max_pages: int = 50,
        read_retries: int = 2,
        write_retries: int = 2,
        trace: Callable[[Exchange], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        token_source: TokenSource | None = None,
        agent_source: TokenSource | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.timeout = timeout
        self.max_pages = max_pages
        self.read_retries = read_retries
        self.write_retries = write_retries
        # The identifier of each create still in doubt (no answer heard), by what it was for: sent again, it is
        # recognised by the backend instead of made twice.
        self._write_keys: dict[PurposeKey, str] = {}
        self._trace = trace
        self._secrets = tuple(secret for secret in (token, agent_token) if secret)  # never in the trace
        # Signed in with OpenID Connect: each request takes the current access token, renewed before it expires.
        self._sources = {"Authorization": token_source, "X-Support-Agent": agent_source}
        # Conditional reads: the last ETag and parsed body per URL, and what was built from a search's pages.
        self._answers: _Lru[str, tuple[str, Json]] = _Lru(maxsize=128)  # URL → (ETag, body)
        # A key → (what it was built from, what was built): the pages of a search, or a month's whole set of times.
        self._results: _Lru[Hashable, tuple[Any, Any]] = _Lru(maxsize=64)
        self._prefetching: dict[PurposeKey, asyncio.Task[tuple[Slot, ...]]] = {}  # months being fetched ahead of the user
        self._office_timebooks: dict[str, list[Timebook]] = {}  # office id → its timebooks, as last fetched
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"Authorization": f"Bearer {token}", "Accept": FHIR_JSON}
            # A support agent signs as the citizen and as themself; the backend audits the agent's reads.
            | ({"X-Support-Agent": agent_token} if agent_token else {}),
        )

    async def __aenter__(self) -> BookingClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for task in list(self._prefetching.values()):
            task.cancel()
        await self._http.aclose()

    # -- the signed-in user ------------------------------------------------------------------

    async def whoami(self) -> User:
        """The user behind the token: a citizen with their Patient and GP office, or staff with their office."""
        info = await self._json("GET", self._root + "/auth/userinfo")
        patient = await self.patient(info["patient"].split("/")[1]) if info.get("patient") else None
        office_ref = info.get("organization") or (f"Organization/{patient.office_id}" if patient and patient.office_id else None)
        office = await self.office(office_ref.split("/")[1]) if office_ref else None
        return User(
            role=info["role"],
            name=info["name"],
            patient=patient,
            office=office,
            agent=info.get("agent"),
            read_only=bool(info.get("read_only")),
        )

    async def write_as_citizen(self, reason: str) -> None:
        """«Skriv som»: a support agent acting as a citizen may write for a while; the backend audits it with `reason`."""
        await self._json("POST", self._root + "/auth/support-write", json={"reason": reason}, write=True)

    async def people(self) -> list[Represented]:
        """Those the signed-in citizen may act for (their children, those who gave them a fullmakt), as the backend
        decides from the register; empty for staff and when there is nobody."""
        found = [fhir_map.represented(r) async for r, _ in self._search("/Patient", {})]
        return [person for person in found if person is not None]

    async def representation_reasons(self) -> list[RepresentationReason]:
        """For a support agent acting as a citizen: everyone the register ties to them, and the rule that decided."""
        rows = await self._json("GET", self._root + "/support/representation")
        return [
            RepresentationReason(name=r["name"], age=int(r["age"]), relation=r["relation"], access=r["access"], rule=r["rule"])
            for r in rows["people"]
        ]

    async def demo_users(self) -> list[DemoUser]:
        """The people a demo backend lets you be (citizens, staff, support agents); a real backend has none."""
        try:
            rows = await self._json("GET", self._root + "/auth/demo-users")
        except BookingError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return []
            raise
        return [DemoUser(role=r["role"], name=r["name"], reference=r["reference"], token=r["token"]) for r in rows]

    @property
    def _root(self) -> str:
        return self.base_url.rsplit("/fhir", 1)[0]

    async def office(self, office_id: str) -> Office:
        return fhir_map.office(await self._json("GET", f"/Organization/{office_id}"))

    async def patient(self, patient_id: str) -> Patient:
        return fhir_map.patient(await self._json("GET", f"/Patient/{patient_id}"))

    # -- choosing a time ---------------------------------------------------------------------

    async def time_types(self, office_id: str) -> list[TimeType]:
        """The time types an office offers, in the guide's order."""
        resources = [
            r
            async for r, _ in self._search("/HealthcareService", {"organization": f"Organization/{office_id}", "active": "true"})
        ]
        order = TIMETYPE_CODES
        types = [fhir_map.time_type(r) for r in resources]
        return sorted(types, key=lambda t: (order.index(t.code) if t.code in order else len(order), t.code))

    async def timebooks(self, time_type_id: str) -> list[Timebook]:
        """The timebooks (with their attendance places) for one time type."""
        params = {"actor": f"HealthcareService/{time_type_id}", "active": "true", "_include": "Schedule:actor"}
        schedules, places = [], {}
        async for resource, mode in self._search("/Schedule", params):
            if resource["resourceType"] == "Schedule" and mode == "match":
                schedules.append(resource)
            elif resource["resourceType"] == "Location":
                places[resource["id"]] = fhir_map.place(resource)
        return [fhir_map.timebook(s, places) for s in schedules]

    async def free_slots(self, timebook_id: str, day: date) -> list[Slot]:
        """The free times of a timebook on one date, earliest first."""
        return await self._free_between(timebook_id, _midnight(day), _midnight(day + timedelta(days=1)))

    def prefetch_month(self, timebook_id: str, year: int, month: int) -> None:
        """Start fetching a month in the background (e.g. the next one while the user looks at this one), so
        that `month_availability` for it later is a cheap 304, or waits for this fetch instead of asking twice."""
        key = ("month", timebook_id, year, month)
        if key in self._prefetching:
            return
        task = asyncio.get_running_loop().create_task(self._whole_month(timebook_id, year, month))
        self._prefetching[key] = task

        def done(finished: asyncio.Task[tuple[Slot, ...]]) -> None:
            self._prefetching.pop(key, None)
            if not finished.cancelled():
                finished.exception()  # a failed prefetch is simply not used; the real read reports its own error

        task.add_done_callback(done)

    async def month_availability(
        self, timebook_id: str, year: int, month: int, *, earliest: datetime | None = None
    ) -> MonthAvailability:
        """Every free time of a timebook in a month (one search, paged as needed); its `dates` light up the calendar.

        `earliest` leaves out times before it (a citizen's booking lead time)."""
        following = date(year + month // 12, month % 12 + 1, 1)
        if _midnight(following) <= now():
            return MonthAvailability(year=year, month=month, slots=())
        whole = None
        ahead = self._prefetching.get(("month", timebook_id, year, month))
        if ahead is not None:
            try:
                whole = await asyncio.shield(ahead)  # shielded: a cancelled caller must not cancel it for the next one
            except BookingError:
                pass  # fetched ahead and failed: ask again, and report this attempt's outcome
        if whole is None:
            whole = await self._whole_month(timebook_id, year, month)
        # A time that has begun is not bookable, nor one inside the lead time.
        moment = now()
        slots = tuple(s for s in whole if s.start > moment and (earliest is None or s.start >= earliest))
        key = ("month", timebook_id, year, month)
        cached = self._results.get(key)
        # Both limits leave the times from some instant on, so the same answer with as many times left
        # holds the very same times.
        if cached is not None and cached[0] is whole and len(cached[1].slots) == len(slots):
            unchanged: MonthAvailability = cached[1]  # a "month" key holds (its whole month, its availability)
            return unchanged  # unchanged: the very same object as last time
        availability = MonthAvailability(year=year, month=month, slots=slots)
        self._results.put(key, (whole, availability))
        return availability

    async def _whole_month(self, timebook_id: str, year: int, month: int) -> tuple[Slot, ...]:
        # Always the whole month, so the URL is the same all day and a repeated read is a cheap 304.
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        params = self._free_params(timebook_id, _midnight(first), _midnight(following))
        return await self._search_result("/Slot", params, lambda entries: tuple(fhir_map.slot(r) for r, _ in entries))

    async def free_dates(self, timebook_id: str, year: int, month: int) -> frozenset[date]:
        """The dates in a month that have any free time."""
        return (await self.month_availability(timebook_id, year, month)).dates

    async def first_free_date(self, timebook_id: str, on_or_after: date, *, earliest: datetime | None = None) -> date | None:
        """The first date with a free time on or after a date (and not before `earliest`), or None when the timebook has none."""
        start = max(_midnight(on_or_after), now(), earliest or now())
        params = {"schedule": f"Schedule/{timebook_id}", "status": "free", "start": f"ge{_instant(start)}", "_count": "1"}
        bundle = await self._json("GET", "/Slot", params=params)
        entries = bundle.get("entry") or []
        return fhir_map.slot(entries[0]["resource"]).day if entries else None

    async def _free_between(self, timebook_id: str, start: datetime, end: datetime) -> list[Slot]:
        return [fhir_map.slot(r) async for r, _ in self._search("/Slot", self._free_params(timebook_id, start, end))]

    @staticmethod
    def _free_params(timebook_id: str, start: datetime, end: datetime) -> list[tuple[str, str]]:
        return [
            ("schedule", f"Schedule/{timebook_id}"),
            ("status", "free"),
            ("start", f"ge{_instant(start)}"),
            ("start", f"lt{_instant(end)}"),
        ]

    # -- booking -----------------------------------------------------------------------------

    async def request_booking(self, slot: Slot, patient_id: str, reason: str | None = None) -> Appointment:
        """Send a booking request for a free time; the office must confirm or reject it."""
        body: Json = {
            "resourceType": "Appointment",
            "status": "pending",
            "slot": [{"reference": f"Slot/{slot.id}"}],
            "start": _instant(slot.start),
            "end": _instant(slot.end),
            "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
        }
        if reason and reason.strip():
            body["description"] = reason.strip()
        resource = await self._create("/Appointment", body, ("book", slot.id, patient_id), conflict=ErrorKind.SLOT_TAKEN)
        # The booking is made: a follow-up read that fails leaves the place and office out, it does not undo it.
        return await self._with_context(fhir_map.appointment(resource), tolerant=True)

    # -- the appointment's life: holds, changes, attendance (README «The appointment's whole life») ------------

    async def hold(self, slot: Slot, patient_id: str, *, replaces: Appointment | None = None) -> Appointment:
        """Hold a time for this user while they finish (step 5, or a desk's pick): others are refused it (SLOT_HELD)
        until `hold_expires`. `replaces`: the hold is for a change of that appointment. Then `send_held` or `release`."""
        body = self._new_appointment(slot, patient_id, "proposed", None, replaces, None)
        resource = await self._create("/Appointment", body, ("hold", slot.id, patient_id), conflict=ErrorKind.SLOT_TAKEN)
        return await self._with_context(fhir_map.appointment(resource), tolerant=True)

    async def send_held(self, hold: Appointment, reason: str | None = None, *, book: bool = False) -> Appointment:
        """The held time becomes the request (a citizen's, WAITING) or, for staff with `book`, a booking (CONFIRMED);
        a change's old time goes when the new one is booked. Fails SLOT_TAKEN when the hold expired and another took it."""
        patch: list[Json] = [{"op": "replace", "path": "/status", "value": "booked" if book else "pending"}]
        if reason and reason.strip():
            patch.append({"op": "add", "path": "/description", "value": reason.strip()})
        return await self._patch(hold, patch, conflict=ErrorKind.SLOT_TAKEN)

    async def release(self, hold: Appointment) -> Appointment:
        """Give a held time back at once (the user went back); it would end by itself at `hold_expires` anyway."""
        return await self._patch(hold, [{"op": "replace", "path": "/status", "value": "cancelled"}])

    async def change(
        self,
        appointment: Appointment,
        slot: Slot,
        reason: str | None = None,
        *,
        book: bool = False,
        override: str | None = None,
    ) -> Appointment:
        """Move `appointment` to `slot` («Endre time»). A citizen's change is a request (WAITING, `replaces_id` set):
        the old time stays until the office confirms. Staff pass `book`: the new time is booked and the old cancelled
        at once. Past the deadline a citizen hears CHANGE_DEADLINE; staff give an `override` (OVERRIDE_REASONS)."""
        body = self._new_appointment(slot, appointment.patient_id, "booked" if book else "pending", reason, appointment, override)
        purpose = ("change", appointment.id, slot.id)
        resource = await self._create("/Appointment", body, purpose, conflict=ErrorKind.SLOT_TAKEN)
        return await self._with_context(fhir_map.appointment(resource), tolerant=True)

    async def mark_attendance(self, appointment: Appointment, status: str) -> Appointment:
        """Staff: «møtt» (arrived), «ferdig» (fulfilled), «ikke møtt» (noshow, once the time has begun), or the undo
        (booked; a done one back to arrived). Fails STALE when another desk marked it first, ILLEGAL_TRANSITION for a
        move the table does not allow."""
        if status not in ("arrived", "fulfilled", "noshow", "booked"):
            raise ValueError(f"not an attendance status: {status!r}")
        return await self._patch(appointment, [{"op": "replace", "path": "/status", "value": status}])

    async def held_times(self, timebook_id: str, day: date) -> list[Slot]:
        """The times of a day that someone holds while choosing (each with `held_until`), e.g. for a desk to show
        «Holdes av en annen ekspedisjon»; requests and bookings are left out."""
        params = [
            ("schedule", f"Schedule/{timebook_id}"),
            ("status", "busy-tentative"),
            ("start", f"ge{_instant(_midnight(day))}"),
            ("start", f"lt{_instant(_midnight(day + timedelta(days=1)))}"),
            ("_count", "1000"),
        ]
        slots = await self._search_result("/Slot", params, lambda entries: [fhir_map.slot(r) for r, _ in entries])
        return [s for s in slots if s.held_until is not None]

    def _new_appointment(
        self,
        slot: Slot,
        patient_id: str,
        status: str,
        reason: str | None,
        replaces: Appointment | None,
        override: str | None,
    ) -> Json:
        body: Json = {
            "resourceType": "Appointment",
            "status": status,
            "slot": [{"reference": f"Slot/{slot.id}"}],
            "start": _instant(slot.start),
            "end": _instant(slot.end),
            "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
        }
        if reason and reason.strip():
            body["description"] = reason.strip()
        extensions: list[Json] = []
        if replaces is not None:
            extensions.append({"url": life.REPLACES_URL, "valueReference": {"reference": f"Appointment/{replaces.id}"}})
        if override is not None:
            extensions.append({"url": life.OVERRIDE_URL, "valueCoding": {"system": life.OVERRIDE_SYSTEM, "code": override}})
        if extensions:
            body["extension"] = extensions
        return body

    async def _patch(
        self, appointment: Appointment, patch: list[Json], *, conflict: ErrorKind = ErrorKind.CONFLICT
    ) -> Appointment:
        resource = await self._json(
            "PATCH",
            f"/Appointment/{appointment.id}",
            json=patch,
            write=True,
            headers={"If-Match": f'W/"{appointment.version}"', "Content-Type": "application/json-patch+json"},
            conflict=conflict,
        )
        return await self._with_context(fhir_map.appointment(resource), tolerant=True)

    # -- «Kan komme på kort varsel»: the short-notice list (README «Messages») ------------------------------------

    async def ask_earlier(self, appointment: Appointment) -> ShortNoticeWish:
        """Put the patient on the short-notice list for an earlier time of this type at this place: from now until
        the appointment, which an offer they accept replaces. Asking again gives the same wish."""
        types = await self.time_types(appointment.office_id)
        service = next((tt.id for tt in types if tt.code == appointment.time_type_code), None)
        if service is None or appointment.place_id is None:
            raise BookingError(ErrorKind.NOT_FOUND, "the office no longer offers this time type")
        body: Json = {
            "resourceType": "Appointment",
            "status": "waitlist",
            "serviceType": [{"coding": [{"code": appointment.time_type_code}]}],
            "requestedPeriod": [{"start": _instant(now()), "end": _instant(appointment.start)}],
            "participant": [
                {"actor": {"reference": f"Patient/{appointment.patient_id}"}, "status": "accepted"},
                {"actor": {"reference": f"HealthcareService/{service}"}, "status": "needs-action"},
                {"actor": {"reference": f"Location/{appointment.place_id}"}, "status": "needs-action"},
            ],
            "extension": [{"url": life.REPLACES_URL, "valueReference": {"reference": f"Appointment/{appointment.id}"}}],
        }
        resource = await self._create("/Appointment", body, ("wish", appointment.id))
        return fhir_map.wish(resource)

    async def wishes(
        self,
        patient_id: str | None = None,
        *,
        time_type_code: str | None = None,
        place_id: str | None = None,
        named: bool = False,
    ) -> list[ShortNoticeWish]:
        """The short-notice list, first in line first: a citizen's own (and those of whom they act for), or the
        office's for staff, narrowed to a patient, a time type or a place. `named`: with each wish's patient and place
        (the desk's list names its rows from the same answer, without a read per wish)."""
        params: dict[str, str] = {"status": "waitlist"}
        if named:
            params["_include"] = "Appointment:actor"
        if patient_id:
            params["patient"] = f"Patient/{patient_id}"
        if time_type_code:
            params["service-type"] = time_type_code
        if place_id:
            params["location"] = f"Location/{place_id}"

        def build(entries: list[tuple[Json, str]]) -> list[ShortNoticeWish]:
            included = {f"{r['resourceType']}/{r['id']}": r for r, mode in entries if mode != "match"}
            return [fhir_map.wish(r, included) for r, mode in entries if mode == "match"]

        return await self._search_result("/Appointment", params, build)

    async def withdraw_wish(self, wish: ShortNoticeWish) -> ShortNoticeWish:
        """Off the list (safe to repeat); a time held for it goes to the next in line."""
        patch: list[Json] = [{"op": "replace", "path": "/status", "value": "cancelled"}]
        resource = await self._json(
            "PATCH",
            f"/Appointment/{wish.id}",
            json=patch,
            write=True,
            headers={"Content-Type": "application/json-patch+json"},
        )
        return fhir_map.wish(resource)

    async def decline_offer(self, offer: Appointment) -> Appointment:
        """Let an offered time go: the next in line is offered it. Accepting is `send_held` of the same hold."""
        return await self.release(offer)

    async def appointment(self, appointment_id: str) -> Appointment:
        return await self._with_context(fhir_map.appointment(await self._json("GET", f"/Appointment/{appointment_id}")))

    async def appointments(self, patient_id: str | None = None) -> list[Appointment]:
        """A patient's appointments (all of them for a citizen's own token), earliest first."""
        return await self._appointments(self._patient_params(patient_id))

    def known_appointments(self, patient_id: str) -> list[Appointment] | None:
        """What `appointments(patient_id)` answered last in this session, without asking (None: never asked)."""
        return cast("list[Appointment] | None", self._known("/Appointment", self._patient_params(patient_id)))

    @staticmethod
    def _patient_params(patient_id: str | None) -> dict[str, str]:
        params: dict[str, str] = {"_include": "Appointment:actor"}
        if patient_id:
            params["patient"] = f"Patient/{patient_id}"
        return params

    async def cancel(self, appointment: Appointment, reason: str | None = None, *, override: str | None = None) -> Appointment:
        """Cancel (avbestille) an appointment; fails as STALE when it changed since it was read, CHANGE_DEADLINE past
        its deadline (staff then give an `override`, a code of OVERRIDE_REASONS, which the backend audits)."""
        patch: list[Json] = [{"op": "replace", "path": "/status", "value": "cancelled"}]
        if reason or override:
            value: Json = {"text": reason} if reason else {}
            if override:
                value["coding"] = [{"system": life.OVERRIDE_SYSTEM, "code": override}]
            patch.append({"op": "add", "path": "/cancelationReason", "value": value})
        resource = await self._json(
            "PATCH",
            f"/Appointment/{appointment.id}",
            json=patch,
            write=True,
            headers={"If-Match": f'W/"{appointment.version}"', "Content-Type": "application/json-patch+json"},
        )
        return await self._with_context(fhir_map.appointment(resource))

    async def inbox(self, patient_id: str | None = None) -> list[InboxMessage]:
        """A patient's messages, newest first (None: all a citizen may read, theirs and those of people they act for)."""
        params = {"recipient": f"Patient/{patient_id}"} if patient_id else {}
        return await self._search_result(
            "/Communication", params, lambda entries: [fhir_map.inbox_message(r) for r, _ in entries]
        )

    def known_inbox(self, patient_id: str) -> list[InboxMessage] | None:
        """What `inbox(patient_id)` answered last in this session, without asking (None: never asked)."""
        return cast("list[InboxMessage] | None", self._known("/Communication", {"recipient": f"Patient/{patient_id}"}))

    # -- the office's side (staff tokens) ----------------------------------------------------

    async def find_patients(self, *, identifier: str | None = None, name: str | None = None) -> list[Patient]:
        """Find patients by identity number or name; POSTed as a form so the number never is in a URL."""
        form = {k: v for k, v in {"identifier": identifier, "name": name}.items() if v}
        bundle = await self._json("POST", "/Patient/_search", data=form)
        return [
            fhir_map.patient(e["resource"])
            for e in bundle.get("entry", [])
            if e.get("search", {}).get("mode", "match") == "match"
        ]

    async def pending_requests(self) -> list[Appointment]:
        """The office's booking requests waiting for an answer, oldest request first."""
        return await self._appointments({"status": "pending", "_sort": "_lastUpdated", "_include": "Appointment:actor"})

    async def confirm(self, appointment: Appointment | str) -> Appointment:
        """Confirm a booking request (pass the Appointment, not just its id, so a failed read afterwards still
        returns what was done)."""
        return await self._answer(appointment, "accepted", None)

    async def reject(self, appointment: Appointment | str, reason: str) -> Appointment:
        return await self._answer(appointment, "declined", reason)

    async def todays_appointments(self) -> list[Appointment]:
        """Today's confirmed appointments at the office, by time, also those marked arrived, done or no-show."""
        today = now().date()
        params = [
            ("status", "booked,arrived,fulfilled,noshow"),  # with the desk's attendance marks
            ("date", f"ge{today.isoformat()}"),
            ("date", f"lt{(today + timedelta(days=1)).isoformat()}"),
            ("_include", "Appointment:actor"),
        ]
        return await self._appointments(params)

    async def day_appointments(self, first: date, days: int = 1) -> list[Appointment]:
        """The office's appointments and requests on `days` Oslo dates from `first`, by time: «Dagens timer» for any
        day, the week overview and the printed day list. Cancelled ones are left out; the rest carry their state."""
        return await self._appointments(self._day_params(first, days))

    def known_day_appointments(self, first: date, days: int = 1) -> list[Appointment] | None:
        """What `day_appointments` answered last in this session for the same days, without asking (None: never
        asked). A screen shows it at once and asks anew: unchanged, the answer is this very list (a 304)."""
        return cast("list[Appointment] | None", self._known("/Appointment", self._day_params(first, days)))

    @staticmethod
    def _day_params(first: date, days: int) -> list[tuple[str, str]]:
        return [
            ("status", DESK_STATUSES),
            ("date", f"ge{first.isoformat()}"),
            ("date", f"lt{(first + timedelta(days=days)).isoformat()}"),
            ("_include", "Appointment:actor"),
        ]

    async def office_timebooks(self, office_id: str) -> list[Timebook]:
        """Every open timebook of an office, in the guide's order of time types: the desk's day list scopes."""
        found: list[Timebook] = []
        for time_type in await self.time_types(office_id):
            found.extend(await self.timebooks(time_type.id))
        self._office_timebooks[office_id] = found
        return found

    def known_timebooks(self, office_id: str) -> list[Timebook]:
        """The office's timebooks as `office_timebooks` last fetched them in this session, without asking (empty
        before the first fetch): a screen shows at once with them and fetches them anew after it is painted."""
        return self._office_timebooks.get(office_id, [])

    async def free_between(self, timebook_id: str, start: datetime, end: datetime) -> list[Slot]:
        """The free times (each parallel seat its own) of a timebook from `start` to `end`: the week overview's counts."""
        return await self._free_between(timebook_id, start, end)

    # -- e-mail and SMS notices (a JSON list outside FHIR, like the setup: README «Messages: e-mail, SMS and reminders») --

    async def notices(self, patient_id: str) -> list[Notice]:
        """The patient's e-mails and SMS, newest first: channel, state, why skipped, each try."""
        body = await self._json("GET", f"{self._root}/notices/Patient/{patient_id}", headers={"Accept": "application/json"})
        return [_notice(n) for n in body.get("notices", [])]

    async def set_notice_opt_outs(self, appointment: Appointment, *, notices: bool, reminders: bool) -> Appointment:
        """Turn e-mail/SMS notices about this time, or only its reminder, off (or on again); the inbox stays.
        Fails STALE when the appointment changed since it was read."""
        wanted = [{"url": OPT_OUT_URL, "valueCode": code} for code, on in (("notices", notices), ("reminders", reminders)) if on]
        return await self._patch(appointment, [{"op": "replace", "path": "/extension", "value": wanted}])

    # -- the short-notice list, «Kan komme på kort varsel» (README «Messages: e-mail, SMS and reminders») --------

    async def ask_short_notice(
        self, patient_id: str, timebook: Timebook, start: datetime, end: datetime, *, replaces: Appointment | None = None
    ) -> ShortNoticeWish:
        """Put a patient on a timebook's short-notice list for a time from `start` to `end` (an earlier time than
        `replaces`, when given). Safe to repeat: the same wish sent again is the first one."""
        body: Json = {
            "resourceType": "Appointment",
            "status": "waitlist",
            "serviceType": [{"coding": [{"system": TIMETYPE_SYSTEM, "code": timebook.time_type_code}]}],
            "requestedPeriod": [{"start": _instant(start), "end": _instant(end)}],
            "participant": [
                {"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"},
                {"actor": {"reference": f"HealthcareService/{timebook.service_id}"}, "status": "needs-action"},
                {"actor": {"reference": f"Location/{timebook.place.id}"}, "status": "needs-action"},
            ],
        }
        if replaces is not None:
            body["extension"] = [{"url": life.REPLACES_URL, "valueReference": {"reference": f"Appointment/{replaces.id}"}}]
        purpose = ("wish", patient_id, timebook.id, start, end, replaces.id if replaces else None)
        return fhir_map.wish(await self._create("/Appointment", body, purpose))

    async def offer_time(self, wish: ShortNoticeWish, slot: Slot) -> Appointment:
        """The desk offers a free time to this wish by hand: it is held for the patient (the timebook's offer window)
        and they are told by inbox, e-mail and SMS. Safe to repeat; SLOT_TAKEN or SLOT_HELD when it is not free."""
        body = {"resourceType": "Parameters", "parameter": [{"name": "slot", "valueReference": {"reference": f"Slot/{slot.id}"}}]}
        resource = await self._json(
            "POST", f"/Appointment/{wish.id}/$offer", json=body, write=True, conflict=ErrorKind.SLOT_TAKEN
        )
        return await self._with_context(fhir_map.appointment(resource), tolerant=True)

    # -- the office's timebook setup (a JSON document outside FHIR: README «Timebook setup») ------

    async def find_office(self, her_id: str) -> Office | None:
        """The office with this HER-id, or None."""
        found = [r async for r, _ in self._search("/Organization", {"identifier": her_id})]
        return fhir_map.office(found[0]) if found else None

    async def office_setup(self, office_id: str) -> OfficeSetup:
        """The office's time types, timebooks (weekly pattern, campaigns), closures and places."""
        return setup_from_json(
            await self._json("GET", f"{self._root}/setup/Organization/{office_id}", headers={"Accept": "application/json"})
        )

    async def change_setup(self, setup: OfficeSetup, *, preview: bool = False) -> SetupChange:
        """Send the whole setup; `preview` only says what it would do (free times created and removed, the
        appointments it hits). Safe to repeat: the same setup sent twice changes nothing the second time.
        Raises STALE when another desk changed the setup since `setup` was read."""
        office_id = setup.office_id
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if setup.version:  # based on this read: if another desk saved since, the backend says so (STALE) and writes nothing
            headers["If-Match"] = f'W/"{setup.version}"'
        answer = await self._json(
            "PUT",
            f"{self._root}/setup/Organization/{office_id}",
            json=setup_to_json(setup),
            params={"preview": "true"} if preview else None,
            write=True,
            headers=headers,
        )
        return SetupChange(
            setup=setup_from_json(answer["setup"]),
            created=answer["created"],
            removed=answer["removed"],
            preview=answer["preview"],
            affected=[
                AffectedAppointment(
                    id=a["appointment"].split("/")[1],
                    status=a["status"],
                    start=datetime.fromisoformat(a["start"]).astimezone(OSLO),
                    patient_name=a["patientName"],
                    timebook_id=a["timebook"].split("/")[1],
                    timebook_name=a.get("timebookName"),
                )
                for a in answer["affected"]
            ],
            # Per timebook, when the backend says it (an older one gives the totals only).
            changes=[
                TimebookChange(
                    timebook_id=c["timebook"].split("/")[1] if c.get("timebook") else "",  # a new one: none yet
                    name=c.get("name", ""),
                    created=c.get("created", 0),
                    removed=c.get("removed", 0),
                    days=[date.fromisoformat(d) for d in c.get("days", [])],
                    more_days=c.get("moreDays", 0),
                )
                for c in answer.get("changes") or []
            ],
        )

    async def _answer(self, appointment: Appointment | str, status: str, reason: str | None) -> Appointment:
        appointment_id = appointment if isinstance(appointment, str) else appointment.id
        body: Json = {
            "resourceType": "AppointmentResponse",
            "appointment": {"reference": f"Appointment/{appointment_id}"},
            "participantStatus": status,
        }
        if reason:
            body["comment"] = reason
        await self._create("/AppointmentResponse", body, ("answer", appointment_id, status))
        try:
            return await self.appointment(appointment_id)
        except BookingError:
            if isinstance(appointment, str):
                raise
            # The answer is given: say so with what we know, rather than report the read that followed as its failure.
            state = AppointmentState.CONFIRMED if status == "accepted" else AppointmentState.REJECTED
            return replace(
                appointment, state=state, version=appointment.version + 1, office_reason=reason or appointment.office_reason
            )

    async def _create(self, path: str, body: Json, purpose: PurposeKey, *, conflict: ErrorKind = ErrorKind.CONFLICT) -> Json:
        """POST a resource under an identifier of its own (FHIR conditional create), so that sending it again is safe.

        When no answer comes (a timeout, a dropped connection) the first may still have arrived: the same create is
        sent again, and the backend either makes it now or returns the one it already made. Only when that too gets
        no answer is the user told, and the identifier is kept, so their own try-again is just as safe."""
        # A new identifier per request, except the one still in doubt from the last try of the same thing.
        earlier = self._write_keys.pop(purpose, None)
        key = earlier or _request_identifier()
        body = body | {"identifier": [{"system": REQUEST_ID_SYSTEM, "value": key}]}
        headers = {"If-None-Exist": f"identifier={REQUEST_ID_SYSTEM}|{key}"}
        maybe_sent = earlier is not None  # whether any try so far, the user's earlier ones too, may have reached the backend
        for attempt in range(1 + self.write_retries):
            try:
                resource: Json = await self._json("POST", path, json=body, headers=headers, write=True, conflict=conflict)
            except BookingError as error:
                if error.kind in (ErrorKind.TIMEOUT, ErrorKind.OFFLINE):
                    maybe_sent = error.maybe_sent = maybe_sent or error.maybe_sent  # a refused retry undoes no earlier doubt
                    if attempt < self.write_retries:
                        await asyncio.sleep(0.2 * (attempt + 1))
                        continue
                    self._write_keys[purpose] = key  # still in doubt: the user's own try-again reuses it
                raise
            return resource
        raise AssertionError("unreachable")

    async def _appointments(self, params: Params) -> list[Appointment]:
        def build(entries: list[tuple[Json, str]]) -> list[Appointment]:
            matches: list[Json] = []
            included: dict[str, Json] = {}
            for resource, mode in entries:
                if mode == "match":
                    matches.append(resource)
                else:
                    included[f"{resource['resourceType']}/{resource['id']}"] = resource
            return [fhir_map.appointment(r, included) for r in matches]

        return await self._search_result("/Appointment", params, build)

    async def _with_context(self, appointment: Appointment, *, tolerant: bool = False) -> Appointment:
        """Fill in the place and office of a single appointment (lists get them through _include); `tolerant`
        after a write that was made: then a failed read leaves them out instead of reporting the write as failed."""
        try:
            place = fhir_map.place(await self._json("GET", f"/Location/{appointment.place_id}")) if appointment.place_id else None
            office = await self.office(appointment.office_id) if appointment.office_id else None
        except BookingError:
            if not tolerant:
                raise
            return appointment
        return replace(appointment, place=place, office=office)

    # -- transport ---------------------------------------------------------------------------

    async def _search_result(self, path: str, params: Params, build: Callable[[list[tuple[Json, str]]], Built]) -> Built:
        """`build` of every entry of a search; when every page came back 304, the very object built last time."""
        pairs = _pairs(params)
        pages: list[Json] = []
        async for page in self._search_pages(path, pairs):
            pages.append(page)
        key = (path, tuple(pairs))
        cached = self._results.get(key)
        if cached is not None and len(cached[0]) == len(pages) and all(a is b for a, b in zip(cached[0], pages, strict=True)):
            # Safe: each search path is built by one `build` throughout (see the callers), so the key fixes the type.
            return cast(Built, cached[1])
        result = build(
            [(e["resource"], e.get("search", {}).get("mode", "match")) for page in pages for e in page.get("entry", [])]
        )
        self._results.put(key, (pages, result))
        return result

    def _known(self, path: str, params: Params) -> Any:
        """What `_search_result` last built for this search, or None; the caller casts it to what its `build` made
        (safe: each search path is built by one `build` throughout, as in `_search_result`)."""
        cached = self._results.get((path, tuple(_pairs(params))))
        return cached[1] if cached is not None else None

    async def _search(self, path: str, params: Params) -> AsyncIterator[tuple[Json, str]]:
        async for bundle in self._search_pages(path, params):
            for entry in bundle.get("entry", []):
                yield entry["resource"], entry.get("search", {}).get("mode", "match")

    async def _search_pages(self, path: str, params: Params) -> AsyncIterator[Json]:
        """Every entry of a search, following `next` links, as (resource, search mode)."""
        query = _pairs(params)
        if not any(k == "_count" for k, _ in query):
            query.append(("_count", str(self.page_size)))
        page_query: list[tuple[str, str]] | None = query
        url: str | None = path
        followed: set[str] = set()
        while url:
            bundle = await self._json("GET", url, params=page_query)
            yield bundle
            url = next((link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"), None)
            page_query = None  # the next link carries the whole query
            if url is None:
                break
            # A next link is followed only to our own backend (the token goes with it), never twice, and only so far.
            if not self._same_origin(url):
                raise BookingError(ErrorKind.SERVER, "The backend's next page is on another server; it was not followed")
            if url in followed:
                raise BookingError(ErrorKind.SERVER, "The backend's next page link points back to a page already read")
            if len(followed) + 1 >= self.max_pages:
                raise BookingError(ErrorKind.SERVER, f"The backend's answer runs over more than {self.max_pages} pages")
            followed.add(url)

    def _same_origin(self, url: str) -> bool:
        link, ours = httpx.URL(url), httpx.URL(self.base_url)
        return link.is_relative_url or (link.scheme, link.host, link.port) == (ours.scheme, ours.host, ours.port)

    async def _json(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        write: bool = False,
        conflict: ErrorKind = ErrorKind.CONFLICT,
    ) -> Any:  # the parsed body: a JSON object (FHIR, setup, userinfo), or a list (the demo users)
        headers = dict(headers or {})
        if json is not None:
            content = jsonlib.dumps(json, ensure_ascii=False).encode()
            headers.setdefault("Content-Type", FHIR_JSON)
        else:
            content = None
        request = self._http.build_request(
            method, url, params=None if params is None else tuple(_pairs(params)), content=content, data=data, headers=headers
        )
        held = self._answers.get(str(request.url)) if method == "GET" else None
        if held is not None:
            request.headers["If-None-Match"] = held[0]
        response = await self._send(request, retry=not write)
        if response.status_code == 304 and held is not None:
            return held[1]  # unchanged: the very object parsed last time
        if response.status_code >= 400:
            raise _error_for(response, conflict)
        try:
            body = orjson.loads(response.content)  # a day of 400 appointments: 5 ms, where json.loads took 16
        except ValueError:
            raise BookingError(
                ErrorKind.SERVER, "The backend answered with something that is not JSON", status=response.status_code
            ) from None
        if (
            method == "GET"
            and (tag := response.headers.get("etag"))
            and isinstance(body, dict)
            and body.get("resourceType") == "Bundle"
        ):
            self._answers.put(str(request.url), (tag, body))
        return body

    async def _send(self, request: httpx.Request, *, retry: bool) -> httpx.Response:
        # Reads are retried briefly when the connection fails; a write is never sent twice here, blindly,
        # since the first may have arrived even though we heard nothing back (creates repeat themselves safely
        # under their identifier, in _create).
        await self._sign(request)
        attempts = 1 + (self.read_retries if retry else 0)
        fresh_connection_tried = False
        for attempt in range(attempts + 1):
            started_at = now()  # the process's one clock (TIMEBOK_NOW)
            started = time.perf_counter()
            try:
                # The timeout bounds the whole exchange: httpx's own is per read, and a server dribbling a byte
                # a second would never trip it.
                async with asyncio.timeout(self.timeout):
                    response = await self._http.send(request)
                    await response.aread()
            except (httpx.TimeoutException, TimeoutError) as error:
                self._record(request, None, started_at, started, "timeout")
                raise BookingError(
                    ErrorKind.TIMEOUT,
                    "The booking service did not answer in time",
                    maybe_sent=not isinstance(error, (httpx.ConnectTimeout, httpx.PoolTimeout)),
                ) from error
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
                self._record(request, None, started_at, started, "offline")
                if retry and not fresh_connection_tried and not isinstance(error, httpx.ConnectError):
                    # A kept-alive connection the server had closed (e.g. after a 500): httpx has dropped it, so
                    # this read goes once more, on a new connection, before anyone hears "offline".
                    fresh_connection_tried = True
                    continue
                if attempt + 1 < attempts and isinstance(error, httpx.ConnectError):
                    await asyncio.sleep(0.2 * (attempt + 1))
                    continue
                # A refused connection sent nothing; one that broke may have carried the request first.
                raise BookingError(
                    ErrorKind.OFFLINE, "Could not reach the booking service", maybe_sent=not isinstance(error, httpx.ConnectError)
                ) from error
            except httpx.HTTPError as error:
                self._record(request, None, started_at, started, type(error).__name__)
                raise BookingError(ErrorKind.OFFLINE, "Could not reach the booking service") from error
            self._record(request, response, started_at, started, None)
            return response
        raise AssertionError("unreachable")

    async def _sign(self, request: httpx.Request) -> None:
        for header, source in self._sources.items():
            if source is None:
                continue
            try:
                # Off the event loop only when it may have to ask the provider (renewal is a blocking HTTP call).
                token = source.tokens.access_token if not source.tokens.expiring() else await asyncio.to_thread(source.bearer)
            except SignInError as error:
                raise BookingError(
                    ErrorKind.SIGN_IN,
                    f"The sign-in has expired and could not be renewed: {error}",
                    source=source,
                    rule=error.reason,
                ) from None
            request.headers[header] = f"Bearer {token}" if header == "Authorization" else token

    def _record(
        self, request: httpx.Request, response: httpx.Response | None, started_at: datetime, started: float, error: str | None
    ) -> None:
        if self._trace is None:
            return
        url = request.url
        target = unquote(url.path + (f"?{url.query.decode('ascii')}" if url.query else ""))
        body = request.content
        answered = response.headers if response is not None else {}
        # The tokens this very request carried (an OpenID Connect access token changes as it is renewed).
        sent = tuple(request.headers.get(name, "").removeprefix("Bearer ") for name in ("authorization", "x-support-agent"))
        secrets = self._secrets + tuple(value for value in sent if len(value) >= 8)
        self._trace(
            Exchange(
                started=started_at,
                method=request.method,
                path=hide(scrub(target), secrets),
                status=response.status_code if response is not None else None,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                request_bytes=len(body),
                response_bytes=len(response.content) if response is not None else 0,
                request_body=masked_body(body, secrets),
                response_body=masked_body(response.content, secrets) if response is not None else "",
                error=error,
                request_headers={k: hide(v, secrets) for k in REQUEST_HEADERS if (v := request.headers.get(k))},
                response_headers={k: hide(v, secrets) for k in RESPONSE_HEADERS if (v := answered.get(k))},
                request_id=answered.get("x-request-id"),
            )
        )


class _Lru(Generic[K, V]):
    """A small dict that forgets the least recently used entry beyond `maxsize`."""

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._maxsize:
            self._items.popitem(last=False)


def _error_for(response: httpx.Response, conflict: ErrorKind) -> BookingError:
    try:
        issues = response.json().get("issue", [])
        diagnostic = "; ".join(i.get("diagnostics", "") for i in issues) or response.reason_phrase
        code = issues[0].get("code") if issues else None
        rule = _rule(issues[0]) if issues else None
        field = (issues[0].get("expression") or [None])[0] if issues else None
        held = _held_time(issues[0]) if rule == "patient-overlap" else None
        until = _until(issues[0]) if issues else None
    except ValueError:
        diagnostic, code, rule, field, held, until = response.reason_phrase, None, None, None, None, None
    status = response.status_code
    if status == 401:
        kind = ErrorKind.UNAUTHORIZED
    elif status == 403:
        if rule in SIGN_IN_RULES:
            kind = ErrorKind.SIGN_IN_REFUSED
        else:
            kind = ErrorKind.READ_ONLY if rule == "read-only" else ErrorKind.FORBIDDEN
    elif rule in _RULE_KINDS:  # before «not found»: a removed time is a rule of its own
        kind = _RULE_KINDS[rule]
    elif status == 404 or code == "not-found":
        kind = ErrorKind.NOT_FOUND
    elif status == 409:
        kind = conflict
    elif status == 412:
        kind = ErrorKind.STALE
    elif status >= 500:
        kind = ErrorKind.SERVER
    else:
        kind = ErrorKind.INVALID
    return BookingError(kind, diagnostic, status=status, field=field, rule=rule, held=held, until=until)


# The backend's rule codes for a sign-in it refuses (backend.auth): the person is no one this service knows.
SIGN_IN_RULES = frozenset({"not-a-patient", "assurance-too-low", "sign-in-level", "unknown-office"})
# The booking rule the backend names in OperationOutcome.issue.details, for a distinct error kind.
_RULE_KINDS = {
    "slot-past": ErrorKind.SLOT_PAST,
    "too-soon": ErrorKind.TOO_SOON,
    "slot-gone": ErrorKind.SLOT_GONE,
    "patient-overlap": ErrorKind.PATIENT_OVERLAP,
    "slot-held": ErrorKind.SLOT_HELD,
    "change-deadline": ErrorKind.CHANGE_DEADLINE,
    "change-pending": ErrorKind.CHANGE_PENDING,
    "illegal-transition": ErrorKind.ILLEGAL_TRANSITION,
    "noshow-too-early": ErrorKind.TOO_EARLY,
    "unanswered": ErrorKind.UNANSWERED,
}


def _until(issue: Json) -> datetime | None:
    """When another user's hold ends (slot-held) or the deadline that passed (change-deadline), from the issue."""
    for item in issue.get("extension") or []:
        if isinstance(item, dict) and item.get("url") in (life.HOLD_URL, life.DEADLINE_URL):
            value = item.get("valueInstant") or item.get("valueDateTime")
            try:
                return datetime.fromisoformat(str(value)).astimezone(OSLO)
            except ValueError:
                return None
    return None


HELD_TIME_URL = "https://timebok.example/fhir/StructureDefinition/overlapping-appointment"


def _held_time(issue: Json) -> HeldTime | None:
    """The time already held, from the patient-overlap issue's extension; None when it cannot be read."""
    found = next((e for e in issue.get("extension") or [] if isinstance(e, dict) and e.get("url") == HELD_TIME_URL), None)
    parts = {p.get("url"): p for p in (found or {}).get("extension") or [] if isinstance(p, dict)}
    try:
        start = datetime.fromisoformat(parts["start"]["valueInstant"])
    except (KeyError, TypeError, ValueError):
        return None
    type_code = (parts.get("type", {}).get("valueCoding") or {}).get("code")
    place = parts.get("place", {}).get("valueString")
    return HeldTime(
        start.astimezone(OSLO), type_code if isinstance(type_code, str) else None, place if isinstance(place, str) else None
    )


def _rule(issue: Json) -> str | None:
    codings = (issue.get("details") or {}).get("coding") or []
    code = next((c.get("code") for c in codings if isinstance(c, dict)), None)
    return code if isinstance(code, str) else None


# What an appointment can be at the desk's day list: a request, a booking, and what the day made of it (issue 24).
DESK_STATUSES = "pending,booked,arrived,fulfilled,noshow"


def _pairs(params: Params) -> list[tuple[str, str]]:
    return list(params.items()) if isinstance(params, Mapping) else list(params)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=OSLO)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(OSLO)


def _notice(n: Json) -> Notice:
    return Notice(
        id=n["id"],
        event=n["event"],
        channel=n["channel"],
        recipient=n["recipient"],
        subject=n["subject"],
        state=n["state"],
        created=_moment(n["created"]),
        due=_moment(n["due"]),
        reason=n.get("reason"),
        sent=_moment(n["sent"]) if n.get("sent") else None,
        appointment=n.get("appointment"),
        attempts=tuple(NoticeAttempt(at=_moment(a["at"]), ok=a["ok"], detail=a.get("detail")) for a in n.get("attempts", [])),
    )


def _instant(moment: datetime) -> str:
    return moment.astimezone(OSLO).isoformat(timespec="seconds")


def _request_identifier() -> str:
    """A urn:uuid for one write. Drawn again in the rare case (under 1 %) that its last group holds eleven digits
    in a row: the trace and the logs mask those as identity numbers, and the identifier must stay readable."""
    while True:
        key = f"urn:uuid:{uuid.uuid4()}"
        if not _ELEVEN_DIGITS.search(key):
            return key
