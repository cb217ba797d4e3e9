"""Marks written many at a time (backend/marks.py) against a PostgreSQL that drops every connection mid-run (a restart,
a failover): the writer opens another, and every message ends sent, each once at the SMTP server, each with one try."""

from __future__ import annotations

from datetime import datetime

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tests.conftest import NOW
from tests.notice_sinks import SmtpSink, reminder_rows
from timebok.backend import notices, schema
from timebok.backend.channels import SmtpChannel
from timebok.backend.fhir import to_storage
from timebok.backend.sender import Sender
from timebok.backend.server import open_database

COUNT = 40


def _drop_every_connection(url: str) -> int:
    """As a PostgreSQL restart does to this database: the backend's connections to it are ended (those named
    `timebok`; the test fixtures' own, which put the database back between tests, are left alone)."""
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as connection:
        return connection.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'timebok'"
        ).fetchone()[0]


def test_marks_survive_postgresql_dropping_their_connection_and_nothing_goes_twice(pg_database):
    database = open_database(pg_database, demo=True)
    with database.writing() as session:
        notices.insert_rows(session, reminder_rows(COUNT, to_storage(datetime.fromisoformat(NOW))))
    with SmtpSink() as smtp:
        sender = Sender(database, {"email": SmtpChannel(smtp.url)}, batch=COUNT // 2)
        try:
            assert sender.run_once() == COUNT // 2  # the first half sent and marked; the writer's connection is open
            assert _drop_every_connection(pg_database) >= 1
            while sender.run_once():  # the second half: its first marks meet the dropped connection
                pass
        finally:
            sender.stop()
        ids = [mail["Message-ID"] for _, mail in smtp.mails]
    assert len(ids) == len(set(ids)) == COUNT
    with database.reading() as session:
        states = dict(
            session.execute(select(schema.OutboxMessage.state, func.count()).group_by(schema.OutboxMessage.state)).all()
        )
        tries = session.scalar(select(func.count()).select_from(schema.OutboxAttempt))
    assert states == {"sent": COUNT}
    assert tries == COUNT  # one try each, written once
    database.dispose()
