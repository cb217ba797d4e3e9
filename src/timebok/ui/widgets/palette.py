"""Textual's command palette with its own words (the search prompt and «no matches») from our catalogues."""

from __future__ import annotations

from rich.align import Align
from rich.text import Text
from textual.command import CommandList, CommandPalette, ProviderSource
from textual.widgets.option_list import Option

from timebok.ui.i18n import t


class Palette(CommandPalette):
    """The command palette in the chosen language."""

    def __init__(self, *, id: str | None = None, providers: ProviderSource | None = None, placeholder: str | None = None) -> None:
        super().__init__(providers=providers, placeholder=placeholder or t("palette.search"), id=id)

    def _start_no_matches_countdown(self, search_value: str) -> None:
        # Textual's own version hard-codes «No matches found»; this is it with our text.
        self._stop_no_matches_countdown()

        def _show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(Align.center(Text(t("palette.no_matches"), style="not bold")), disabled=True, id=self._NO_MATCHES)
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, _show_no_matches)
