"""Key bindings whose descriptions come from the catalogue, and re-reading them when the language changes."""

from __future__ import annotations

from dataclasses import replace

from textual.binding import Binding
from textual.dom import DOMNode

from timebok.ui import i18n


def key(keys: str, action: str, text_id: str, *, show: bool = True, priority: bool = False, key_display: str | None = None) -> Binding:
    """A binding whose id is also its text's key in the catalogues, so users can rebind it by that id."""
    return Binding(keys, action, i18n.t(text_id), show=show, priority=priority, id=text_id, key_display=key_display)


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def retranslate_bindings() -> None:
    """Give every binding of ours the description in the current language (Textual reads them per class)."""
    for cls in _subclasses(DOMNode):
        bindings = cls.__dict__.get("BINDINGS")
        if not bindings or not cls.__module__.startswith(("timebok.tui.", "timebok.ui.", "timebok.screens.")):
            continue
        cls.BINDINGS = [
            replace(b, description=i18n.t(b.id)) if isinstance(b, Binding) and b.id and i18n.has_text(b.id) else b for b in bindings
        ]
    for cls in _subclasses(DOMNode):
        cls._merged_bindings = cls._merge_bindings()


def binding_ids() -> set[str]:
    """The ids of the bindings our imported classes declare: what a user can rebind in [keys] (App.set_keymap)."""
    return {
        b.id
        for cls in _subclasses(DOMNode)
        if cls.__module__.startswith(("timebok.tui.", "timebok.ui.", "timebok.screens."))
        for b in cls.__dict__.get("BINDINGS", ())
        if isinstance(b, Binding) and b.id
    }
