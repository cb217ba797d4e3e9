"""The demo data: fictional offices, timebooks, slots, patients and tokens, deterministic for a given "now"."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from timebok.backend import messages, schema
from timebok.backend.auth import CITIZEN, STAFF, SUPPORT
from timebok.backend.db import Database
from timebok.backend.fhir import to_storage
from timebok.backend.generation import regenerate
from timebok.domain.clock import OSLO, now
from timebok.domain.identity import DNR_SYSTEM, FNR_SYSTEM, IdKind, make_identity_number, make_orgnr

# The demo offices' weekly patterns, as an office would set them up (backend/setup_body.py's format).
_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def _pattern(ranges: Iterable[tuple[str, str]], days: Iterable[str] = _WEEKDAYS) -> str:
    return json.dumps([{"days": list(days), "start": start, "end": end} for start, end in ranges])


LAB_HOURS = (_pattern([("08:00", "11:30"), ("12:00", "15:30")]), 10)
TEST_HOURS = (_pattern([("09:00", "14:00")]), 15)
DRIVE_IN_HOURS = (_pattern([("08:00", "12:00")], ["mon", "wed", "fri"]), 10)
VACCINE_HOURS = (_pattern([("08:30", "15:00")]), 15)
CORONA_VACCINE_HOURS = (_pattern([("09:00", "12:00")], ["tue", "thu"]), 15)


@dataclass(frozen=True)
class DemoToken:
    role: str
    name: str
    reference: str
    token: str


def _has_data(session: Session) -> bool:
    return session.execute(select(func.count()).select_from(schema.Organization)).scalar_one() > 0


def is_seeded(db: Database) -> bool:
    with db.reading() as session:
        return _has_data(session)


def seed_if_empty(db: Database) -> bool:
    """Seed an empty database; True when it did. Safe when several instances start on one database at once."""
    if is_seeded(db):
        _add_support_agent(db)  # demo files seeded before support agents existed get one too
        _add_register(db)  # and those seeded before the folkeregister get its people
        return False
    with db.writing() as session:
        # The lock makes a second instance wait, then see the first one's seed and leave it be.
        db.serialize(session, "seed")
        if _has_data(session):
            return False
        _seed(session)
        _add_support_agent_row(session)
    return True


SUPPORT_TOKEN = "demo-support-nhn"


def _add_support_agent(db: Database) -> None:
    with db.reading() as session:
        if session.get(schema.AccessToken, SUPPORT_TOKEN) is not None:
            return
    with db.writing() as session:
        db.serialize(session, "seed")  # two instances upgrading one old demo database add it once
        if session.get(schema.AccessToken, SUPPORT_TOKEN) is None:
            _add_support_agent_row(session)


def _add_register(db: Database) -> None:
    with db.reading() as session:
        if session.execute(select(func.count()).select_from(schema.RegisterPerson)).scalar_one() > 0:
            return
    with db.writing() as session:
        db.serialize(session, "seed")
        if session.execute(select(func.count()).select_from(schema.RegisterPerson)).scalar_one() == 0:
            _seed_register(session, now().date())


def _add_support_agent_row(session: Session) -> None:
    session.add(schema.AccessToken(token=SUPPORT_TOKEN, role=SUPPORT, name="Kundesenter, NHN"))


# The tokens the seed makes: all a demo backend ever lists, whatever else is later put in its database.
DEMO_TOKENS = frozenset(
    [f"demo-citizen-{name}" for name in ("kari", "ola", "aisha", "per", "ingrid")]
    + ["demo-staff-fjordsiden", "demo-staff-bakkebyen", SUPPORT_TOKEN]
)


def other_tokens(db: Database) -> int:
    """How many tokens the database holds that the demo seed did not make (real users' tokens)."""
    with db.reading() as session:
        return session.execute(
            select(func.count()).select_from(schema.AccessToken).where(schema.AccessToken.token.not_in(DEMO_TOKENS))
        ).scalar_one()


def demo_tokens(db: Database, *, demo_only: bool = False) -> list[DemoToken]:
    """The tokens in the database, citizens first, for `timebok tokens`; `demo_only`: just the seeded demo users,
    for the demo start screen."""
    with db.reading() as session:
        query = select(schema.AccessToken).order_by(schema.AccessToken.role, schema.AccessToken.name)
        if demo_only:
            query = query.where(schema.AccessToken.token.in_(DEMO_TOKENS))
        rows = session.scalars(query).all()
        return [
            DemoToken(
                role=row.role,
                name=row.name,
                reference=(
                    f"Patient/{row.patient_id}"
                    if row.patient_id
                    else f"Organization/{row.organization_id}"
                    if row.organization_id
                    else ""
                ),
                token=row.token,
            )
            for row in rows
        ]


def _orgnr(seed: str) -> str:
    # Walk from a fictional prefix to the first number with a valid control digit.
    base = int(seed)
    while (number := make_orgnr(str(base))) is None:
        base += 1
    return number


def _person_number(birth: date, first_individual: int, kind: IdKind) -> str:
    individual = first_individual
    while (number := make_identity_number(birth, individual, kind=kind, synthetic=True)) is None:
        individual += 1
    return number


def _seed(session: Session) -> None:
    moment = now()
    today = moment.date()
    rng = random.Random(f"timebok-demo-{today.isoformat()}")

    fjord = schema.Organization(name="Fjordsiden legekontor", her_id="8123401", orgnr=_orgnr("99123401"), phone="55 12 34 00")
    bakke = schema.Organization(name="Bakkebyen legesenter", her_id="8123402", orgnr=_orgnr("99123402"), phone="22 98 76 00")
    session.add_all([fjord, bakke])
    session.flush()

    # A planning day two weeks ahead: the calendar must show it as closed although it is a weekday.
    closure = today + timedelta(days=14)
    while closure.weekday() != 4:
        closure += timedelta(days=1)
    session.add(schema.ClosureDay(organization_id=fjord.id, day=closure, reason="Planleggingsdag"))

    def place(office: schema.Organization, name: str, line: str, postal: str, city: str, directions: str) -> schema.Location:
        row = schema.Location(
            organization_id=office.id, name=name, address_line=line, postal_code=postal, city=city, directions=directions
        )
        session.add(row)
        return row

    fjord_main = place(
        fjord,
        "Fjordsiden legekontor",
        "Strandgaten 12",
        "5013",
        "Bergen",
        "Inngang fra Strandgaten. Ta heisen til 2. etasje og meld deg i resepsjonen.",
    )
    fjord_drive = place(
        fjord,
        "Drive-in teststasjon",
        "Kaiveien 4",
        "5015",
        "Bergen",
        "Kjør inn fra Kaiveien og følg skiltene til teststasjonen. Bli sittende i bilen.",
    )
    bakke_main = place(
        bakke,
        "Bakkebyen legesenter",
        "Bakkeveien 7",
        "0560",
        "Oslo",
        "Inngang ved apoteket i 1. etasje. Laboratoriet ligger til venstre etter resepsjonen.",
    )
    session.flush()

    def service(office: schema.Organization, code: str) -> schema.HealthcareService:
        row = schema.HealthcareService(organization_id=office.id, type_code=code, active=True)
        session.add(row)
        session.flush()
        return row

    first = today - timedelta(days=14)  # a little history, so past appointments have real slots
    last = _month_end(today, months_ahead=2)
    next_month = _month_end(today, months_ahead=0) + timedelta(days=1)

    def timebook(svc: schema.HealthcareService, location: schema.Location, name: str, hours: tuple[str, int]) -> schema.Schedule:
        # Set up as an office would (pattern, slot length, horizon), then generated by the same code as theirs.
        weekly, minutes = hours
        row = schema.Schedule(
            healthcare_service_id=svc.id,
            location_id=location.id,
            name=name,
            active=True,
            weekly=weekly,
            slot_minutes=minutes,
            parallel=1,
            horizon_days=(last - today).days,
            deadline_hours=24,  # the hospitals' 24-hour rule: citizens cancel or change a booked time a day ahead
        )
        session.add(row)
        session.flush()
        return row

    corona_test = service(fjord, "Koronatest")
    corona_vaccine = service(fjord, "Koronavaksine")
    lab = service(fjord, "Lab")
    vaccine = service(fjord, "Vaksine")
    bakke_lab = service(bakke, "Lab")
    bakke_vaccine = service(bakke, "Vaksine")

    plan = [
        (timebook(corona_test, fjord_main, "Koronatest på legekontoret", TEST_HOURS), 0.35, None),
        (timebook(corona_test, fjord_drive, "Koronatest drive-in", DRIVE_IN_HOURS), 0.25, None),
        (timebook(corona_vaccine, fjord_main, "Koronavaksine", CORONA_VACCINE_HOURS), 0.3, None),
        (timebook(lab, fjord_main, "Laboratoriet", LAB_HOURS), 0.3, None),
        # Fully booked this month: the citizen must browse to next month to find a free time.
        (timebook(vaccine, fjord_main, "Vaksinasjon", VACCINE_HOURS), 0.3, next_month),
        (timebook(bakke_lab, bakke_main, "Laboratoriet", LAB_HOURS), 0.4, None),
        (timebook(bakke_vaccine, bakke_main, "Vaksinasjon", VACCINE_HOURS), 0.3, None),
    ]
    since = datetime.combine(first, time(0), tzinfo=OSLO)
    busy_ids = []
    for schedule, taken_share, free_from in plan:
        regenerate(session, schedule, since=since)
        # The demo's other patients: a share of the times is taken (no appointment of ours behind them).
        for slot_id, start in session.execute(
            select(schema.Slot.id, schema.Slot.start).where(schema.Slot.schedule_id == schedule.id).order_by(schema.Slot.start)
        ):
            start = start.replace(tzinfo=UTC)
            day = start.astimezone(OSLO).date()
            if start <= moment or rng.random() < taken_share or (free_from is not None and day < free_from):
                busy_ids.append(slot_id)
    for index in range(0, len(busy_ids), 2000):
        session.execute(update(schema.Slot).where(schema.Slot.id.in_(busy_ids[index : index + 2000])).values(status="busy"))
    books = [row for row, _, _ in plan]  # the history below picks timebooks by position

    def patient(
        given: str, family: str, birth: date, kind: IdKind, office: schema.Organization, individual: int, language: str = "nb"
    ) -> schema.Patient:
        number = _person_number(birth, individual, kind)
        row = schema.Patient(
            identifier_system=DNR_SYSTEM if kind is IdKind.D_NUMMER else FNR_SYSTEM,
            identifier=number,
            given=given,
            family=family,
            birth_date=birth,
            gp_organization_id=office.id,
            # Fictional on purpose: a reserved domain (RFC 2606 .example) and a number no Norwegian phone can have
            # (no number starts with 0), so a demo pointed at a real SMTP server or gateway reaches nobody.
            email=f"{given.lower()}.{family.lower()}@innbygger.example",
            phone=f"+47 000 00 {individual:03d}",
            language=language,
        )
        session.add(row)
        return row

    kari = patient("Kari", "Nordmann", date(1985, 3, 14), IdKind.FODSELSNUMMER, fjord, 123)
    ola = patient("Ola", "Nordmann", date(1979, 11, 2), IdKind.FODSELSNUMMER, fjord, 234)
    aisha = patient("Aisha", "Khan", date(1992, 7, 21), IdKind.D_NUMMER, fjord, 345, language="en")
    per = patient("Per", "Hansen", date(1950, 1, 30), IdKind.FODSELSNUMMER, bakke, 456)
    ingrid = patient("Ingrid", "Berg", date(2001, 5, 9), IdKind.FODSELSNUMMER, bakke, 567)
    session.flush()

    for person in (kari, ola, aisha, per, ingrid):
        session.add(
            schema.AccessToken(
                token=f"demo-citizen-{person.given.lower()}",
                role=CITIZEN,
                name=f"{person.given} {person.family}",
                patient_id=person.id,
            )
        )
    session.add(
        schema.AccessToken(token="demo-staff-fjordsiden", role=STAFF, name="Helsesekretær, Fjordsiden", organization_id=fjord.id)
    )
    session.add(
        schema.AccessToken(token="demo-staff-bakkebyen", role=STAFF, name="Helsesekretær, Bakkebyen", organization_id=bakke.id)
    )

    _seed_register(session, today)

    history = _History(session, moment)
    lab_book, test_book = books[3], books[0]
    history.appointment(kari, fjord, lab_book, moment - timedelta(days=9), "booked", "Blodprøve, kontroll av jernlager")
    history.appointment(ola, fjord, test_book, moment + timedelta(days=2), "pending", "Hoste og feber i tre dager")
    history.appointment(aisha, fjord, lab_book, moment + timedelta(days=3), "pending", None)
    history.appointment(
        ola, fjord, lab_book, moment + timedelta(hours=2), "booked", "Kontroll av blodtrykk og kolesterol", same_day=True
    )
    history.appointment(per, bakke, books[5], moment + timedelta(days=4), "pending", "Langtidsblodsukker")


# The demo folkeregister: every demo patient's address, and the people the representation rules are shown on.
_ADDRESSES = {
    "Kari": "Strandgaten 30, 5013 Bergen",
    "Ola": "Møllendalsveien 8, 5009 Bergen",
    "Aisha": "Kalfarveien 51, 5018 Bergen",
    "Per": "Trondheimsveien 100, 0565 Oslo",
    "Ingrid": "Grünerløkka 3, 0552 Oslo",
}


def _years_before(today: date, years: int, days: int) -> date:
    # The 1st of the month exists in every year (a 29 February today would not), then some days earlier still:
    # the person is `years` old on `today` and stays so for weeks, whatever day the demo is seeded.
    return date(today.year - years, today.month, 1) - timedelta(days=days)


def _seed_register(session: Session, today: date) -> None:
    """The register's people and ties (backend/register.py), and a patient record for each person in it."""
    fjord = session.scalars(select(schema.Organization).order_by(schema.Organization.id).limit(1)).one()
    patients = {p.given: p for p in session.scalars(select(schema.Patient)).all()}

    def registered(patient: schema.Patient, address: str, protection: str = "none") -> None:
        session.add(
            schema.RegisterPerson(
                identifier=patient.identifier,
                given=patient.given,
                family=patient.family,
                birth_date=patient.birth_date,
                address=address,
                protection=protection,
            )
        )

    def person(given: str, family: str, birth: date, individual: int) -> schema.Patient:
        number = _person_number(birth, individual, IdKind.FODSELSNUMMER)
        # A register dropped from an older demo file finds its patients there still.
        if (known := session.scalar(select(schema.Patient).where(schema.Patient.identifier == number))) is not None:
            return known
        row = schema.Patient(
            identifier_system=FNR_SYSTEM,
            identifier=number,
            given=given,
            family=family,
            birth_date=birth,
            gp_organization_id=fjord.id,
        )
        session.add(row)
        return row

    for given, address in _ADDRESSES.items():
        if given in patients:
            registered(patients[given], address)
    emma = person("Emma", "Lie", _years_before(today, 8, 45), 612)
    jonas = person("Jonas", "Lie", _years_before(today, 14, 100), 723)
    sofie = person("Sofie", "Dahl", _years_before(today, 6, 20), 834)  # Ola's daughter, protected address
    astrid = person("Astrid", "Solberg", date(1948, 6, 3), 401)  # Kari's mother, who gave her a fullmakt
    registered(emma, _ADDRESSES["Kari"])
    registered(jonas, _ADDRESSES["Kari"])
    registered(sofie, "Adressen er skjermet", "strengt-fortrolig")
    registered(astrid, "Nordnesbakken 2, 5005 Bergen")
    session.flush()
    kari, ola = patients.get("Kari"), patients.get("Ola")
    ties: list[tuple[schema.Patient | None, schema.Patient, str, bool, str | None]] = [
        (kari, emma, "parent", True, None),
        (kari, jonas, "parent", True, None),
        (ola, sofie, "parent", True, None),
        (kari, astrid, "fullmakt", False, "helse"),
    ]
    for representative, other, kind, responsibility, area in ties:
        if representative is not None:
            session.add(
                schema.RegisterRelation(
                    representative=representative.identifier,
                    person=other.identifier,
                    kind=kind,
                    parental_responsibility=responsibility,
                    area=area,
                    withdrawn=False,
                )
            )


def _month_end(day: date, months_ahead: int) -> date:
    year, month = day.year, day.month + months_ahead + 1
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, 1) - timedelta(days=1)


