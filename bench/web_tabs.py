"""`timebok web` in Debian's Chromium: page load to the first screen (goal ≤ 2 s), memory per open tab, 10 tabs at once."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/web_helpers.py starts the server the browser tests use

NOW = "2026-11-25T09:00:00+01:00"
CHROMIUM = Path("/usr/bin/chromium")
RUNS = 7
TABS = 10
GOAL_SECONDS = 2.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tab_pids(server_pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == server_pid and b"timebok.tui.cli import main" in (stat.parent / "cmdline").read_bytes():
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def sign_in(browser, web: str):
    context = browser.new_context(viewport={"width": 1000, "height": 640}, locale="nb-NO")
    page = context.new_page()
    page.goto(web)
    page.get_by_role("button", name="Kari Nordmann", exact=True).click()
    page.wait_for_selector("body.-first-byte", timeout=60_000)
    return context, page


def first_screen(page, web: str) -> float:
    """Seconds from asking for the page (signed in) to the first screen drawn: its first bytes, then 0.3 s quiet."""
    frames: list[float] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda _f: frames.append(time.monotonic())))
    started = time.monotonic()
    page.goto(f"{web}/app")
    page.wait_for_selector("body.-first-byte", timeout=60_000)
    while not frames or time.monotonic() - frames[-1] < 0.3:
        page.wait_for_timeout(20)
    return frames[-1] - started


def main() -> int:
    if not CHROMIUM.exists():
        print(f"skipped: {CHROMIUM} is not installed (apt-get install chromium)")
        return 0
    from playwright.sync_api import sync_playwright

    from tests.web_helpers import web_process
    from timebok.backend.server import EmbeddedServer

    os.environ["TIMEBOK_NOW"] = NOW
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            os.environ[name] = str(Path(tmp) / name)
        backend = EmbeddedServer(Path(tmp) / "web.db", demo=True).start()
        backend.ready.wait(60)
        try:
            with web_process("--backend", backend.url, "--demo", "--max-tabs", str(TABS + 2)) as (web, server):
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
                    context, page = sign_in(browser, web)
                    times = [first_screen(page, web) for _ in range(RUNS)]
                    time.sleep(1)
                    one = [rss_mb(pid) for pid in tab_pids(server.pid)]
                    server_alone = rss_mb(server.pid)
                    context.close()
                    print(
                        f"page load → first screen (signed in, {RUNS} runs): median {statistics.median(times):.2f} s, "
                        f"max {max(times):.2f} s (goal ≤ {GOAL_SECONDS:.0f} s: "
                        f"{'met' if statistics.median(times) <= GOAL_SECONDS else 'NOT met'})"
                    )
                    print(
                        f"memory: one open tab's app process {statistics.mean(one):.0f} MB RSS; the web server {server_alone:.0f} MB"
                    )

                    # Ten tabs of one signed-in browser, asked for at once: each is its own app process.
                    context, first = sign_in(browser, web)
                    first.goto("about:blank")  # its own tab closes: only the ten below are open
                    time.sleep(1)
                    tabs = [context.new_page() for _ in range(TABS)]
                    frames: list[list[float]] = [[] for _ in tabs]
                    for tab, seen in zip(tabs, frames):
                        tab.on(
                            "websocket", lambda ws, seen=seen: ws.on("framereceived", lambda _f: seen.append(time.monotonic()))
                        )
                    started = time.monotonic()
                    for tab in tabs:
                        tab.goto(f"{web}/app", wait_until="commit")
                    for tab in tabs:
                        tab.wait_for_selector("body.-first-byte", timeout=120_000)
                    while any(not seen or time.monotonic() - seen[-1] < 0.3 for seen in frames):
                        time.sleep(0.05)
                    all_drawn = max(seen[-1] for seen in frames) - started
                    time.sleep(1)
                    rss = [rss_mb(pid) for pid in tab_pids(server.pid)]
                    print(
                        f"{TABS} tabs at once: all {len(rss)} first screens drawn {all_drawn:.2f} s after asking; "
                        f"their apps {sum(rss):.0f} MB RSS in all ({statistics.mean(rss):.0f} MB per tab), "
                        f"the web server {rss_mb(server.pid):.0f} MB"
                    )
                    context.close()
                    browser.close()
        finally:
            backend.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
