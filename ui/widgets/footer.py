"""The footer with the screen's own keys first and the app's (Hjelp, Avslutt) after them, so 80 columns keep what matters.

Each key is described in the language in use when the footer is composed (ui.keys.description), not as its binding
was made at import: a language switch rebuilds the screens, and their footers with them."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from timebok.ui.i18n import t
from timebok.ui.keys import description

# Shown after the screen's keys, in this order; the palette sits on the right as Textual puts it.
LAST = ("app.help", "app.quit")


class TimebokFooter(Footer):
    """Textual's footer, compact, ordered: this screen's keys, then F1 and Ctrl+Q."""

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._short_palette = False
        self._shown: tuple | None = None  # what the keys composed last say

    async def recompose(self) -> None:
        # Textual recomposes the footer whenever a screen's bindings may have changed (four times before the
        # first paint, each mounting and styling every key again: ~25 ms); most times they read the same.
        if self.is_attached and self._bindings_ready and self._shown == self._signature(*self._rows()):
            return
        await super().recompose()

    def _signature(self, rows, palette) -> tuple:
        display = self.app.get_key_display
        keys = tuple((b.key, display(b), description(b), enabled, tooltip) for b, enabled, tooltip in rows)
        shown_palette = (palette[1].key, display(palette[1]), palette[2]) if palette is not None else None
        return keys, shown_palette, self._too_wide(rows, palette)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        rows, palette = self._rows()
        self._shown = self._signature(rows, palette)
        self.styles.grid_size_columns = len(rows)
        self._short_palette = self._too_wide(rows, palette)
        for binding, enabled, tooltip in rows:
            # Born with the compact class this footer always has: binding `compact` instead would add the class
            # after mounting and style every key twice (~30 ms before the first paint).
            yield FooterKey(binding.key, self.app.get_key_display(binding), description(binding), binding.action,
                            disabled=not enabled, tooltip=tooltip, classes="-compact")
        if palette is not None:
            _node, binding, enabled, _tooltip = palette
            # Where the row is too wide for the screen (80 columns, a long list of keys), the palette key takes a
            # short word rather than push the last of the screen's keys (Ctrl+Q) under it.
            label = t("palette.footer_short") if self._short_palette else description(binding)
            yield FooterKey(binding.key, self.app.get_key_display(binding), label, binding.action,
                            classes="-command-palette -compact", disabled=not enabled, tooltip=description(binding))

    def _rows(self):
        """The screen's shown keys (one per action, F1 and Ctrl+Q last) and the palette's entry, if it is shown."""
        active = self.screen.active_bindings
        rows, actions = [], set()
        for _node, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in actions:
                actions.add(binding.action)
                rows.append((binding, enabled, tooltip))
        rows.sort(key=lambda row: LAST.index(row[0].id) + 1 if row[0].id in LAST else 0)  # stable: screen order kept
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            palette = None
        return rows, palette

    def _too_wide(self, rows, palette) -> bool:
        """Whether the compact row (each key, a space, its text, a margin; the palette with its border) overflows."""
        if palette is None:
            return False
        display = self.app.get_key_display
        keys = sum(len(display(binding)) + 1 + len(description(binding)) + 1 for binding, _enabled, _tip in rows)
        binding = palette[1]
        return keys + 1 + len(display(binding)) + 1 + len(description(binding)) > self.app.size.width

    async def on_resize(self) -> None:
        if self._bindings_ready and self._too_wide(*self._rows()) != self._short_palette:
            await self.recompose()


class CatalogueFooter(Footer):
    """Textual's footer as it is (wide keys, Textual's order), each key described in the language in use."""

    def compose(self) -> ComposeResult:
        active = self.screen.active_bindings
        shown: dict[str, Binding] = {}
        for _node, binding, _enabled, _tooltip in active.values():
            if binding.show:
                shown.setdefault(binding.action, binding)  # the binding Textual's footer shows for the action
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                binding = palette[1] if palette is not None and widget.has_class("-command-palette") else shown.get(widget.action)
                if binding is not None and widget.description:  # a grouped key has no words of its own
                    widget.description = description(binding)
            yield widget
