"""Helpers for driving the real app against the real backend in Pilot tests and snapshots."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from time import monotonic

from textual.screen import Screen

from timebok.tui.app import TimebokApp
from timebok.tui.connection import Connection

# How long the app in a test waits for the backend's answer: long, since a loaded machine can take seconds to answer
# a request that normally takes milliseconds; a test that needs the answer to come too late uses short_timeout().
TIMEOUT = 30.0
SHORT_TIMEOUT = 0.4


def make_app(
    server, token: str, *, agent_token: str = "", embedded: bool = False, timeout: float = TIMEOUT, **options
) -> TimebokApp:
    """The real app on the real backend; `embedded` makes it offer the demo's user picker."""
    return TimebokApp(Connection(server.url, token, agent_token=agent_token, timeout=timeout, embedded=embedded), **options)


@contextmanager
def short_timeout(app: TimebokApp, seconds: float = SHORT_TIMEOUT) -> Iterator[None]:
    """Inside the block the app gives up on an answer after `seconds`, so a backend held up by another writer answers
    too late; before and after it the app waits as usual, so the walk there and the retry after it do not time out
    on a loaded machine."""
    usual = app.client.timeout
    app.client.timeout = seconds  # read for each request (client/api.py bounds every exchange by it)
    try:
        yield
    finally:
        app.client.timeout = usual


# Bounds on waits for a condition, not delays: a test that passes waits only as long as the app is busy, so these
# can be generous enough for a machine loaded by other work; one that hangs fails with what was still busy.
SETTLE_SECONDS = 60.0
WAIT_SECONDS = 30.0
DUE_SOON_SECONDS = 1.0


class StillBusy(AssertionError):
    """The app did not come to rest (or a condition did not come) within the bound; the message says what was pending."""


def busy(app) -> list[str]:
    """What the app is still doing: its unfinished workers, and every node (the app, each screen on the stack and their
    widgets) with messages or callbacks waiting to be handled, a layout or repaint pending, or a one-shot timer due soon."""
    if not app.is_running:
        return []
    doing = [
        f"worker {worker.name or worker.group!r} ({worker.state.name.lower()})"
        for worker in app.workers
        if not worker.is_finished
    ]
    nodes = [app, *(node for screen in app.screen_stack for node in screen.walk_children(with_self=True))]
    for node in nodes:
        waiting = node.message_queue_size + len(node._next_callbacks)
        if waiting:
            doing.append(f"{waiting} message(s) for {node!r}")
        # A layout or repaint asked for and not yet done (Textual does it when the node is next idle; a screen, only
        # while it is on top, so one below a dialog may keep its flags).
        if (node is app.screen or not isinstance(node, Screen)) and any(getattr(node, f, False) for f in _REFRESH_FLAGS):
            doing.append(f"a refresh of {node!r}")
        doing.extend(f"a timer due on {node!r} ({timer._interval} s)" for timer in list(node._timers) if _due_soon(timer))
    screen = app.screen
    if screen._dirty_widgets or screen._callbacks:  # widgets to repaint, callbacks to run after the repaint
        doing.append(f"the repaint of {screen!r}")
    return doing


def _due_soon(timer) -> bool:
    """A one-shot timer (set_timer) that will fire within DUE_SOON_SECONDS of being set: work the app has scheduled
    for itself, such as a confirm sent when a shortened undo window closes. Intervals (polls, the cursor's blink) and
    longer timers (toasts, the usual 5 s undo window a test may want to act in) are not waited for."""
    task = timer._task
    return (
        timer._repeat == 0
        and timer._interval <= DUE_SOON_SECONDS
        and task is not None
        and not task.done()
        and timer._active.is_set()
    )


# Private flags of Textual's widgets and screens (textual/widget.py, textual/screen.py): set by refresh(), cleared
# when the refresh is done. Checked so a snapshot is never taken between a change and the layout that follows it.
_REFRESH_FLAGS = ("_layout_required", "_repaint_required", "_recompose_required", "_scroll_required")


