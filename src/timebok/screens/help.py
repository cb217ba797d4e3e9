"""F1: what the current screen is for and which keys it answers to."""

from __future__ import annotations

from collections.abc import Iterator

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from timebok.ui.i18n import has_text, t
from timebok.ui.keys import description, key


class HelpScreen(ModalScreen[None]):
    BINDINGS = [key("escape,f1", "close", "help.close")]

    def __init__(self, about: Screen[object]) -> None:
        super().__init__()
        self.about = about

    def compose(self) -> ComposeResult:
        name = type(self.about).__name__
        intro_key = f"help.{name}"
        # Markup for the bold title and keys; a rebound key may be «[», so every text in it is escaped.
        lines = [f"[b]{escape(t('help.title'))}[/]", "", escape(t(intro_key) if has_text(intro_key) else t("help.general")), ""]
        seen: set[str] = set()
        for binding in self._bindings_of(self.about):
            # Only our own bindings: Textual's built-in ones describe themselves in English only.
            if binding.id and has_text(binding.id) and binding.id not in seen:
                seen.add(binding.id)
                lines.append(
                    f"  [b]{escape(f'{self.app.get_key_display(binding):>12}')}[/]  {escape(description(binding, screen=self.about))}"
                )
        lines += ["", escape(t("help.close_hint"))]
        with VerticalScroll(id="help-box"):
            yield Static("\n".join(lines))

    def _bindings_of(self, screen: Screen[object]) -> Iterator[Binding]:
        for _, binding, _enabled, _tooltip in screen.active_bindings.values():
            yield binding

    def action_close(self) -> None:
        self.dismiss(None)
