"""The footer: one line of this screen's keys, then F1 and Ctrl+Q, and the palette's key on the right, in 80 columns.

It draws the whole line itself, as Textual's compact footer looks, instead of a widget per key: those six to ten
widgets were mounted, styled and laid out again whenever the bindings changed, and were a third of the app's time
to its first paint. Each key is described in the language in use when the line is drawn (ui.keys.description)."""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widget import Widget

from timebok.ui.i18n import t
from timebok.ui.keys import description

# Shown after the screen's keys, in this order; the palette sits on the right as Textual puts it.
LAST = ("app.help", "app.quit")
BORDER = "▏"  # the palette key's left edge, as Textual's `vkey` border draws it


class ShownKey(NamedTuple):
    """One key as the footer shows it: cells [x, x + width) of the line."""

    key: str
    key_display: str
    description: str
    action: str
    enabled: bool
    tooltip: str
    x: int
    width: int
    palette: bool = False

    @property
    def right(self) -> int:
        return self.x + self.width


class TimebokFooter(Widget, can_focus=False):
    """This screen's keys, F1 and Ctrl+Q last, and the palette's key docked right, drawn as one line."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"footer--key", "footer--description", "footer--item", "footer--border", "footer--hover"}
    # The colours of Textual's compact footer (its Footer and FooterKey CSS), so themes colour it as they do that one.
    DEFAULT_CSS = """
    TimebokFooter {
        dock: bottom;
        height: 1;
        text-wrap: nowrap;
        color: $footer-foreground;
        background: $footer-background;
        pointer: pointer;
        .footer--item { background: $footer-item-background; }
        .footer--key { color: $footer-key-foreground; background: $footer-key-background; text-style: bold; }
        .footer--description { color: $footer-description-foreground; background: $footer-description-background; }
        .footer--border { color: $foreground 20%; }
        .footer--hover { color: $footer-key-foreground; background: $block-hover-background; }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._shown: list[ShownKey] = []  # as last drawn, for the mouse
        self._hover: int | None = None  # the index in _shown under the mouse

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.refresh()  # the line is drawn from the bindings as they are when it is painted

    def _rows(self) -> tuple[list[tuple[Binding, bool, str]], tuple[Binding, bool, str] | None]:
        """The screen's shown keys (one per action, F1 and Ctrl+Q last) and the palette's entry, if it is shown."""
        active = self.screen.active_bindings
        rows, actions = [], set()
        for _node, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in actions:
                actions.add(binding.action)
                rows.append((binding, enabled, tooltip))
        rows.sort(key=lambda row: LAST.index(row[0].id) + 1 if row[0].id in LAST else 0)  # stable: screen order kept
        found = active.get(self.app.COMMAND_PALETTE_BINDING) if self.app.ENABLE_COMMAND_PALETTE else None
        palette = (found[1], found[2], found[3]) if found is not None else None
        return rows, palette

    def shown_keys(self) -> list[ShownKey]:
        """The keys as the line shows them at its width now: the screen's, then the palette's (palette=True).

        Where the line is too narrow (80 columns, a long list of keys), it is made shorter step by step: the palette
        key's short word («Mer»), then the keys' short words where the catalogue has one («Neste ledige»). Only a
        key still wider than the room left of the palette key is not shown; Textual's footer would cut it short."""
        width = self.size.width
        if not width:
            return []  # not laid out yet: nothing is drawn
        rows, palette = self._rows()
        for short_keys, short_palette in ((False, False), (False, True), (True, True)):
            keys = self._laid_out(rows, short_keys)
            if palette is None:
                if not keys or keys[-1].right <= width:
                    return keys
                continue
            shown = self._palette_key(palette, short_palette, width)
            if not keys or keys[-1].right <= shown.x:
                return keys + [shown]
        if palette is None:
            return [key for key in keys if key.right <= width]
        return [key for key in keys if key.right <= shown.x] + [shown]

    def _laid_out(self, rows: list[tuple[Binding, bool, str]], short: bool) -> list[ShownKey]:
        display = self.app.get_key_display
        keys, x = [], 0
        for binding, enabled, tooltip in rows:
            words = description(binding, short=short, screen=self.screen)
            whole = description(binding, screen=self.screen)
            # A key said in its short word tells its whole description on hover.
            tip = tooltip or (whole if short and words != whole else "")
            keys.append(
                ShownKey(
                    binding.key,
                    display(binding),
                    words,
                    binding.action,
                    enabled,
                    tip,
                    x,
                    cell_len(display(binding)) + 1 + cell_len(words),
                )
            )
            x = keys[-1].right + 1  # a cell between keys
        return keys

    def _palette_key(self, palette: tuple[Binding, bool, str], short: bool, width: int) -> ShownKey:
        binding, enabled, _tooltip = palette
        display = self.app.get_key_display(binding)
        words = t("palette.footer_short") if short else description(binding)
        size = 1 + cell_len(display) + 1 + cell_len(words)
        return ShownKey(
            binding.key, display, words, binding.action, enabled, description(binding), width - 1 - size, size, palette=True
        )

    def render(self) -> Text:
        self._shown = shown = self.shown_keys()
        item = self.get_component_rich_style("footer--item")
        key_style = self.get_component_rich_style("footer--key", partial=True)
        words_style = self.get_component_rich_style("footer--description", partial=True)
        line = Text(no_wrap=True, end="")
        for index, key in enumerate(shown):
            line.append(" " * (key.x - line.cell_len))  # the footer's own background between keys
            base = item + self.get_component_rich_style("footer--hover") if index == self._hover else item
            if not key.enabled:
                base += Style(dim=True)
            if key.palette:
                line.append(BORDER, self.get_component_rich_style("footer--border") + Style(bgcolor=base.bgcolor))
            line.append(key.key_display, base + key_style)
            line.append(" " + key.description, base + words_style)
        return line

    def _key_at(self, x: int) -> int | None:
        return next((index for index, key in enumerate(self._shown) if key.x <= x < key.right), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        hover = self._key_at(event.x)
        if hover != self._hover:
            self._hover = hover
            tip = self._shown[hover].tooltip if hover is not None else ""
            self.tooltip = tip or None
            self.refresh()

    def on_leave(self, _event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """A click on a key does what pressing it does; a greyed-out key only rings."""
        index = self._key_at(event.x)
        if index is None:
            return
        if self._shown[index].enabled:
            self.app.simulate_key(self._shown[index].key)
        else:
            self.app.bell()
