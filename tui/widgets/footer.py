"""The footer with the screen's own keys first and the app's (Hjelp, Avslutt) after them, so 80 columns keep what matters."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# Shown after the screen's keys, in this order; the palette sits on the right as Textual puts it.
LAST = ("app.help", "app.quit")


class TimebokFooter(Footer):
    """Textual's footer, compact, ordered: this screen's keys, then F1 and Ctrl+Q."""

    def __init__(self) -> None:
        super().__init__(compact=True)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        rows, actions = [], set()
        for _node, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in actions:
                actions.add(binding.action)
                rows.append((binding, enabled, tooltip))
        rows.sort(key=lambda row: LAST.index(row[0].id) + 1 if row[0].id in LAST else 0)  # stable: screen order kept
        self.styles.grid_size_columns = len(rows)
        for binding, enabled, tooltip in rows:
            # Born with the compact class this footer always has: binding `compact` instead would add the class
            # after mounting and style every key twice (~30 ms before the first paint).
            yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                            disabled=not enabled, tooltip=tooltip, classes="-compact")
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE and palette is not None:
            _node, binding, enabled, _tooltip = palette
            yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                            classes="-command-palette -compact", disabled=not enabled, tooltip=binding.description)
