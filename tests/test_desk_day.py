"""The desk's day outside the screens (issue 26): names hidden, the day list's rows, CSV, the PDFs read back with
pdftotext, and `timebok print day` / `timebok keys` against the real backend."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from tests.conftest import FJORD_STAFF, KARI
from timebok.client.api import BookingClient
from timebok.client.models import Appointment, AppointmentState, Office, Patient, Place
from timebok.domain.clock import OSLO
from timebok.domain.privacy import initials
from timebok.tui.cli import main
from timebok.ui.daylist import csv_text, day_rows
from timebok.ui.printing import appointment_card_pdf, day_list_pdf

DAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=OSLO)


def pdf_text(data: bytes) -> str:
    """What a reader of the PDF sees, as poppler's pdftotext reads it."""
    if shutil.which("pdftotext") is None:
        if os.environ.get("TIMEBOK_TEST_POPPLER_REQUIRED") == "1":
            pytest.fail("pdftotext (poppler-utils) is required here and missing")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def _appointment(n: int, given: str = "Åse", family: str = "Ødegård Ærø", *, reason: str | None = None) -> Appointment:
    start = datetime(2026, 11, 25, 8, 0, tzinfo=OSLO) + timedelta(minutes=5 * n)
    patient = Patient(str(100 + n), given, f"{family} {n}" if n else family, date(1985, 3, 14), "14038512345")
    place = Place("1", "Fjordsiden legekontor", "Strandgaten 12", "5013", "Bergen", "Inngang fra Strandgaten, 2. etasje.")
    return Appointment(
        id=str(n),
        version=1,
        state=AppointmentState.CONFIRMED,
        start=start,
        end=start + timedelta(minutes=5),
        time_type_code="Lab",
        patient_id=patient.id,
        office_id="1",
        place_id="1",
        reason=reason,
        place=place,
        office=Office("1", "Fjordsiden legekontor", phone="55 12 34 00"),
        patient=patient,
    )


def test_hidden_names_are_initials_of_every_name_part_and_the_birth_year():
    assert initials("Ola Jonas", "Nordmann-Berg", 1979) == "O. J. N. B. (1979)"
    assert initials("Åse", "Ødegård", None) == "Å. Ø."
    rows = day_rows([_appointment(0)], hidden=True, moment=NOW)
    assert rows[0].patient == "Å. Ø. Æ. (1985)" and rows[0].number == ""  # neither name nor number


def test_a_confirmed_patient_ten_minutes_past_the_start_is_marked_late():
    appointment = _appointment(0)  # 08:00
    assert not day_rows([appointment], hidden=False, moment=appointment.start + timedelta(minutes=9))[0].late
    assert day_rows([appointment], hidden=False, moment=appointment.start + timedelta(minutes=10))[0].late
    assert not day_rows([appointment], hidden=False, moment=appointment.start + timedelta(days=1))[0].late  # history
    waiting = replace(appointment, state=AppointmentState.WAITING)
    assert not day_rows([waiting], hidden=False, moment=NOW)[0].late  # a request is not «late»


def test_the_csv_has_a_header_every_row_and_no_formula_a_spreadsheet_would_run():
    rows = day_rows([_appointment(0, reason='=HYPERLINK("x")'), _appointment(1)], hidden=False, moment=NOW)
    lines = csv_text(rows, DAY).splitlines()
    assert lines[0] == "Dato;Tid;Type;Sted;Pasient;Fødselsnr.;Status;Gjelder"
    assert lines[1].startswith("2026-11-25;08:00;Laboratoriet;Fjordsiden legekontor;Åse Ødegård Ærø;140385 *****;")
    assert "'=HYPERLINK" in lines[1] and ";=HYPERLINK" not in lines[1] and '"=HYPERLINK' not in lines[1]  # text
    assert lines[2].startswith("2026-11-25;08:05;") and len(lines) == 3


def test_the_day_list_pdf_reads_back_every_time_and_name_with_aeoeaa_across_pages():
    appointments = [_appointment(n) for n in range(400)]
    data = day_list_pdf(
        day_rows(appointments, hidden=False, moment=NOW),
        office="Fjordsiden legekontor",
        day=DAY,
        scope="Alle timebøker",
        printed=NOW,
    )
    text = pdf_text(data)
    assert "Dagsliste · Fjordsiden legekontor" in text and "onsdag 25. november 2026 · Alle timebøker" in text
    pages = text.count("\f")
    assert pages >= 8 and f"Side {pages} av {pages}" in text
    assert "Åse Ødegård Ærø" in text and "Ødegård Ærø 399" in text  # æøå print right
    for appointment in appointments:
        assert appointment.start.strftime("%H:%M") in text
    assert "140385 *****" in text and "14038512345" not in text  # the number masked, as on screen


