"""E-mail and SMS notices over real channels (an SMTP server and an SMS gateway on loopback): each event reaches the
right person exactly once, with nothing private in it, in their language, at an allowed hour, retried when a channel
fails, and never blocking a booking. Both databases."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import FJORD_STAFF, KARI, NOW, SUPPORT, bearer
from tests.fhir_validate import CANCEL, answer, booking_request, fhir_json, free_slots, timebook
from tests.notice_sinks import SmsSink, SmtpSink, reminder_rows
from timebok.backend import notices, schema
from timebok.backend.channels import SmsGateway, SmtpChannel
from timebok.backend.fhir import OPT_OUT_URL, to_storage
from timebok.backend.sender import Sender
from timebok.domain import clock

KARI_MAIL, KARI_SMS = "kari.nordmann@innbygger.example", "+47 000 00 123"
AISHA = "demo-citizen-aisha"
NOTICES = "http://testserver/notices/Patient/{}"


@pytest.fixture
def sinks():
    with SmtpSink() as smtp, SmsSink() as sms:
        yield smtp, sms


@pytest.fixture
def sender(database, sinks):
    smtp, sms = sinks
    made = Sender(database, {"email": SmtpChannel(smtp.url), "sms": SmsGateway(sms.url)})
    yield made
    made.stop()


def deliver(sender: Sender) -> None:
    while sender.run_once():
        pass


async def lab_slot(api, day: str = "2026-12-03", index: int = 0, token: str = KARI) -> dict:
    book = await timebook(api, token, 1, "Lab")
    return (await free_slots(api, token, book, day, count=index + 1))[index]


async def book(api, slot: dict, token: str = KARI, patient: int = 1, description: str | None = None, **extra) -> dict:
    body = booking_request(slot["id"], patient, description) | extra
    return fhir_json(await api.post("/Appointment", json=body, headers=bearer(token)), 201)


async def confirm(api, appointment: dict) -> None:
    fhir_json(
        await api.post("/AppointmentResponse", json=answer(appointment["id"], "accepted"), headers=bearer(FJORD_STAFF)), 201
    )


async def listed(api, patient: int = 1, token: str = KARI) -> list[dict]:
    response = await api.get(NOTICES.format(patient), headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()["notices"]


def subjects(smtp: SmtpSink, address: str = KARI_MAIL) -> list[str]:
    return [mail["Subject"] for mail in smtp.to(address)]


async def test_each_event_reaches_the_patient_once_by_email_and_by_sms(api, sender, sinks):
    smtp, sms = sinks
    appointment = await book(api, await lab_slot(api), description="Blodprøve, kontroll av jernlager")
    deliver(sender)
    assert subjects(smtp) == ["Timeforespørselen er mottatt"]
    assert [s["text"].split(":")[0] for s in sms.to(KARI_SMS)] == ["Timeforespørselen er mottatt"]
    await confirm(api, appointment)
    deliver(sender)
    patch = await api.patch(f"/Appointment/{appointment['id']}", json=CANCEL, headers=bearer(KARI))
    assert patch.status_code == 200
    deliver(sender)
    deliver(sender)  # a round with nothing due sends nothing again
    assert subjects(smtp) == ["Timeforespørselen er mottatt", "Timen er bekreftet", "Timen er avbestilt"]
    assert len(sms.to(KARI_SMS)) == 3
    ids = [mail["Message-ID"] for _, mail in smtp.mails] + [s["id"] for s in sms.received]
    assert len(ids) == len(set(ids)) == 6
    rows = await listed(api)
    # The reminder was due 48 hours before; the cancel came first, so it is skipped and says why.
    reminders = [row for row in rows if row["event"] == "reminder"]
    assert {(r["channel"], r["state"], r["reason"]) for r in reminders} == {
        ("email", "skipped", "cancelled"),
        ("sms", "skipped", "cancelled"),
    }
    sent = [row for row in rows if row["state"] == "sent"]
    assert len(sent) == 6 and all(len(row["attempts"]) == 1 and row["attempts"][0]["ok"] for row in sent)


async def test_rejected_and_cancelled_by_the_office_carry_no_reason_and_nothing_private(api, sender, sinks):
    smtp, sms = sinks
    first = await book(api, await lab_slot(api), description="Blodprøve, kontroll av jernlager")
    declined = answer(first["id"], "declined", "Legen har ferie; ring oss om HIV-prøven")
    fhir_json(await api.post("/AppointmentResponse", json=declined, headers=bearer(FJORD_STAFF)), 201)
    second = await book(api, await lab_slot(api, index=1), description="Depresjon")
    await confirm(api, second)
    cancel = await api.patch(f"/Appointment/{second['id']}", json=CANCEL, headers=bearer(FJORD_STAFF))
    assert cancel.status_code == 200
    deliver(sender)
    assert "Svar på timeforespørselen" in subjects(smtp) and "Timen er avbestilt" in subjects(smtp)
    texts = [mail.get_content() + mail["Subject"] for mail in smtp.to(KARI_MAIL)] + [s["text"] for s in sms.to(KARI_SMS)]
    assert len(texts) == 10  # 5 events (2 requests, reject, confirm, cancel) by e-mail and by SMS
    for text in texts:
        assert "Fjordsiden legekontor" in text and "timebok" in text  # the office, and where to read more
        for private in ("ferie", "HIV", "jernlager", "Depresjon", "Blodprøve", "laboratori", "Lab", "Kari", "Nordmann"):
            assert private not in text
        assert not re.search(r"\d{6} ?\d{5}", text)  # no identity number, whole or spaced
    office_cancel = [m for m in smtp.to(KARI_MAIL) if m["Subject"] == "Timen er avbestilt"][0].get_content()
    assert office_cancel.startswith("Fjordsiden legekontor har avbestilt timen din ")


async def test_a_patient_who_reads_english_gets_english(api, sender, sinks):
    smtp, _ = sinks
    await book(api, await lab_slot(api, token=AISHA), token=AISHA, patient=3)
    deliver(sender)
    (mail,) = smtp.to("aisha.khan@innbygger.example")
    assert mail["Subject"] == "Your request was received"
    assert "on Thursday 3 December 2026 at " in mail.get_content()


async def test_the_reminder_goes_48_hours_before_and_not_before(api, sender, sinks):
    smtp, sms = sinks
    slot = await lab_slot(api, index=4)
    appointment = await book(api, slot)
    await confirm(api, appointment)
    start = datetime.fromisoformat(slot["start"])
    clock.set_now(start - timedelta(hours=48, minutes=1))
    deliver(sender)
    assert "Påminnelse om time" not in subjects(smtp)
    clock.set_now(start - timedelta(hours=48) + timedelta(seconds=1))
    deliver(sender)
    assert subjects(smtp).count("Påminnelse om time") == 1
    assert [s["text"].split(":")[0] for s in sms.to(KARI_SMS)].count("Påminnelse om time") == 1


async def test_a_timebook_set_to_24_hours_reminds_24_hours_before(api, sender, sinks):
    setup_url, staff = "http://testserver/setup/Organization/1", bearer(FJORD_STAFF)
    document = (await api.get(setup_url, headers=staff)).json()
    assert {book["reminderHours"] for book in document["timebooks"]} == {48}  # the default
    (lab,) = [book for book in document["timebooks"] if book["id"] == "4"]
    lab["reminderHours"] = 96
    refused = await api.put(setup_url, json=document, headers=staff)
    assert refused.status_code == 400 and "reminderHours" in refused.text
    lab["reminderHours"] = 24
    saved = await api.put(setup_url, json=document, headers=staff)
    assert saved.status_code == 200, saved.text
    slot = await lab_slot(api)
    await confirm(api, await book(api, slot))
    (reminder,) = [row for row in await listed(api) if row["event"] == "reminder" and row["channel"] == "email"]
    assert datetime.fromisoformat(reminder["due"]) == datetime.fromisoformat(slot["start"]) - timedelta(hours=24)


async def test_no_sms_for_a_time_less_than_45_minutes_away_but_the_email_goes(api, sender, sinks):
    smtp, sms = sinks
    slot = await lab_slot(api, day="2026-11-26")
    clock.set_now(datetime.fromisoformat(slot["start"]) - timedelta(minutes=30))
    await book(api, slot, token=FJORD_STAFF)  # the desk may book inside the lead time
    deliver(sender)
    assert subjects(smtp) == ["Timeforespørselen er mottatt"] and sms.to(KARI_SMS) == []
    (skipped,) = [row for row in await listed(api) if row["channel"] == "sms"]
    assert (skipped["state"], skipped["reason"]) == ("skipped", "too-soon")


async def test_an_sms_made_at_night_waits_until_eight_and_one_too_late_by_then_is_skipped(api, sender, sinks):
    _, sms = sinks
    early = await lab_slot(api, day="2026-11-26")  # 08:00 the next morning
    later = await lab_slot(api, day="2026-11-26", index=8)
    clock.set_now("2026-11-25T22:30:00+01:00")
    await book(api, early, token=FJORD_STAFF)
    await book(api, later, token=FJORD_STAFF)
    deliver(sender)
    assert sms.to(KARI_SMS) == []
    rows = {row["appointment"]: row for row in await listed(api) if row["channel"] == "sms"}
    assert sorted((row["state"], row["reason"]) for row in rows.values()) == [("pending", None), ("skipped", "quiet-hours")]
    waiting = next(row for row in rows.values() if row["state"] == "pending")
    assert waiting["due"] == "2026-11-26T08:00:00+01:00"
    clock.set_now("2026-11-26T08:00:00+01:00")
    deliver(sender)
    assert len(sms.to(KARI_SMS)) == 1


async def test_opting_out_per_appointment_skips_notices_and_reminders_as_reservert(api, sender, sinks):
    smtp, sms = sinks
    quiet = [{"url": OPT_OUT_URL, "valueCode": "notices"}]
    first = await book(api, await lab_slot(api), extension=quiet)
    assert [e for e in first["extension"] if e["url"] == OPT_OUT_URL] == quiet
    second = await book(api, await lab_slot(api, index=1))
    opt = [{"op": "replace", "path": "/extension", "value": [{"url": OPT_OUT_URL, "valueCode": "reminders"}]}]
    patched = await api.patch(f"/Appointment/{second['id']}", json=opt, headers={**bearer(KARI), "If-Match": 'W/"1"'})
    assert patched.status_code == 200, patched.text
    await confirm(api, second)
    deliver(sender)
    assert subjects(smtp) == ["Timeforespørselen er mottatt", "Timen er bekreftet"]  # the second's only
    rows = await listed(api)
    skipped = {(row["appointment"], row["event"], row["reason"]) for row in rows if row["state"] == "skipped"}
    assert skipped == {
        (f"Appointment/{first['id']}", "request-received", "opted-out"),
        (f"Appointment/{second['id']}", "reminder", "opted-out"),
    }
    bad = await api.post(
        "/Appointment",
        json=booking_request(1, 1) | {"extension": [{"url": OPT_OUT_URL, "valueCode": "all"}]},
        headers=bearer(KARI),
    )
    assert bad.status_code == 400 and "extension[0]" in bad.text


async def test_a_failing_mail_server_never_blocks_a_booking_and_is_tried_again_later(api, sender, sinks):
    smtp, sms = sinks
    smtp.refuse = True
    await book(api, await lab_slot(api))
    deliver(sender)
    assert smtp.mails == [] and len(sms.to(KARI_SMS)) == 1  # the SMS went all the same
    (mail,) = [row for row in await listed(api) if row["channel"] == "email"]
    assert mail["state"] == "pending" and [a["ok"] for a in mail["attempts"]] == [False]
    assert "451" in mail["attempts"][0]["detail"]
    smtp.refuse = False
    deliver(sender)
    assert smtp.mails == []  # not before its backoff
    clock.set_now(datetime.fromisoformat(NOW) + timedelta(seconds=31))
    deliver(sender)
    assert subjects(smtp) == ["Timeforespørselen er mottatt"]
    (mail,) = [row for row in await listed(api) if row["channel"] == "email"]
    assert mail["state"] == "sent" and [a["ok"] for a in mail["attempts"]] == [False, True]


async def test_a_gateway_that_refuses_the_number_fails_at_once(api, sender, sinks):
    _, sms = sinks
    sms.status = 400
    await book(api, await lab_slot(api))
    deliver(sender)
    (row,) = [row for row in await listed(api) if row["channel"] == "sms"]
    assert row["state"] == "failed" and row["attempts"][0]["detail"].startswith("HTTP 400")


async def test_support_acting_as_the_citizen_reads_the_notices_and_is_audited(api, database, sender):
    await book(api, await lab_slot(api))
    deliver(sender)
    response = await api.get(NOTICES.format(1), headers={**bearer(KARI), "X-Support-Agent": SUPPORT})
    assert response.status_code == 200 and len(response.json()["notices"]) == 2
    with database.reading() as session:
        trail = session.scalars(select(schema.AuditEvent.actor).where(schema.AuditEvent.detail == "notices")).all()
    assert trail and all(actor.startswith("support:") for actor in trail)
    other = await api.get(NOTICES.format(2), headers=bearer(KARI))
    assert other.status_code == 404


def test_two_senders_at_once_send_each_message_exactly_once(database, sinks):
    _, sms = sinks
    moment = to_storage(clock.now())
    rows = reminder_rows(300, moment, channel="sms", recipient=KARI_SMS)
    with database.writing() as session:
        notices.insert_rows(session, rows)
        notices.insert_rows(session, rows)  # the same events again: the dedup key keeps one of each
    senders = [Sender(database, {"sms": SmsGateway(sms.url)}, batch=20, owner=f"instance-{n}") for n in range(2)]
    start = threading.Barrier(2)

    def run(sender: Sender) -> None:
        start.wait()
        deliver(sender)

    threads = [threading.Thread(target=run, args=(sender,)) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    texts = [s["text"] for s in sms.received]
    assert len(texts) == len(set(texts)) == 300
    with database.reading() as session:
        assert session.scalar(select(func.count()).where(schema.OutboxMessage.state == "sent")) == 300
        assert session.scalar(select(func.count()).select_from(schema.OutboxAttempt)) == 300


def _change(slot_id: str, old_id: str, status: str = "pending") -> dict:
    from timebok.domain import appointment_life as life

    body = booking_request(slot_id, 1) | {"status": status}
    body["extension"] = [{"url": life.REPLACES_URL, "valueReference": {"reference": f"Appointment/{old_id}"}}]
    return body


async def test_a_changed_time_is_told_once_and_only_the_new_time_is_reminded_of(api, sender, sinks):
    smtp, sms = sinks
    old = await book(api, await lab_slot(api))
    await confirm(api, old)
    new_slot = await lab_slot(api, day="2026-12-08")
    change = fhir_json(await api.post("/Appointment", json=_change(new_slot["id"], old["id"]), headers=bearer(KARI)), 201)
    await confirm(api, change)
    deliver(sender)
    assert subjects(smtp) == [
        "Timeforespørselen er mottatt",
        "Timen er bekreftet",
        "Timeforespørselen er mottatt",
        "Timen er endret",
    ]
    (moved,) = [m for m in smtp.to(KARI_MAIL) if m["Subject"] == "Timen er endret"]
    assert "er flyttet til tirsdag 8. desember 2026" in moved.get_content()
    assert len(sms.to(KARI_SMS)) == 4
    reminders = {
        (r["appointment"], r["channel"]): (r["state"], r["reason"]) for r in await listed(api) if r["event"] == "reminder"
    }
    assert reminders == {
        (f"Appointment/{old['id']}", "email"): ("skipped", "cancelled"),
        (f"Appointment/{old['id']}", "sms"): ("skipped", "cancelled"),
        (f"Appointment/{change['id']}", "email"): ("pending", None),
        (f"Appointment/{change['id']}", "sms"): ("pending", None),
    }


async def test_the_desks_change_is_told_as_a_change(api, sender, sinks):
    smtp, _ = sinks
    old = await book(api, await lab_slot(api))
    await confirm(api, old)
    new_slot = await lab_slot(api, day="2026-12-08")
    moved = await api.post("/Appointment", json=_change(new_slot["id"], old["id"], "booked"), headers=bearer(FJORD_STAFF))
    assert moved.status_code == 201, moved.text
    deliver(sender)
    assert subjects(smtp)[-1] == "Timen er endret" and subjects(smtp).count("Timen er endret") == 1


async def test_a_request_nobody_answered_is_closed_by_the_sender_loop_and_told_by_email_and_sms(api, sender, sinks):
    smtp, sms = sinks
    slot = await lab_slot(api, day="2026-11-26", index=12)  # Thursday at 11:00, well after the SMS night
    await book(api, slot)
    deliver(sender)
    clock.set_now(datetime.fromisoformat(slot["start"]) + timedelta(minutes=1))
    sender._next_sweep = 0.0  # the loop's next round sweeps (every 15 s)
    deliver(sender)  # nobody read anything: the loop closed it
    assert subjects(smtp) == ["Timeforespørselen er mottatt", "Timeforespørselen er lukket"]
    assert [s["text"].split(":")[0] for s in sms.to(KARI_SMS)] == ["Timeforespørselen er mottatt", "Timeforespørselen er lukket"]
    deliver(sender)
    sender._next_sweep = 0.0
    deliver(sender)
    assert len(smtp.to(KARI_MAIL)) == 2  # closed once, told once
