"""`timebok serve` as a real process for the tests: started on a free loopback port, waited for, stopped or killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TIMEBOK = str(Path(sys.executable).with_name("timebok"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServeProcess:
    """One backend instance; the database comes as --db or, when `via_env`, as $TIMEBOK_DB_URL."""

    def __init__(
        self,
        db_url: str,
        log: Path,
        *,
        demo: bool = True,
        via_env: bool = False,
        extra: tuple[str, ...] = (),
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()  # a given port: an instance restarted where a proxy expects it
        self.url = f"http://127.0.0.1:{self.port}/fhir"
        argv = [TIMEBOK, "serve", "--port", str(self.port), *extra] + (["--demo"] if demo else [])
        env = dict(os.environ)  # TIMEBOK_NOW comes along: the instance runs on the tests' clock
        if via_env:
            env["TIMEBOK_DB_URL"] = db_url
        else:
            argv += ["--db", db_url]
        self.log = log
        self._log_file = open(log, "ab")  # a restart on the same log adds to it
        self.process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=subprocess.STDOUT)

    def wait_until_serving(self, timeout: float = 30) -> ServeProcess:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"timebok serve exited:\n{self.log.read_text(errors='replace')}"
            try:
                if httpx.get(f"{self.url}/metadata", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"timebok serve did not answer within {timeout:.0f} s"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as when the machine or the OOM killer takes the process."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log_file.close()
