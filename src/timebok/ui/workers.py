"""Screens and their workers: loads stop before a screen's widgets go, and a write under way keeps its screen."""

from __future__ import annotations

from textual.messages import Prune


class StopsWorkersFirst:
    """Mixed into screens that run workers (`@work`): closing the screen cancels them before anything else.

    Textual removes a closing screen's widgets first and cancels its workers only afterwards, on unmount.
    A load whose answer arrived in between found no widgets (`NoMatches`) and ended the app with a
    traceback: on Esc while a screen was loading, or on quitting. Textual calls every class's `on_prune`
    in the MRO, so this runs before the Widget's own (which starts the removal) without calling it. Async, as the
    Widget's is (Textual awaits each in turn, so the order holds; this one never suspends).
    """

    async def on_prune(self, event: Prune) -> None:  # async, as Widget's: Textual calls both
        self.workers.cancel_node(self)  # type: ignore[attr-defined]  # mixed only into screens


class AwaitsItsWrite:
    """Mixed into screens that send a write (a booking, a cancel, a save): while it is on its way, `writing` is True.

    The screen greys out its own keys that would send again or leave (a second request would cancel the first,
    already at the backend, and leaving would drop its answer); the app greys out the command palette, whose
    commands leave the screen or rebuild it (tui.app.TimebokApp.check_action)."""

    writing = False
