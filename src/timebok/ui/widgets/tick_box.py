"""A checkbox whose mark says whether it is ticked: «X» ticked, blank not (Textual's shows X both ways, by colour)."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class TickBox(Checkbox):
    """Textual's Checkbox, readable under NO_COLOR and in ansi-dark: the mark itself changes, not only its colour."""

    @property
    def _button(self) -> Content:
        drawn = super()._button
        if self.value:
            return drawn
        # The same three cells with the inner one blank: its colour stays, the X goes.
        return Content.assemble(drawn[:1], (" ", self.get_visual_style("toggle--button")), drawn[2:])
