"""Runs the backend: standalone (`timebok serve`) or embedded in the app on a loopback port."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

from backend.app import create_app
from backend.db import Database, database_url
from backend.seed import seed_if_empty


def open_database(db: str | Path, *, demo: bool) -> Database:
    """Open (and on first start create) the database; seed it when `demo` and empty."""
    database = Database(database_url(db))
    database.create_schema()
    if demo:
        seed_if_empty(database)
    return database


def _config(app, host: str, port: int, log_level: str):
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="off",
                          timeout_graceful_shutdown=2)


def serve(db: str | Path, *, host: str = "127.0.0.1", port: int = 8787, demo: bool = False) -> None:
    """Serve until interrupted (the `timebok serve` command)."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    database = open_database(db, demo=demo)
    server = uvicorn.Server(_config(create_app(database, demo=demo), host, port, "info"))
    server.run()


class EmbeddedServer:
    """The backend on a free loopback port in a background thread of the app's own process."""

    def __init__(self, db: str | Path, *, demo: bool = True) -> None:
        self.db_path = db
        self.demo = demo
        # Bind now, serve later: the port is known at once, and early requests wait in the backlog.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(128)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/fhir"
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self._server = None
        self._thread = threading.Thread(target=self._run, name="timebok-backend", daemon=True)

    def start(self) -> EmbeddedServer:
        self._thread.start()
        return self

    def _run(self) -> None:
        import uvicorn

        try:
            database = open_database(self.db_path, demo=self.demo)
            self._server = uvicorn.Server(_config(create_app(database, demo=self.demo), "127.0.0.1", self.port, "warning"))
            self.ready.set()
            self._server.run(sockets=[self._socket])
        except BaseException as error:  # reported to the app, which shows it in words
            self.failed = error
            self.ready.set()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(timeout=5)
