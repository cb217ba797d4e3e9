"""Screens that stay current while open (queue, home count, «Dagens timer»): poll, say when, refresh on `r`."""

from __future__ import annotations

from textual.binding import Binding
from textual.timer import Timer

from timebok.client.errors import BookingError
from timebok.domain.clock import now
from timebok.screens.base import FlowScreen
from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.widgets.plain import Static

# Polling with the client's ordinary reads: perf's conditional-GET cache (If-None-Match → 304) makes an
# unchanged answer cost a header, so a short interval is cheap for the backend and the wire.
POLL_SECONDS = 15.0


def refresh_key() -> Binding:
    """`r` «Oppdater»: fetch now. Distinct from Ctrl+R «Prøv igjen», which a secretary does not read as refresh."""
    return key("r", "refresh", "live.refresh")


class LiveMixin(FlowScreen):
    """A FlowScreen that stays current: its `reload(quiet=...)` fetches what it shows, every POLL_SECONDS and on `r`.

    A base class, listed first where the screen has another (`class StaffHomeScreen(LiveMixin, HomeScreen)`)."""

    POLL_SECONDS = POLL_SECONDS
    _poll_timer: Timer | None = None

    def reload(self, quiet: bool = False) -> None:
        """Fetch what the screen shows; `quiet` (a poll): a failure is said on the «updated» line only."""
        raise NotImplementedError

    def updated_line(self) -> Static:
        return Static("", id="updated", classes="hint")

    def start_polling(self) -> None:
        self._poll_timer = self.set_interval(self.POLL_SECONDS, self._poll)

    def _poll(self) -> None:
        # Only the screen on top polls: one behind a dialog or a booking waits until it is back.
        if not (self.is_current and self.timebok.client is not None and self.timebok.user is not None):
            return
        # A fetch still under way (a slow backend, or R just pressed) is left to finish, not cancelled.
        if any(worker.node is self and not worker.is_finished for worker in self.app.workers):
            return
        self.reload(quiet=True)

    def action_refresh(self) -> None:
        self.reload()

    def fetched(self) -> None:
        """Say when what is shown was last known to be current: «Oppdatert kl. 09:41»."""
        self.query_one("#updated", Static).update(t("live.updated", time=now().strftime("%H:%M")))
        self.restore_view()  # after a language switch: the row the user was on

    def fetch_failed(self, error: BookingError, *, quiet: bool) -> None:
        """A failed poll says so on the line, not in a toast every 15 seconds; a key press is reported in full."""
        self.query_one("#updated", Static).update(t("live.update_failed", time=now().strftime("%H:%M")))
        if not quiet:
            self.timebok.report(error)