class _History:
    """Appointments that already exist in the demo, with the messages they would have produced."""

    def __init__(self, session: Session, moment: datetime) -> None:
        self.session = session
        self.moment = moment

    def _slot_near(self, schedule: schema.Schedule, when: datetime, same_day: bool) -> schema.Slot | None:
        query = select(schema.Slot).where(schema.Slot.schedule_id == schedule.id, schema.Slot.start >= to_storage(when))
        if same_day:
            query = query.where(
                schema.Slot.start < to_storage(datetime.combine(when.date() + timedelta(days=1), time(0), tzinfo=when.tzinfo))
            )
        return self.session.scalars(query.order_by(schema.Slot.start).limit(1)).first()

    def appointment(
        self,
        patient: schema.Patient,
        office: schema.Organization,
        schedule: schema.Schedule,
        when: datetime,
        status: str,
        reason: str | None,
        same_day: bool = False,
    ) -> None:
        slot = self._slot_near(schedule, when, same_day)
        if slot is None:  # late in the day there is no time left today; the demo simply has one less
            return
        slot.status = "busy" if status == "booked" else "busy-tentative"
        requested = min(when, self.moment) - timedelta(days=3)
        service = self.session.get_one(schema.HealthcareService, schedule.healthcare_service_id)
        place = self.session.get_one(schema.Location, schedule.location_id)
        row = schema.Appointment(
            version=2 if status == "booked" else 1,
            status=status,
            slot_id=slot.id,
            patient_id=patient.id,
            organization_id=office.id,
            start=slot.start,
            end=slot.end,
            description=reason,
            created=to_storage(requested),
            last_updated=to_storage(requested + timedelta(hours=2)),
        )
        self.session.add(row)
        self.session.flush()
        start = slot.start.replace(tzinfo=UTC)
        self._message(row, "request-sent", messages.request_sent(office.name, service.type_code, start, place.name), requested)
        if status == "booked":
            self._message(
                row,
                "confirmed",
                messages.confirmed(office.name, service.type_code, start, place.name),
                requested + timedelta(hours=2),
            )

    def _message(self, appointment: schema.Appointment, kind: str, topic_and_text: tuple[str, str], sent: datetime) -> None:
        topic, text = topic_and_text
        self.session.add(
            schema.Communication(
                patient_id=appointment.patient_id,
                organization_id=appointment.organization_id,
                appointment_id=appointment.id,
                kind=kind,
                topic=topic,
                text=text,
                sent=to_storage(sent),
            )
        )
