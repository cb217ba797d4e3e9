"""Static, Label and OptionList that show text as written, not as Textual content markup.

Names, reasons, addresses and messages come from users and the backend and may hold «[»: as markup, «[/]»
raises MarkupError (the screen crashes) and «[bold]» restyles the rest. Screens import these instead of
Textual's, so a plain string is always shown as it is; deliberate styling is passed as a `Content`
(e.g. `Content.from_markup(template)` with the data in it escaped by `textual.markup.escape`).
"""

from __future__ import annotations

from typing import Any

from textual import widgets
from textual.visual import VisualType
from textual.widgets.option_list import Option


class Static(widgets.Static):
    """A Static whose strings are plain text."""

    def __init__(self, content: VisualType = "", *, markup: bool = False, **options: Any) -> None:
        super().__init__(content, markup=markup, **options)


class Label(widgets.Label):
    """A Label whose strings are plain text."""

    def __init__(self, content: VisualType = "", *, markup: bool = False, **options: Any) -> None:
        super().__init__(content, markup=markup, **options)


class OptionList(widgets.OptionList):
    """An OptionList whose string prompts are plain text."""

    def __init__(self, *content: Option | VisualType | None, markup: bool = False, **options: Any) -> None:
        super().__init__(*content, markup=markup, **options)
