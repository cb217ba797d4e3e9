"""Helpers for driving the real app against the real backend in Pilot tests and snapshots."""

from __future__ import annotations

from timebok.tui.app import TimebokApp
from timebok.tui.connection import Connection


def make_app(server, token: str, *, agent_token: str = "", embedded: bool = False, timeout: float = 5.0,
             **options) -> TimebokApp:
    """The real app on the real backend; `embedded` makes it offer the demo's user picker; a short `timeout` makes
    a backend held up by another writer answer too late."""
    return TimebokApp(Connection(server.url, token, agent_token=agent_token, timeout=timeout, embedded=embedded), **options)


async def settle(pilot, rounds: int = 6) -> None:
    """Let every worker (and any worker it starts) finish, and the screen repaint."""
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


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
        assert line[shown.x:shown.right] == (BORDER if shown.palette else "") + f"{shown.key_display} {shown.description}", line
    assert len(line) <= footer.size.width
    return keys


async def to_calendar(pilot, downs: int) -> None:
    """From the citizen's start: «Bestill time», then the time type `downs` below the first (2: Lab, one place)."""
    await settle(pilot)
    await pilot.press("b")
    await settle(pilot)
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


async def until(pilot, condition, *, seconds: float = 4.0) -> None:
    """Pause until `condition()` holds or `seconds` have passed (the test's own assert then says what did not come)."""
    for _ in range(int(seconds / 0.1)):
        await pilot.pause(0.1)
        if condition():
            return


def cut_off(app) -> list[str]:
    """The visible widgets of the current screen whose right edge lies past the terminal's: cut off on the right."""
    width = app.screen.size.width
    return [f"{w!r} {w.region}" for w in app.screen.query("*") if w.display and w.region.width and w.region.right > width]
