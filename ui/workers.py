"""Screens whose loads stop before their widgets go: a late answer never lands on a half-removed screen."""

from __future__ import annotations

from textual.messages import Prune


class StopsWorkersFirst:
    """Mixed into screens that run workers (`@work`): closing the screen cancels them before anything else.

    Textual removes a closing screen's widgets first and cancels its workers only afterwards, on unmount.
    A load whose answer arrived in between found no widgets (`NoMatches`) and ended the app with a
    traceback: on Esc while a screen was loading, or on quitting. Textual calls every class's `on_prune`
    in the MRO, so this runs before the Widget's own (which starts the removal) without calling it.
    """

    def on_prune(self, event: Prune) -> None:
        self.workers.cancel_node(self)  # type: ignore[attr-defined]  # mixed only into screens
