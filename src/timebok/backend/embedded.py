"""The app's embedded demo backend in a child process: its own GIL, started after the first paint, gone with the app."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING

from timebok.backend.loopback import listening_socket

if TYPE_CHECKING:  # for annotations only: uvicorn is loaded in the child
    import uvicorn

_READY = b"ready\n"


class EmbeddedProcess:
    """The backend on a loopback port the app binds at once, served by a child process once `start` is called.

    The child reads its stdin, a pipe only this process writes: when this process ends in any way
    (Ctrl+Q, a closed terminal, SIGKILL) the pipe closes and the child stops, so no backend is left behind.
    """

    def __init__(self, db: str | Path, *, demo: bool = True, notices_dir: Path | None = None) -> None:
        self.db_path = db
        self.notices_dir = notices_dir  # where the demo's e-mail and SMS are written (no SMTP or gateway here)
        self.demo = demo
        self._socket = listening_socket()  # the port is known at once; early requests wait in the backlog
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/fhir"
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._lifeline: IO[bytes] | None = None  # the child's stdin; closing it stops the child

    @property
    def started(self) -> bool:
        return self.process is not None

    def start(self) -> EmbeddedProcess:
        self._errors = tempfile.TemporaryFile()  # what the child says when it fails; never fills a pipe
        argv = [sys.executable, "-m", "timebok.backend.embedded", "--db", str(self.db_path), "--fd", str(self._socket.fileno())]
        if self.notices_dir is not None:
            argv += ["--notices-dir", str(self.notices_dir)]
        self.process = process = subprocess.Popen(
            argv + (["--demo"] if self.demo else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            pass_fds=(self._socket.fileno(),),
            start_new_session=True,  # a terminal's signals are the app's to handle
        )
        # Both are pipes (PIPE above), never None; typeshed types every Popen's streams as optional.
        assert process.stdin is not None and process.stdout is not None
        self._lifeline = process.stdin
        threading.Thread(
            target=self._wait_for_ready, args=(process, process.stdout), name="timebok-backend-ready", daemon=True
        ).start()
        return self

    def _wait_for_ready(self, process: subprocess.Popen[bytes], said: IO[bytes]) -> None:
        line = said.readline()
        if line != _READY:
            process.wait()
            self._errors.seek(0)
            lines = self._errors.read().decode(errors="replace").strip().splitlines()
            self.failed = RuntimeError(lines[-1] if lines else f"the backend exited with {process.returncode}")
        self.ready.set()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        try:
            if self._lifeline is not None:
                self._lifeline.close()  # the child's cue to stop
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        self._socket.close()
        self._errors.close()


def _stop_when_parent_is_gone(server: uvicorn.Server) -> None:
    """Block on stdin; at EOF (the app is gone or said stop) shut the server down, and leave for sure soon after."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except OSError:
        pass
    server.should_exit = True
    threading.Timer(4.0, os._exit, args=(0,)).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The embedded demo backend (started by the app, not by hand).")
    parser.add_argument("--db", required=True)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--notices-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    import uvicorn

    from timebok.backend.app import create_app
    from timebok.backend.server import freeze_heap, notice_channels, open_database, start_generation, start_sender, uvicorn_config

    sock = socket.socket(fileno=args.fd)
    database = open_database(args.db, demo=args.demo)
    start_generation(database)  # the demo's free times keep coming as the days pass, as a real server's do
    # The demo's e-mail and SMS go to files (the app's data folder), read with `tail -f`; the log line says where.
    start_sender(database, notice_channels(args.db, demo=args.demo, files=args.notices_dir))
    server = uvicorn.Server(uvicorn_config(create_app(database, demo=args.demo), "127.0.0.1", sock.getsockname()[1], "warning"))
    threading.Thread(target=_stop_when_parent_is_gone, args=(server,), name="lifeline", daemon=True).start()
    freeze_heap()
    sys.stdout.buffer.write(_READY)
    sys.stdout.flush()
    try:
        server.run(sockets=[sock])
    finally:
        database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