def test_the_day_list_pdf_with_names_hidden_names_nobody():
    data = day_list_pdf(day_rows([_appointment(0)], hidden=True, moment=NOW), office="F", day=DAY, scope="Alle", printed=NOW)
    text = pdf_text(data)
    assert "Å. Ø. Æ. (1985)" in text and "Åse" not in text and "140385" not in text


def test_the_appointment_card_has_the_time_place_directions_and_phone():
    text = pdf_text(appointment_card_pdf(_appointment(3), patient="Åse Ødegård Ærø"))
    assert "Timekort" in text and "Åse Ødegård Ærø" in text
    assert "onsdag 25. november 2026 kl. 08:15" in text
    assert "Time til laboratoriet hos Fjordsiden legekontor" in text
    assert "Strandgaten 12, 5013 Bergen" in text and "Inngang fra Strandgaten, 2. etasje." in text
    assert "Ring legekontoret på 55 12 34 00" in text


def _config(tmp_path, token: str, url: str):
    path = tmp_path / "config.toml"
    path.write_text(f'[backend]\nurl = "{url}"\ntoken = "{token}"\n', encoding="utf-8")
    return str(path)


async def _fjordsiden_today(live_server) -> list[Appointment]:
    async with BookingClient(live_server.url, FJORD_STAFF) as client:
        return await client.day_appointments(DAY)


def test_print_day_writes_the_days_pdf_and_csv_with_the_configured_backend(live_server, tmp_path, capsys):
    import asyncio

    expected = asyncio.run(_fjordsiden_today(live_server))
    assert expected, "the seed has appointments today"
    config = _config(tmp_path, FJORD_STAFF, live_server.url)
    out = tmp_path / "dag.pdf"
    assert main(["--config", config, "print", "day", "--date", "2026-11-25", "-o", str(out)]) == 0
    assert str(out) in capsys.readouterr().err  # the path is said
    text = pdf_text(out.read_bytes())
    for appointment in expected:
        assert appointment.start.strftime("%H:%M") in text and appointment.patient.name in text

    csv_file = tmp_path / "dag.csv"
    assert main(["--config", config, "print", "day", "--date", "2026-11-25", "--csv", "--hide-names", "-o", str(csv_file)]) == 0
    body = csv_file.read_text(encoding="utf-8-sig")
    assert len(body.splitlines()) == len(expected) + 1
    assert all(a.patient.name not in body and a.patient.family not in body for a in expected)


def test_print_day_says_what_is_wrong_in_one_line(live_server, tmp_path, capsys):
    out = str(tmp_path / "x.pdf")
    staff = _config(tmp_path, FJORD_STAFF, live_server.url)
    assert main(["--config", staff, "print", "day", "--timebook", "999", "-o", out]) == 1
    assert "no timebook '999' at Fjordsiden legekontor; its timebooks:" in capsys.readouterr().err
    citizen = _config(tmp_path, KARI, live_server.url)
    assert main(["--config", citizen, "print", "day", "-o", out]) == 1
    assert "sign in as staff" in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()
    with pytest.raises(SystemExit):
        main(["--config", staff, "print", "day", "--date", "25.11.2026", "-o", out])


def test_keys_lists_every_desk_binding_with_its_screen_id_and_text(capsys, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[keys]\n"today.print" = "ctrl+p"\n', encoding="utf-8")
    assert main(["--config", str(config), "keys"]) == 0
    lines = capsys.readouterr().out.splitlines()

    def line(screen: str, binding: str) -> list[str]:
        return next(line.split() for line in lines if line.split()[:2] == [screen, binding])

    assert line("TodayScreen", "today.print")[2:] == ["ctrl+p", "Skriv", "ut"]  # the config's key
    assert line("TodayScreen", "today.week")[2:] == ["u", "Uke"]
    assert line("PatientScreen", "patientpage.cancel")[2:] == ["a", "Avbestill"]
    assert line("PatientSearchScreen", "patient.open_page")[2:] == ["f2", "Pasientside"]
    assert line("TimebokApp", "app.hide_names")[2:] == ["ctrl+n", "Skjul", "navn"]
