"""`timebok web` in a child process and a real Chromium (Debian's, driven by Playwright) for the browser tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.serve_process import free_port

CHROMIUM = Path("/usr/bin/chromium")
READY = re.compile(r"timebok web: (http://\S+)")


def chromium_or_skip() -> str:
    """Debian's chromium, or a skip saying why (a failure where CI requires it: .ci/run sets TIMEBOK_TEST_CHROMIUM_REQUIRED)."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    why = f"{CHROMIUM} is not installed (apt-get install chromium): the browser tests of timebok web need it"
    if os.environ.get("TIMEBOK_TEST_CHROMIUM_REQUIRED") == "1":
        pytest.fail(why)
    pytest.skip(why)


@contextmanager
def web_process(*args: str, timeout: float = 60) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`timebok web ARGS` on a free loopback port; its address once it serves, and the process."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "timebok.tui.cli", "web", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    url = None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if found := READY.search(line):
            url = found.group(1)
            break
    try:
        assert url is not None, f"timebok web did not start (exit {process.poll()})"
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        process.stdout.close()


def app_processes(server: subprocess.Popen[str]) -> int:
    """How many tab app processes the web server runs now (its children: the shell execs the app)."""
    found = 0
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = status.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            parent = int((status.parent / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if "timebok.tui.cli import main" in command and not command.startswith("/bin/sh") and parent == server.pid:
            found += 1
    return found


class Terminal:
    """One tab's app as the browser shows it: keys typed into it, and waiting until its screen stops changing.

    The terminal draws on a canvas, so the tests read the screen from screenshots (looked at) and from the backend."""

    def __init__(self, page) -> None:  # noqa: ANN001 - a Playwright page
        self.page = page
        self.frames: list[float] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda _frame: self.frames.append(time.monotonic())))

    def open(self) -> None:
        self.page.wait_for_selector("body.-first-byte", timeout=30_000)
        self.settle(1.0)  # connected and the first screen filled (no text field blinks on a first screen)

    def settle(self, quiet: float = 0.4, timeout: float = 20) -> None:
        """Wait until the app has sent nothing for `quiet` seconds (its screen is drawn). Shorter than the half second
        a text field's cursor blinks at, which draws a little now and then while nothing else happens."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.frames[-1] if self.frames else 0.0
            if time.monotonic() - last >= quiet:
                return
            self.page.wait_for_timeout(100)
        raise AssertionError("the app kept drawing")

    def press(self, *keys: str, quiet: float = 0.4) -> None:
        """Each key, then wait for the screen. `quiet=1.0` where a key loads the next step from the backend and no text
        field blinks there (on a busy machine a list filled late would lose the keys that follow)."""
        for key in keys:
            self.page.keyboard.press(key)
            self.page.wait_for_timeout(250)  # the key's own work (a fetch) starts drawing within this
            self.settle(quiet)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.settle()
