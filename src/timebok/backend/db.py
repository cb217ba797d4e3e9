"""Opens the database (a SQLite file in WAL mode, or PostgreSQL) and hands out transactions."""

from __future__ import annotations

import os
import sqlite3
import time
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from timebok.backend import metrics
from timebok.backend.writers import WriterQueue


def database_url(db: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL for a URL or a plain file path."""
    text = os.fspath(db)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def advisory_key(name: str) -> int:
    """A stable PostgreSQL advisory-lock key for a name (the same in every process, unlike hash())."""
    return zlib.crc32(f"timebok:{name}".encode())


def _seconds(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value else default
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {value!r}") from None


@dataclass(frozen=True)
class Timeouts:
    """How long the backend waits for the database before it answers 503 (seconds; `TIMEBOK_DB_*` in the environment)."""

    connect: float = 5.0  # to open a connection (PostgreSQL connect_timeout)
    statement: float = 10.0  # for one statement (PostgreSQL statement_timeout)
    lock: float = 5.0  # for a lock another connection holds (PostgreSQL lock_timeout; SQLite's write lock, see Database)
    pool: float = 5.0  # for a free connection from the pool, when every one is busy

    @classmethod
    def from_environment(cls) -> Timeouts:
        return cls(
            connect=_seconds("TIMEBOK_DB_CONNECT_TIMEOUT", cls.connect),
            statement=_seconds("TIMEBOK_DB_STATEMENT_TIMEOUT", cls.statement),
            lock=_seconds("TIMEBOK_DB_LOCK_TIMEOUT", cls.lock),
            pool=_seconds("TIMEBOK_DB_POOL_TIMEOUT", cls.pool),
        )


def _postgresql_args(url: str, timeouts: Timeouts, application: str = "timebok") -> dict[str, Any]:
    """psycopg's connect arguments; what the URL's own query sets (?connect_timeout=…&options=…) wins."""
    query = make_url(url).query
    args: dict[str, Any] = {"application_name": application}
    if "connect_timeout" not in query:
        args["connect_timeout"] = max(1, round(timeouts.connect))
    if "options" not in query:
        args["options"] = f"-c statement_timeout={round(timeouts.statement * 1000)} -c lock_timeout={round(timeouts.lock * 1000)}"
    return args


class Database:
    """The engine plus two kinds of transaction: reads, and writes that lock early."""

    def __init__(self, url: str, timeouts: Timeouts | None = None) -> None:
        self.url = url
        self.timeouts = timeouts or Timeouts.from_environment()
        self.is_sqlite = url.startswith("sqlite")
        self._probe_engine: Engine | None = None
        if self.is_sqlite:
            path = url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # hide_parameters: a failing statement's error would otherwise carry the values (identity numbers)
            # into any log line or traceback that prints it.
            # A writer waits for the file's write lock at most `lock` seconds in this process's queue and as long
            # again in SQLite's busy handler (another process's writer): a hung writer makes a 503 within
            # seconds, not the minute the two waits of 30 s each made.
            self.engine = create_engine(
                url,
                connect_args={"timeout": self.timeouts.lock, "check_same_thread": False},
                pool_size=8,
                pool_timeout=self.timeouts.pool,
                hide_parameters=True,
            )
            _tune_sqlite(self.engine, busy_ms=round(self.timeouts.lock * 1000))
        else:
            # READ COMMITTED (the default) is enough: every write that decides something is a conditional
            # UPDATE, which PostgreSQL re-checks against the newest row after waiting for its lock.
            # The timeouts make a hanging database a 503 within seconds instead of a stalled instance.
            self.engine = create_engine(
                url,
                # 30 kept open, none opened and closed again: under a burst the overflow connections were made
                # and dropped request after request, each a new PostgreSQL backend process (issue 30's profile).
                pool_size=30,
                max_overflow=0,
                pool_pre_ping=True,
                hide_parameters=True,
                pool_timeout=self.timeouts.pool,
                connect_args=_postgresql_args(url, self.timeouts),
            )
        metrics.watch_pool(self.engine)
        # A separate engine view whose transactions start as writers, so SQLite takes the write
        # lock at BEGIN instead of failing later with "database is locked" on upgrade.
        self._write_engine = self.engine.execution_options(timebok_write=True)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self._write_engine, expire_on_commit=False)
        self._writers = WriterQueue(self.timeouts.lock)
        # Set when a write failed for want of room (a full disk or database), cleared by the next write that commits:
        # /health says not ok meanwhile, since the database still answers every read.
        self.storage_full = False
        # SQLite's connections are in autocommit already (isolation_level None) once no BEGIN is sent; SQLAlchemy's
        # AUTOCOMMIT level would, on reset, switch the sqlite3 module back to its own implicit transactions.
        self._autocommit_engine = self.engine.execution_options(
            **({"timebok_autocommit": True} if self.is_sqlite else {"isolation_level": "AUTOCOMMIT"})
        )

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def migrate(self) -> None:
        """Bring the schema to the newest migration (creating it in an empty database)."""
        from timebok.backend.migrate import upgrade

        upgrade(self)

    def serialize(self, session_or_connection: Session | Connection, name: str) -> None:
        """Hold a lock named `name` until the transaction ends, across every instance on the database.

        SQLite needs nothing: a writing transaction already holds the only write lock (BEGIN IMMEDIATE).
        """
        if self.is_postgresql:
            # Start-up work (migrating, seeding) may wait for another instance's and take its time: no timeouts here.
            session_or_connection.execute(text("SET LOCAL lock_timeout = 0"))
            session_or_connection.execute(text("SET LOCAL statement_timeout = 0"))
            session_or_connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_key(name)})

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    @contextmanager
    def single_reads(self) -> Iterator[Connection]:
        """A Core connection where each statement is its own transaction: no BEGIN and COMMIT round trips.
        For reads that need no snapshot across statements (the month query: see versions.current)."""
        with self._autocommit_engine.connect() as connection:
            yield connection

    @contextmanager
    def writing_connection(self) -> Iterator[Connection]:
        """A Core connection in a writing transaction, committed at the end (schema migrations use it)."""
        with self._writer_turn(), self._write_engine.begin() as connection:
            yield connection
        self.storage_full = False

    @contextmanager
    def writing(self) -> Iterator[Session]:
        with self._writer_turn(), self._write() as session, session.begin():
            yield session
        self.storage_full = False

    def _writer_turn(self) -> AbstractContextManager[object]:
        # SQLite has one write lock, and its busy handler lets a newcomer take it ahead of a thread that has
        # slept for seconds: this process's writers queue for it in arrival order instead.
        return self._writers if self.is_sqlite else nullcontext()

    def ping(self) -> None:
        """Ask the database something trivial on a connection of its own (never waiting for the pool); raises if it
        does not answer within the connect and statement timeouts (at most 2 s each)."""
        with self._probe().connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def revision(self) -> str | None:
        """The schema migration the database is at (None: never migrated), asked as `ping` asks."""
        from timebok.backend.migrate import current

        with self._probe().connect() as connection:
            return current(connection)

    def _probe(self) -> Engine:
        if self._probe_engine is None:
            quick = replace(
                self.timeouts,
                connect=min(self.timeouts.connect, 2),
                statement=min(self.timeouts.statement, 2),
                lock=min(self.timeouts.lock, 2),
            )
            args = (
                {"timeout": 1, "check_same_thread": False}
                if self.is_sqlite
                else _postgresql_args(self.url, quick, "timebok-health")
            )
            self._probe_engine = create_engine(self.url, poolclass=NullPool, connect_args=args, hide_parameters=True)
        return self._probe_engine

    def dispose(self) -> None:
        self.engine.dispose()
        if self._probe_engine is not None:
            self._probe_engine.dispose()


def _tune_sqlite(engine: Engine, busy_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        # SQLite's own lower() folds only A-Z; Python's folds Æ, Ø, Å and the rest, as PostgreSQL's does.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get("timebok_autocommit", False):
            return  # each statement its own transaction, as SQLite does by itself
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("timebok_write", False) else "BEGIN")


def _lower(value: str | bytes | int | float | None) -> str | bytes | int | float | None:
    return value.lower() if isinstance(value, str) else value


def _use_wal(cursor: sqlite3.Cursor, patience: float = 30.0) -> None:
    """Switch a new file to WAL. The switch needs the file to itself and SQLite does not wait for that
    (no busy handler), so when two processes open a brand-new file at once, try again until one has done it."""
    deadline = time.monotonic() + patience
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal":
                return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError("database is locked: could not switch it to WAL")
        time.sleep(0.02)
