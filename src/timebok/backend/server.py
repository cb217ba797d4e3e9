"""Runs the backend: standalone (`timebok serve`, optionally several workers) or in a thread on a loopback port."""

from __future__ import annotations

import atexit
import gc
import json
import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from timebok.backend.loopback import listening_socket

if TYPE_CHECKING:  # for annotations only: importing them here would load FastAPI and SQLAlchemy before the first paint
    import uvicorn
    from fastapi import FastAPI

    from timebok.backend.channels import Channel
    from timebok.backend.db import Database
    from timebok.backend.generation import Generator
    from timebok.backend.oidc import Verifier
    from timebok.backend.sender import Sender

# FastAPI, SQLAlchemy and uvicorn are imported where they are used: the app imports this module
# before its first paint, and the embedded backend loads them in its own thread.


class StartupError(Exception):
    """The backend cannot start; the message is one line for the operator (no password, no traceback)."""


def open_database(db: str | Path, *, demo: bool, migrate: bool = True) -> Database:
    """Open the database (a SQLite path or a database URL), migrate its schema to the newest (or, without `migrate`,
    refuse one that is not at it), and seed it when `demo` and empty."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from timebok.backend.db import Database, database_url
    from timebok.backend.migrate import head as migrate_head
    from timebok.backend.seed import other_tokens, seed_if_empty

    url = database_url(db)
    database: Database | None = None
    try:
        database = Database(url)
        if migrate:
            _patiently(database, database.migrate)
        elif (found := database.revision()) != (wanted := migrate_head()):
            database.dispose()
            raise StartupError(
                f"the database's schema is at {found or 'nothing'}, this timebok needs {wanted}: run `timebok migrate` first"
            )
        if demo:
            _patiently(database, lambda: seed_if_empty(database))
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


def _patiently(database: Database, work: Callable[[], object], patience: float = 60.0) -> None:
    """Start-up work (migrating, seeding) waits as long as it must for another instance's (SQLite: each try is one
    transaction that waits the short request-time lock timeout, so it is tried again until `patience` runs out)."""
    import time

    from sqlalchemy.exc import OperationalError

    deadline = time.monotonic() + patience
    while True:
        try:
            work()
            return
        except OperationalError as error:
            if not database.is_sqlite or "locked" not in str(error.orig).lower() or time.monotonic() > deadline:
                raise


def uvicorn_config(
    app: FastAPI, host: str, port: int, log_level: str, *, log_format: str = "text", graceful: int = 2
) -> uvicorn.Config:
    """The uvicorn settings every way of serving uses (no access log: ours names the request id; scrubbed loggers);
    on SIGTERM or Ctrl+C it stops accepting and gives the requests in flight `graceful` seconds to finish."""
    import uvicorn

    from timebok.backend import logs

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=graceful,
        log_config=_uvicorn_logging(log_format),
    )
    logs.install()  # after uvicorn has set up its loggers' handlers: they get the same scrubbing
    return config


def start_verifier(issuers: dict[str, str], audience: str | None) -> Verifier | None:
    """The OpenID Connect verifier for `issuers` ({role: URL}), its discovery and keys fetched now; None with no issuers."""
    from timebok.backend.oidc import IssuerUnreachable, Verifier

    if not issuers:
        return None
    if not audience:
        raise StartupError("--oidc-issuer needs --oidc-audience (or TIMEBOK_OIDC_AUDIENCE): the audience our tokens carry")
    try:
        return Verifier(issuers, audience).start()
    except IssuerUnreachable as error:
        raise StartupError(str(error)) from None


def serve(
    db: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8787,
    demo: bool = False,
    workers: int = 1,
    public_url: str | None = None,
    oidc_issuers: dict[str, str] | None = None,
    oidc_audience: str | None = None,
    log_format: str = "text",
    graceful: int = 20,
    migrate: bool = True,
    smtp: str | None = None,
    smtp_starttls: bool = False,
    sms_gateway: str | None = None,
    notices_dir: Path | None = None,
) -> None:
    """Serve until interrupted (the `timebok serve` command); `workers` > 1 runs that many processes on one port;
    links name `public_url`, else the listening address; tokens from `oidc_issuers` ({role: issuer URL}) carrying
    `oidc_audience` are accepted, static ones only with `demo`. SIGTERM drains: no new connection is taken, and the
    requests in flight get `graceful` seconds to finish. Without `migrate`, a database not at the newest schema is
    refused (`timebok migrate` brings it there). E-mail goes to `smtp`, SMS to `sms_gateway`; on a demo without them,
    to files in `notices_dir` (default: beside a SQLite file, else the working directory)."""
    # Before anything imports prometheus-client: every process of this server counts into one folder.
    metrics_folder = _metrics_folder() if workers > 1 else None
    try:
        _serve(
            db,
            host=host,
            port=port,
            demo=demo,
            workers=workers,
            public_url=public_url,
            oidc_issuers=oidc_issuers,
            oidc_audience=oidc_audience,
            log_format=log_format,
            graceful=graceful,
            migrate=migrate,
            smtp=smtp,
            smtp_starttls=smtp_starttls,
            sms_gateway=sms_gateway,
            notices_dir=notices_dir,
        )
    finally:
        if metrics_folder is not None:
            shutil.rmtree(metrics_folder, ignore_errors=True)


def _serve(
    db: str | Path,
    *,
    host: str,
    port: int,
    demo: bool,
    workers: int,
    public_url: str | None,
    oidc_issuers: dict[str, str] | None,
    oidc_audience: str | None,
    log_format: str,
    graceful: int,
    migrate: bool,
    smtp: str | None,
    smtp_starttls: bool,
    sms_gateway: str | None,
    notices_dir: Path | None,
) -> None:
    import uvicorn

    from timebok.backend.app import create_app
    from timebok.backend.http import public_url as parse_public_url

    _log_setup(log_format)
    try:
        public = parse_public_url(public_url)
    except ValueError as error:
        raise StartupError(str(error)) from None
    verifier = start_verifier(oidc_issuers or {}, oidc_audience)  # one clear line, before anything else, if unreachable
    database = open_database(db, demo=demo, migrate=migrate)  # migrated and seeded once, before any worker starts
    # After the database opened: a database that cannot be opened is one line alone, not after the channels' line.
    channels = notice_channels(db, demo=demo, smtp=smtp, smtp_starttls=smtp_starttls, sms_gateway=sms_gateway, files=notices_dir)
    start_generation(database)  # in this process only, however many workers serve
    start_sender(database, channels)  # likewise: one sender per instance, whatever its workers
    if verifier is None and not demo:
        logging.getLogger("timebok").warning("no --oidc-issuer and no --demo: no token will be accepted")
    try:
        if workers > 1:
            if database.is_sqlite and database.url.endswith(":memory:"):
                raise StartupError("--workers needs a database file or PostgreSQL: an in-memory database cannot be shared")
            database.dispose()
            # The workers are fresh interpreters (spawned by uvicorn); they find the database here. The
            # environment, not argv: a PostgreSQL password must not show in `ps`.
            os.environ[_WORKER_DB], os.environ[_WORKER_DEMO] = database.url, "1" if demo else ""
            os.environ[_WORKER_PUBLIC_URL] = public or ""
            # Each worker fetches the issuers' keys itself (they were just reachable) and keeps its own cache.
            os.environ[_WORKER_OIDC] = json.dumps({"issuers": oidc_issuers or {}, "audience": oidc_audience})
            os.environ[_WORKER_LOG_FORMAT] = log_format
            uvicorn.run(
                "timebok.backend.server:worker_app",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                log_level="info",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=graceful,
                log_config=_uvicorn_logging(log_format),
            )
            return
        app = create_app(database, demo=demo, public_url=public, oidc=verifier)
        freeze_heap()
        # uvicorn re-raises the signal that stopped it after its graceful shutdown: SIGTERM then ends here, as Ctrl+C
        # does, and the process exits 0 (a service manager's stop is not a failure) after its own clean-up.
        signal.signal(signal.SIGTERM, _stopped)
        uvicorn.Server(uvicorn_config(app, host, port, "info", log_format=log_format, graceful=graceful)).run()
    except (KeyboardInterrupt, Stopped):  # stopping is not a failure
        pass


class Stopped(Exception):
    """SIGTERM, re-raised by uvicorn once the requests in flight are answered."""


def _stopped(_signal: int, _frame: object) -> None:
    raise Stopped


_WORKER_DB, _WORKER_DEMO, _WORKER_PUBLIC_URL = "TIMEBOK_WORKER_DB", "TIMEBOK_WORKER_DEMO", "TIMEBOK_WORKER_PUBLIC_URL"
_WORKER_OIDC, _WORKER_LOG_FORMAT = "TIMEBOK_WORKER_OIDC", "TIMEBOK_WORKER_LOG_FORMAT"


def worker_app() -> FastAPI:
    """The app of one `--workers` process (uvicorn calls this in each, after setting up its loggers)."""
    from timebok.backend import logs, metrics
    from timebok.backend.app import create_app

    _log_setup(os.environ.get(_WORKER_LOG_FORMAT) or "text")
    logs.install()  # uvicorn's loggers in this process get the same scrubbing as in a single-process server
    pid = os.getpid()
    atexit.register(metrics.worker_exited, pid)  # its connection gauges leave the sums when it stops
    demo = bool(os.environ.get(_WORKER_DEMO))
    oidc = json.loads(os.environ.get(_WORKER_OIDC) or "{}")
    verifier = start_verifier(oidc.get("issuers") or {}, oidc.get("audience"))
    app = create_app(
        open_database(os.environ[_WORKER_DB], demo=demo),
        demo=demo,
        public_url=os.environ.get(_WORKER_PUBLIC_URL) or None,
        oidc=verifier,
    )
    freeze_heap()
    return app


def _metrics_folder() -> Path | None:
    """PROMETHEUS_MULTIPROC_DIR for a `--workers N` server: a new folder, removed at exit (returned), or the operator's
    own, emptied of an earlier run's files (None: theirs to keep)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        return None
    made = Path(tempfile.mkdtemp(prefix="timebok-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(made)
    return made


def _uvicorn_logging(log_format: str) -> dict[str, Any] | None:
    # JSON: uvicorn sets up no handler of its own, so its records reach the root's JSON lines like ours.
    from uvicorn.config import LOGGING_CONFIG

    return None if log_format == "json" else LOGGING_CONFIG


def _log_setup(log_format: str = "text") -> None:
    if log_format == "json":
        from timebok.backend.logs import JsonLines

        handler = logging.StreamHandler()
        handler.setFormatter(JsonLines())
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
        for name in ("uvicorn", "uvicorn.error"):
            logging.getLogger(name).handlers.clear()
            logging.getLogger(name).propagate = True
        # Ours (timebok.access) names the request id and masks each value; uvicorn's would be a second line per request.
        logging.getLogger("uvicorn.access").handlers.clear()
        logging.getLogger("uvicorn.access").propagate = False
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # a line per plugin on every start says nothing
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per key fetch says nothing; failures are logged as timebok.oidc


def freeze_heap() -> None:
    # Everything loaded so far lives as long as the server: keep it out of the collector's full
    # passes, which otherwise stall a request every so often (bench/backend_http.py showed p95 ≈ 5× median).
    gc.collect()
    gc.freeze()


def notice_channels(
    db: str | Path,
    *,
    demo: bool,
    smtp: str | None = None,
    smtp_starttls: bool = False,
    sms_gateway: str | None = None,
    files: Path | None = None,
) -> Callable[[], dict[str, Channel]]:
    """Where this server's e-mail and SMS go (checked now and said in one log line), as a maker of a fresh set of
    channels for each sending thread; a demo without a channel writes to files."""
    from timebok.backend import channels

    if demo and files is None:
        text = os.fspath(db)
        if "://" in text or text == ":memory:":
            # No folder of its own (PostgreSQL, or a database in memory): the user's data folder, never the working
            # directory, where the files would land in whatever repository the server was started from.
            from platformdirs import user_data_path

            files = user_data_path("timebok")
        else:
            files = Path(text).expanduser().resolve().parent

    def make() -> dict[str, Channel]:
        return channels.build(smtp=smtp, starttls=smtp_starttls, sms_gateway=sms_gateway, files=files if demo else None)

    try:
        made = make()
    except ValueError as error:
        raise StartupError(str(error)) from None
    logging.getLogger("timebok.sender").info("messages: %s", channels.describe(made))
    return make


SENDER_THREADS = 4  # on PostgreSQL: sending waits on the network, and each thread claims its own batch


def start_sender(database: Database, make: Callable[[], dict[str, Channel]]) -> Sender:
    """E-mail and SMS from the outbox, sent by the server itself on threads of its own (one on SQLite, whose single
    writer would only make more of them wait for each other's marks)."""
    from timebok.backend.sender import Sender

    threads = SENDER_THREADS if database.is_postgresql else 1
    return Sender(database, make(), threads=threads, make_channels=make).start()


def start_generation(database: Database) -> Generator:
    """Free times from every office's setup: now, then on a schedule, by the server itself (no cron of the user's)."""
    from timebok.backend.generation import Generator

    return Generator(database).start()


class EmbeddedServer:
    """The backend on a free loopback port in a background thread of this process (the tests' live server; the
    app runs its embedded backend in a child process instead, backend.embedded)."""

    def __init__(
        self, db: str | Path, *, demo: bool = True, oidc: Verifier | None = None, channels: dict[str, Channel] | None = None
    ) -> None:
        self.db_path = db
        self.channels = channels  # e-mail and SMS channels: a sender runs only when given some (the tests' own)
        self.sender: Sender | None = None
        self.demo = demo
        self.oidc = oidc  # an OpenID Connect verifier (tests and development against the local provider)
        self._socket = listening_socket()  # the port is known at once; early requests wait in the backlog
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/fhir"
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self._server: uvicorn.Server | None = None
        self._generator: Generator | None = None
        self._thread = threading.Thread(target=self._run, name="timebok-backend", daemon=True)

    @property
    def started(self) -> bool:
        return self._thread.is_alive() or self.ready.is_set()

    def start(self) -> EmbeddedServer:
        self._thread.start()
        return self

    def _run(self) -> None:
        import uvicorn

        from timebok.backend.app import create_app

        database = None
        try:
            database = open_database(self.db_path, demo=self.demo)
            app = create_app(database, demo=self.demo, public_url=f"http://127.0.0.1:{self.port}", oidc=self.oidc)
            self._generator = start_generation(database)
            if self.channels is not None:
                from timebok.backend.sender import Sender

                self.sender = Sender(database, self.channels).start()  # one thread: the given channels are one set
            self._server = server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", self.port, "warning"))
            self.ready.set()
            server.run(sockets=[self._socket])
        except BaseException as error:  # reported to the app, which shows it in words
            self.failed = error
            self.ready.set()
        finally:
            if self._generator is not None:
                self._generator.stop()
            if self.sender is not None:
                self.sender.stop()
            if database is not None:  # PostgreSQL counts open connections; hand them back when we stop
                database.dispose()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(timeout=5)
