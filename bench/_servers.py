"""Shared helpers for the benchmarks: server processes on loopback, timing statistics, tables.

Also runnable as a script that serves a bare FastAPI app (no database, no auth) answering every
GET on one path with fixed bytes, served by uvicorn the same way the backend serves itself:

    python bench/_servers.py bare --port 8123 --path /fhir/Slot --body body.json
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

NOW = "2026-11-25T09:00:00+01:00"  # the tests' frozen clock: a Wednesday morning; the seed depends on it
HERE = Path(__file__).resolve().parent
FHIR_JSON = "application/fhir+json"


# -- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    env["TIMEBOK_NOW"] = NOW
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so `finally` blocks stop servers and remove temp files."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def ignore_interrupts() -> None:
    """For the cleanup at the end: a second Ctrl-C must not cut short stopping servers and removing files."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class ServerProcess:
    """A server in its own process (and session: a terminal's Ctrl-C reaches only us, and we stop it)."""

    def __init__(self, name: str, argv: list[str], port: int, ready_path: str, log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.ready_path = ready_path
        self.log_path = log_path
        self.root = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None
        self.startup_seconds = float("nan")

    def start(self, timeout: float = 60.0) -> ServerProcess:
        started = time.perf_counter()
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=bench_env(),
            start_new_session=True,
        )
        deadline = started + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode} while starting:\n{self.log_tail()}")
            try:
                if httpx.get(self.root + self.ready_path, timeout=1.0).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.05)
        self.startup_seconds = time.perf_counter() - started
        return self

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            try:
                process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def timebok_server(db: Path, log_path: Path) -> ServerProcess:
    """`timebok serve --demo` on a fresh database file and a free port, with the frozen clock."""
    port = free_port()
    script = Path(sys.executable).with_name("timebok")  # the console script next to this interpreter
    launcher = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "import sys; from timebok.tui.cli import main; sys.exit(main())"]
    )
    argv = launcher + ["serve", "--demo", "--db", str(db), "--port", str(port)]
    return ServerProcess("timebok serve", argv, port, "/fhir/metadata", log_path)


def bare_server(body_file: Path, path: str, media_type: str, log_path: Path) -> ServerProcess:
    port = free_port()
    argv = [
        sys.executable,
        str(HERE / "_servers.py"),
        "bare",
        "--port",
        str(port),
        "--path",
        path,
        "--body",
        str(body_file),
        "--media-type",
        media_type,
    ]
    return ServerProcess("bare FastAPI", argv, port, path, log_path)


def _serve_bare(port: int, path: str, body_file: Path, media_type: str) -> None:
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import Response

    body = body_file.read_bytes()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    # A plain `def`, like the backend's route: Starlette runs it in the thread pool the same way.
    @app.get(path)
    def fixed() -> Response:
        return Response(content=body, media_type=media_type)

    # The same uvicorn settings as backend.server.uvicorn_config.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
    )
    uvicorn.Server(config).run()


# -- figures --------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, int(-(-share * len(ordered) // 1)))  # ceil
    return ordered[min(rank, len(ordered)) - 1]


def median(values: list[float]) -> float:
    return statistics.median(values)


def table(title: str, headers: list[str], rows: list[list[object]], notes: list[str] = ()) -> str:
    """A small aligned plain-text table: text columns left, numbers right."""
    cells = [[str(c) for c in headers]] + [[_cell(c) for c in row] for row in rows]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(headers))]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric)).rstrip()

    out = [title, "=" * len(title), line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    out += [f"  {n}" for n in notes]
    return "\n".join(out)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 100 else f"{value:.2f}"
    return str(value)


def platform_line() -> str:
    from importlib.metadata import PackageNotFoundError, version

    def v(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "-"

    cpu = platform.processor() or platform.machine()
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    extras = [name for name in ("uvloop", "httptools") if v(name) != "-"]
    return (
        f"{platform.python_implementation()} {platform.python_version()} on {platform.platform(terse=True)}, "
        f"{os.cpu_count()} CPU(s) ({cpu}); fastapi {v('fastapi')}, starlette {v('starlette')}, uvicorn {v('uvicorn')} "
        f"({'+'.join(extras) if extras else 'asyncio loop, h11 parser'}), SQLAlchemy {v('SQLAlchemy')}, httpx {v('httpx')}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    bare = commands.add_parser("bare", help="serve fixed bytes from a bare FastAPI app")
    bare.add_argument("--port", type=int, required=True)
    bare.add_argument("--path", default="/fhir/Slot")
    bare.add_argument("--body", type=Path, required=True)
    bare.add_argument("--media-type", default=FHIR_JSON)
    args = parser.parse_args(argv)
    _serve_bare(args.port, args.path, args.body, args.media_type)
    return 0


if __name__ == "__main__":
    sys.exit(main())
