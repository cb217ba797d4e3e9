"""Runs the backend: standalone (`timebok serve`) or embedded in the app on a loopback port."""

from __future__ import annotations

import gc
import logging
import socket
import threading
from pathlib import Path

# FastAPI, SQLAlchemy and uvicorn are imported where they are used: the app imports this module
# before its first paint, and the embedded backend loads them in its own thread.


class StartupError(Exception):
    """The backend cannot start; the message is one line for the operator (no password, no traceback)."""


def open_database(db: str | Path, *, demo: bool):
    """Open the database (a SQLite path or a database URL), migrate its schema to the newest, and
    seed it when `demo` and empty."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from backend.db import Database, database_url
    from backend.seed import seed_if_empty

    from backend.seed import other_tokens

    url = database_url(db)
    database = None
    try:
        database = Database(url)
        database.migrate()
        if demo:
            seed_if_empty(database)
            if others := other_tokens(database):
                # A demo lists its users' tokens to anyone who asks: never on a database that real users sign in to.
                database.dispose()
                raise StartupError(f"--demo refuses to run on a database with {others} non-demo user(s); start without --demo")
    except (DBAPIError, PoolTimeout, OSError) as error:
        if database is not None:
            database.dispose()
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()
        shown = make_url(url).render_as_string(hide_password=True)
        raise StartupError(f"cannot open the database {shown}: {reason[0] if reason else type(error).__name__}") from None
    return database


def _config(app, host: str, port: int, log_level: str):
    import uvicorn

    from backend import logs

    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2)
    logs.install()  # after uvicorn has set up its loggers' handlers: they get the same scrubbing
    return config


def serve(db: str | Path, *, host: str = "127.0.0.1", port: int = 8787, demo: bool = False, public_url: str | None = None) -> None:
    """Serve until interrupted (the `timebok serve` command); links name `public_url`, else the listening address."""
    import uvicorn

    from backend.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # a line per plugin on every start says nothing
    from backend.http import public_url as parse_public_url

    try:
        public = parse_public_url(public_url)
    except ValueError as error:
        raise StartupError(str(error)) from None
    database = open_database(db, demo=demo)
    app = create_app(database, demo=demo, public_url=public)
    _generate(database)
    # Everything loaded so far lives as long as the server: keep it out of the collector's full
    # passes, which otherwise stall a request every so often (bench/backend_http.py showed p95 ≈ 5× median).
    gc.collect()
    gc.freeze()
    server = uvicorn.Server(_config(app, host, port, "info"))
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl+C after its graceful shutdown: stopping is not a failure
        pass


def _generate(database):
    """Free times from every office's setup: now, then on a schedule, by the server itself (no cron of the user's)."""
    from backend.generation import Generator

    return Generator(database).start()


class EmbeddedServer:
    """The backend on a free loopback port in a background thread of the app's own process."""

    def __init__(self, db: str | Path, *, demo: bool = True) -> None:
        self.db_path = db
        self.demo = demo
        # Bind now, serve later: the port is known at once, and early requests wait in the backlog.
        # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
        # and without it every answer waits ~40 ms for a delayed ACK (Nagle).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(128)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/fhir"
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self._server = None
        self._generator = None
        self._thread = threading.Thread(target=self._run, name="timebok-backend", daemon=True)

    @property
    def started(self) -> bool:
        return self._thread.is_alive() or self.ready.is_set()

    def start(self) -> EmbeddedServer:
        self._thread.start()
        return self

    def _run(self) -> None:
        import uvicorn

        from backend.app import create_app

        database = None
        try:
            database = open_database(self.db_path, demo=self.demo)
            app = create_app(database, demo=self.demo, public_url=f"http://127.0.0.1:{self.port}")
            self._generator = _generate(database)
            self._server = uvicorn.Server(_config(app, "127.0.0.1", self.port, "warning"))
            self.ready.set()
            self._server.run(sockets=[self._socket])
        except BaseException as error:  # reported to the app, which shows it in words
            self.failed = error
            self.ready.set()
        finally:
            if self._generator is not None:
                self._generator.stop()
            if database is not None:  # PostgreSQL counts open connections; hand them back when we stop
                database.dispose()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(timeout=5)
