"""Helpers for driving the real app against the real backend in Pilot tests and snapshots."""

from __future__ import annotations

from client.api import BookingClient
from tui.app import TimebokApp
from tui.connection import Connection


def make_app(server, token: str) -> TimebokApp:
    return TimebokApp(Connection(server.url, token, timeout=5.0))


async def settle(pilot, rounds: int = 6) -> None:
    """Let every worker (and any worker it starts) finish, and the screen repaint."""
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def screen_text(app) -> str:
    """Everything the current screen shows, as plain text (for asserting what a user would read)."""
    from textual.widgets import Static

    parts = []
    for widget in app.screen.query("*"):
        if isinstance(widget, Static):
            parts.append(str(widget.render()))
        elif hasattr(widget, "render") and widget.__class__.__name__ in ("MonthCalendar",):
            parts.append(str(widget.render()))
    from textual.widgets import OptionList

    for options in app.screen.query(OptionList):
        parts.extend(str(options.get_option_at_index(i).prompt) for i in range(options.option_count))
    return "\n".join(parts)


async def staff_client(server, token: str) -> BookingClient:
    return BookingClient(server.url, token)