async def settle(pilot, rounds: int | None = None, *, timeout: float = SETTLE_SECONDS) -> None:
    """Wait until the app is at rest: no worker running (nor any it starts), no message waiting in the app, its screens or
    their widgets, no timer about to fire, and the screen repainted (see busy()). Raises StillBusy naming what is still
    busy after `timeout` seconds. `rounds` is ignored: it is accepted for tests written when settle() paused a fixed
    number of rounds."""
    app = pilot.app
    deadline = monotonic() + timeout
    calm = 0
    while True:
        await pilot.pause()  # handles what the screen has queued, and repaints
        doing = busy(app)
        if not doing:
            calm += 1
            if calm == 2:  # twice in a row: what the last round handled started nothing new
                return
            continue
        calm = 0
        if monotonic() > deadline:
            raise StillBusy(f"the app was still busy after {timeout:.0f} s: {'; '.join(doing)}")
        running = [worker for worker in app.workers if worker.is_running]
        if running:  # a worker waiting on the backend: wake when the first is done, not after a fixed pause
            waits = [asyncio.ensure_future(_finished(worker)) for worker in running]
            await asyncio.wait(waits, timeout=max(0.0, deadline - monotonic()), return_when=asyncio.FIRST_COMPLETED)


async def _finished(worker) -> None:
    """Wait for `worker` to end however it ends (its error, if any, is the app's to report, as in a real run)."""
    try:
        await worker.wait()
    except Exception:  # WorkerFailed, WorkerCancelled
        pass


async def wait_for(pilot, predicate: Callable[[], object], *, timeout: float = WAIT_SECONDS, what: str = "") -> None:
    """Pause until `predicate()` holds, checking often; raises StillBusy after `timeout` seconds, saying what was awaited
    (`what`, else the predicate's source) and what the app was still doing."""
    deadline = monotonic() + timeout
    while not predicate():
        if monotonic() > deadline:
            doing = "; ".join(busy(pilot.app)) or "nothing"
            raise StillBusy(f"waited {timeout:.0f} s for {what or _source(predicate)}; the app was busy with: {doing}")
        await pilot.pause(0.05)


async def until(pilot, condition: Callable[[], object], *, seconds: float = WAIT_SECONDS) -> None:
    """wait_for() under its older name, for tests written before it; `seconds` bounds the wait (never below
    WAIT_SECONDS, since a loaded machine is slow), and a condition that never comes now fails here, saying so."""
    await wait_for(pilot, condition, timeout=max(seconds, WAIT_SECONDS))


def _source(predicate: Callable[[], object]) -> str:
    try:
        return inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return repr(predicate)


def screen_text(app) -> str:
    """Everything the current screen shows, as plain text (for asserting what a user would read)."""
    from textual.widgets import OptionList, Static

    parts = [str(widget.render()) for widget in app.screen.query(Static) if widget.display]  # hidden text is not read
    for options in app.screen.query(OptionList):
        parts.extend(str(options.get_option_at_index(i).prompt) for i in range(options.option_count))
    return "\n".join(parts)


def footer_keys(app) -> list:
    """The keys the footer draws on the current screen (ui.widgets.footer.ShownKey), each checked against the line itself."""
    from timebok.ui.widgets.footer import BORDER, TimebokFooter

    footer = app.screen.query_one(TimebokFooter)
    line = footer.render().plain
    keys = footer.shown_keys()
    for shown in keys:
        assert line[shown.x : shown.right] == (BORDER if shown.palette else "") + f"{shown.key_display} {shown.description}", line
    assert len(line) <= footer.size.width
    return keys


async def book_for_self(pilot) -> None:
    """«Bestill time», and for a citizen who may act for others (Kari: Emma, her mother) step 1's «Meg selv»."""
    from timebok.screens.for_whom import ForWhomScreen

    await pilot.press("b")
    await settle(pilot)
    if isinstance(pilot.app.screen, ForWhomScreen):
        await pilot.press("enter")
        await settle(pilot)


async def to_calendar(pilot, downs: int) -> None:
    """From the citizen's start: «Bestill time», then the time type `downs` below the first (2: Lab, one place)."""
    await settle(pilot)
    await book_for_self(pilot)
    await pilot.press(*(["down"] * downs), "enter")
    await settle(pilot)


async def to_review(pilot, reason: str = "") -> None:
    """Lab, the first free date, its first free time, and the reason typed."""
    await to_calendar(pilot, downs=2)
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    if reason:
        await pilot.press(*reason)


def cut_off(app) -> list[str]:
    """The visible widgets of the current screen whose right edge lies past the terminal's: cut off on the right."""
    width = app.screen.size.width
    return [f"{w!r} {w.region}" for w in app.screen.query("*") if w.display and w.region.width and w.region.right > width]
