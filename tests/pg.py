"""PostgreSQL for the tests: finds the server, and makes (and drops) databases named for this run only."""

from __future__ import annotations

import os
import re
import uuid

import psycopg
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Every database a run makes is called timebok_t<pid>_<random>_…, so two runs at once never meet,
# and one left behind by a killed run can be recognised by its dead pid and dropped.
_PREFIX = "timebok_t"
_NAME = re.compile(rf"^{_PREFIX}(\d+)_[0-9a-f]+_")


def server_url() -> str:
    return os.environ.get("TIMEBOK_TEST_PG", DEFAULT_URL)


def required() -> bool:
    """True where an unreachable PostgreSQL must fail the run instead of skipping (.ci/run sets it)."""
    return os.environ.get("TIMEBOK_TEST_PG_REQUIRED", "") not in ("", "0")


class PgServer:
    """One PostgreSQL server; databases are made through a maintenance connection to the URL's database."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.run_prefix = f"{_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}_"
        self._made = 0
        self._admin = psycopg.connect(self._libpq(self.url.database), autocommit=True, connect_timeout=5)

    def _libpq(self, database: str) -> str:
        return self.url.set(drivername="postgresql", database=database).render_as_string(hide_password=False)

    def url_for(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def new_name(self, what: str) -> str:
        self._made += 1
        return f"{self.run_prefix}{what}{self._made}"

    def create(self, name: str, template: str | None = None) -> str:
        """Make an empty database, or a copy of `template` (which must have no open connections)."""
        copy = f' TEMPLATE "{template}"' if template else ""
        self._admin.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url_for(name)

    def drop(self, name: str) -> None:
        # FORCE: a server thread that did not hand its connections back must not keep the database alive.
        self._admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def reset_point(self, name: str, tables: list[str]) -> SeededDatabase:
        """Keep a copy of `tables` (parents first) inside database `name`, to put back before each test."""
        return SeededDatabase(self._libpq(name), self.url_for(name), tables)

    def drop_leftovers(self) -> list[str]:
        """Drop databases of earlier runs whose process is gone (killed before it could clean up)."""
        names = [row[0] for row in self._admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{_PREFIX}%",))]
        dropped = []
        for name in names:
            match = _NAME.match(name)
            if match and not _alive(int(match.group(1))):
                self.drop(name)
                dropped.append(name)
        return dropped

    def drop_mine(self) -> None:
        for (name,) in self._admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{self.run_prefix}%",)
        ).fetchall():
            self.drop(name)

    def close(self) -> None:
        self._admin.close()


class SeededDatabase:
    """One database per run whose tables are put back to the seeded state before each test.

    Quicker than CREATE DATABASE … TEMPLATE per test (which writes all ~10 MB, catalogs included, and
    waits for the disk) and than TRUNCATE and copy (new files for every table): a test changes a handful
    of rows, so only those are deleted, put back or inserted again, in one transaction.
    """

    def __init__(self, libpq: str, url: str, tables: list[str]) -> None:
        self.url = url
        self._connection = psycopg.connect(libpq, autocommit=True)
        self._connection.execute("CREATE SCHEMA seed")
        steps = []
        for table in reversed(tables):  # children first, so nothing still points at a row being deleted
            key = self._key(table)
            steps.append(
                f'DELETE FROM public."{table}" p WHERE NOT EXISTS (SELECT 1 FROM seed."{table}" s WHERE s."{key}" = p."{key}");'
            )
        for table in tables:  # parents first
            self._connection.execute(f'CREATE TABLE seed."{table}" AS TABLE public."{table}"')
            key, columns = self._key(table), self._columns(table)
            assignments = ", ".join(f'"{c}" = s."{c}"' for c in columns if c != key)
            steps.append(
                f'UPDATE public."{table}" p SET {assignments} FROM seed."{table}" s '
                f'WHERE s."{key}" = p."{key}" AND (p.*) IS DISTINCT FROM (s.*);'
            )
            steps.append(
                f'INSERT INTO public."{table}" SELECT * FROM seed."{table}" s '
                f'WHERE NOT EXISTS (SELECT 1 FROM public."{table}" p WHERE p."{key}" = s."{key}");'
            )
            if key == "id":  # sequences back to where the seed left them, so ids come out as on a fresh SQLite copy
                steps.append(
                    f"SELECT setval(pg_get_serial_sequence('public.\"{table}\"', 'id'), "
                    f'coalesce(max(id), 0) + 1, false) FROM public."{table}";'
                )
        self._reset = (
            # A server thread of the last test that did not hand its connections back must not hold a lock.
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid();"
            f"BEGIN; {' '.join(steps)} COMMIT;"
        )

    def _columns(self, table: str) -> list[str]:
        return [
            row[0]
            for row in self._connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
                "ORDER BY ordinal_position",
                (table,),
            )
        ]

    def _key(self, table: str) -> str:
        (key,) = self._connection.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = %s::regclass AND i.indisprimary",
            (f'public."{table}"',),
        ).fetchone()
        return key

    def reset(self) -> str:
        self._connection.execute(self._reset)
        return self.url

    def close(self) -> None:
        self._connection.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def connect() -> PgServer:
    """The test server, or an error saying where it was looked for and how to point at another."""
    try:
        return PgServer(server_url())
    except psycopg.Error as error:
        raise ConnectionError(
            f"PostgreSQL at {make_url(server_url()).render_as_string(hide_password=True)} does not answer "
            f"({str(error).strip()}); set TIMEBOK_TEST_PG to a postgresql+psycopg:// URL of a server where "
            "this user may create databases"
        ) from None
