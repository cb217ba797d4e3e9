"""SIGKILL in the middle of a batch of e-mails: nothing is lost and nothing reaches the person twice. Real
`timebok serve` processes and a real SMTP server on loopback; the second instance takes over the killed one's
claims once their lease has run out."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import func, select

from tests.conftest import NOW
from tests.notice_sinks import SmtpSink, reminder_rows
from tests.serve_process import ServeProcess
from timebok.backend import notices, schema
from timebok.backend.fhir import to_storage
from timebok.backend.server import open_database

COUNT = 20


def _wait(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.05)


def _states(db) -> dict[str, int]:
    with db.reading() as session:
        rows = session.execute(select(schema.OutboxMessage.state, func.count()).group_by(schema.OutboxMessage.state)).all()
    return dict(rows)


def test_sigkill_during_a_batch_loses_nothing_and_sends_nothing_twice(db_path, tmp_path, monkeypatch):
    db = open_database(db_path, demo=True)
    moment = to_storage(datetime.fromisoformat(NOW))
    rows = reminder_rows(COUNT, moment)
    with db.writing() as session:
        notices.insert_rows(session, rows)
    with SmtpSink() as smtp:
        smtp.stall_at = 8  # the 8th message is never answered: the instance is killed while it waits
        first = ServeProcess(str(db_path), tmp_path / "first.log", extra=("--smtp", smtp.url)).wait_until_serving()
        _wait(lambda: smtp.seen >= 8, "the first instance to reach the 8th message")
        first.kill()
        assert len(smtp.mails) == 7
        assert _states(db) == {"sent": 7, "pending": COUNT - 7}  # the rest still claimed by the dead instance
        smtp.stall_at = None
        # Five minutes on: the dead instance's two-minute lease has run out.
        monkeypatch.setenv("TIMEBOK_NOW", (datetime.fromisoformat(NOW) + timedelta(minutes=5)).isoformat())
        second = ServeProcess(str(db_path), tmp_path / "second.log", extra=("--smtp", smtp.url)).wait_until_serving()
        try:
            _wait(lambda: _states(db) == {"sent": COUNT}, "the second instance to send the rest")
        finally:
            second.stop()
        bodies = [mail.get_content().strip() for _, mail in smtp.mails]
        assert sorted(bodies) == sorted(f"melding {n}" for n in range(COUNT))  # every one, each once
        ids = [mail["Message-ID"] for _, mail in smtp.mails]
        assert len(set(ids)) == COUNT
    db.dispose()
