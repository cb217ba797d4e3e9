"""A PostgreSQL database of the benchmark's own: made fresh for one run, dropped at its end."""

from __future__ import annotations

import os
import uuid

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class BenchDatabase:
    def __init__(self, server_url: str, name: str) -> None:
        from sqlalchemy.engine import make_url

        self._server = make_url(server_url)
        self.name = name
        self.url = self._server.set(database=name).render_as_string(hide_password=False)

    @classmethod
    def create(cls) -> tuple[BenchDatabase | None, str]:
        """(the database, a note for the output), or (None, why not) when PostgreSQL does not answer."""
        url = os.environ.get("TIMEBOK_BENCH_PG", DEFAULT_URL)
        database = cls(url, f"timebok_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}")
        try:
            with database._admin() as admin:
                admin.execute(f'CREATE DATABASE "{database.name}"')
                version = admin.execute("SHOW server_version").fetchone()[0].split()[0]
        except Exception as error:  # noqa: BLE001 - any failure means: measure SQLite alone and say why
            where = database._server.render_as_string(hide_password=True)
            return None, f"PostgreSQL at {where} did not answer ({str(error).strip().splitlines()[0]})"
        return database, f"PostgreSQL {version}, a fresh database {database.name} on {database._server.host}"

    def _admin(self):
        import psycopg

        libpq = self._server.set(drivername="postgresql").render_as_string(hide_password=False)
        return psycopg.connect(libpq, autocommit=True, connect_timeout=5)

    def drop(self) -> None:
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
