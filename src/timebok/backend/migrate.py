"""Brings a database to the newest schema migration, safely when several instances start at once."""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cache
from pathlib import Path
from typing import Protocol

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.orm import Session


class Migratable(Protocol):
    """What a migration needs of backend.db.Database (which calls `upgrade`, so this module cannot import it)."""

    @property
    def engine(self) -> Engine: ...

    def writing_connection(self) -> AbstractContextManager[Connection]: ...

    def serialize(self, session_or_connection: Session | Connection, name: str) -> None: ...


# The revision that matches what the backend created with create_all before it had migrations.
LEGACY_REVISION = "0001"


def _config(connection: Connection | None = None) -> Config:
    # No alembic.ini to find: the scripts ship inside the package, and the connection is ours.
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    config.attributes["connection"] = connection
    return config


@cache
def head() -> str:
    found = ScriptDirectory.from_config(_config()).get_current_head()
    if found is None:  # only if the package shipped without its migrations
        raise RuntimeError("no schema migrations found")
    return found


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(db: Migratable) -> None:
    """Migrate `db` to the head revision; a no-op when it is there already."""
    with db.engine.connect() as connection:
        if current(connection) == head():  # the common case, checked without taking any lock
            return
    # One transaction holds the migration lock: PostgreSQL's DDL is transactional, so a second instance
    # starting at the same moment waits here and then finds the work done; on SQLite the writing
    # transaction (BEGIN IMMEDIATE) is itself that lock.
    with db.writing_connection() as connection:
        db.serialize(connection, "migrate")
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" not in tables and "organization" in tables:
            command.stamp(_config(connection), LEGACY_REVISION)  # made by create_all before migrations existed
        command.upgrade(_config(connection), "head")
