"""Prints the app's start-up time to first paint (next to a bare Textual app) and the calendar's month switch time."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-25T09:00:00+01:00"
RUNS = 7

# Each child prints the wall-clock time at which its first screen has been painted, then ends there (os._exit: what
# comes after the paint, such as the app reading the other screens' styles, is not start-up). Both run at 80x24, as a
# terminal of that size starts them: headless Textual otherwise lays the first screen out at 80x25 and again at 80x24.
_BARE = """
import os, time
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(self.painted)
    def painted(self):
        print(time.time(), flush=True)
        os._exit(0)
Bare().run(headless=True, size=(80, 24))
"""

_TIMEBOK = """
import os, time
from timebok.tui.run import _connection
from timebok.tui.config import load_settings
from timebok.tui.app import TimebokApp
class Measured(TimebokApp):
    # Textual calls every class's own on_mount, TimebokApp's too: calling it from here as well would build the
    # start screen twice (a push, then a switch to a second one) and time work the app never does.
    def on_mount(self):
        self.call_after_refresh(self.painted)
    def painted(self):
        print(time.time(), flush=True)
        os._exit(0)
Measured(_connection(load_settings(None))).run(headless=True, size=(80, 24))
"""


def _first_paint_ms(code: str, env: dict[str, str]) -> float:
    started = time.time()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return (float(out.stdout.split()[0]) - started) * 1000


def startup(tmp: Path) -> None:
    env = {
        **os.environ,
        "TIMEBOK_NOW": NOW,
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_STATE_HOME": str(tmp / "state"),
    }
    # Both apps start from compiled bytecode, as an installed app does (pip compiles Textual's on install): with
    # PYTHONDONTWRITEBYTECODE set (CI, some shells) our own modules would be compiled from source on every run
    # (~20 ms here) while Textual's never are, and the ratio would measure that instead of the app.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    _first_paint_ms(_TIMEBOK, env)  # the first run seeds the demo database and compiles our modules; measure the runs after it
    bare, ours = [], []
    for _ in range(RUNS):  # side by side, so a busy moment of the shared machine falls on both
        bare.append(_first_paint_ms(_BARE, env))
        ours.append(_first_paint_ms(_TIMEBOK, env))
    print("Process start to first paint (headless, embedded demo backend starting in the background)")
    print(f"  {'app':<22}{'median ms':>10}{'min ms':>10}{'max ms':>10}")
    for name, values in (("bare Textual app", bare), ("timebok", ours)):
        print(f"  {name:<22}{statistics.median(values):>10.0f}{min(values):>10.0f}{max(values):>10.0f}")
    ratio = statistics.median(ours) / statistics.median(bare)
    print(f"  timebok / bare: {ratio:.2f}× (goal ≤ 1.25×: {ratio / 1.25:.2f}× goal, {'met' if ratio <= 1.25 else 'NOT met'})")
    instructions(env)


def _instructions(code: str, env: dict[str, str]) -> int | None:
    """Instructions the process runs from its start to its first paint, counted by callgrind (valgrind)."""
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg", sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=300,
        )
    found = re.search(r"Collected : (\d+)", run.stderr)
    return int(found.group(1)) if run.returncode == 0 and found else None


def instructions(env: dict[str, str]) -> None:
    # Wall-clock times on a shared machine vary by a fifth from run to run; the instructions to the first paint
    # do not (the same count twice, whatever else runs), so they show what a change did.
    if shutil.which("valgrind") is None:
        print("  (valgrind is not installed: no instruction counts)")
        return
    bare, ours = _instructions(_BARE, env), _instructions(_TIMEBOK, env)
    if bare is None or ours is None:
        print("  (callgrind did not run: no instruction counts)")
        return
    ratio = ours / bare
    print(
        f"  instructions to first paint (callgrind): bare {bare / 1e6:.0f} M, timebok {ours / 1e6:.0f} M, "
        f"{ratio:.2f}× ({ratio / 1.25:.2f}× goal)"
    )


async def month_switch(tmp: Path) -> None:
    from timebok.backend.embedded import EmbeddedProcess
    from timebok.domain import clock
    from timebok.tui.app import TimebokApp
    from timebok.tui.connection import Connection

    clock.set_now(NOW)
    os.environ["TIMEBOK_NOW"] = NOW  # the child backend runs on the same frozen clock
    server = EmbeddedProcess(tmp / "switch.db").start()  # as the app runs it: its own process
    server.ready.wait(30)
    app = TimebokApp(Connection(server.url, "demo-citizen-kari"))
    timings = []
    async with app.run_test(size=(100, 32)) as pilot:

        async def settle():
            for _ in range(4):
                await pilot.pause()
                await app.workers.wait_for_complete()

        await settle()
        await pilot.press("b")
        await settle()
        await pilot.press("down", "down", "enter")  # Lab: about 600 free times a month
        await settle()
        calendar = app.screen.calendar
        for i in range(20):
            before = app.draft.month
            # Timed from what PgDn/PgUp runs, not from pilot.press: the harness itself waits ~50 ms for the app
            # to go idle after a key (see bench/front_desk.py), which is not the app's time.
            started = time.perf_counter()
            calendar.action_step_month(1 if i % 2 == 0 else -1)
            # Done when the screen has taken the new month's answer (the draft follows the shown month).
            while app.draft.month == before or calendar.month != app.draft.month:
                await asyncio.sleep(0.0005)
            timings.append((time.perf_counter() - started) * 1000)
            await settle()
    server.stop()
    timings.sort()
    print(
        "Calendar month switch (key press to the new month's free dates shown, through HTTP on loopback, "
        "the embedded backend in its child process)"
    )
    middle = statistics.median(timings)
    print(f"  median {middle:.1f} ms   p95 {timings[int(len(timings) * 0.95) - 1]:.1f} ms   ({len(timings)} switches)")
    print(
        f"  goal ≤ 50 ms: {middle / 50:.2f}× goal, {'met' if middle <= 50 else 'NOT met'} (the next month is fetched ahead, and a month "
        "seen before is a 304)"
    )


def main() -> None:
    print(f"timebok TUI benchmark — Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        startup(Path(tmp))
        asyncio.run(month_switch(Path(tmp)))


if __name__ == "__main__":
    main()
