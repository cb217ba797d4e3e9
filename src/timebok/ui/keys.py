"""Key bindings whose descriptions come from the catalogue, read in the current language when they are shown."""

from __future__ import annotations

from textual.binding import Binding
from textual.dom import DOMNode

from timebok.ui import i18n

# Textual's own palette binding (added at run time, with an id of none): named by our catalogue too.
PALETTE_ACTIONS = ("command_palette", "app.command_palette")


def key(
    keys: str, action: str, text_id: str, *, show: bool = True, priority: bool = False, key_display: str | None = None
) -> Binding:
    """A binding whose id is also its text's key in the catalogues, so users can rebind it by that id."""
    return Binding(keys, action, i18n.t(text_id), show=show, priority=priority, id=text_id, key_display=key_display)


def dialog_keys() -> list[Binding]:
    """F1 and Ctrl+Q for a modal screen with a footer of its own: Textual gives a modal none of the app's keys, so its
    footer showed neither and F1 did nothing there (Ctrl+Q, a priority key, worked unseen)."""
    return [key("f1", "app.help", "app.help"), key("ctrl+q", "app.quit", "app.quit")]


def description(binding: Binding, *, short: bool = False, screen: object | None = None) -> str:
    """What the key does, in the language in use now (a binding's own description is the language at import).

    `short`: the footer's shorter word where the catalogue has one («<id>.short»), for a line that does not fit.
    `screen`: the screen the key is shown on; one with a `binding_text(id)` method may word its key for what it does
    there (Ctrl+S on step 5 is «Send endring» during a change), while the binding's id, which users rebind, stays one."""
    text_id = binding.id
    wording = getattr(screen, "binding_text", None)
    if text_id and callable(wording):
        text_id = wording(text_id)
    if short and text_id and i18n.has_text(f"{text_id}.short"):
        return i18n.t(f"{text_id}.short")
    if text_id and i18n.has_text(text_id):
        return i18n.t(text_id)
    if binding.action in PALETTE_ACTIONS:
        return i18n.t("palette.footer")
    return binding.description


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def binding_keys() -> dict[str, set[str]]:
    """The default keys of each binding id our imported classes declare (one id may be declared in more than one)."""
    keys: dict[str, set[str]] = {}
    for cls in _subclasses(DOMNode):
        if not cls.__module__.startswith(("timebok.tui.", "timebok.ui.", "timebok.screens.")):
            continue
        for b in cls.__dict__.get("BINDINGS", ()):
            if isinstance(b, Binding) and b.id:
                keys.setdefault(b.id, set()).update(k.strip() for k in b.key.split(","))
    return keys


def binding_ids() -> set[str]:
    """The ids of the bindings our imported classes declare: what a user can rebind in [keys] (App.set_keymap)."""
    return {
        b.id
        for cls in _subclasses(DOMNode)
        if cls.__module__.startswith(("timebok.tui.", "timebok.ui.", "timebok.screens."))
        for b in cls.__dict__.get("BINDINGS", ())
        if isinstance(b, Binding) and b.id
    }
