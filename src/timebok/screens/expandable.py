"""A list row that shows a summary and expands to its details on Enter («Se detaljer»)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import ListItem, Static

from timebok.ui.i18n import t


class ExpandableItem(ListItem):
    """One row of Innboks or Timeavtaler; `toggle()` shows or hides the details.

    The summary's first line is the heading; its further lines sit indented under it, and stay indented
    when they wrap (padding, not leading spaces)."""

    DEFAULT_CSS = """
    ExpandableItem { padding: 0 1; height: auto; }
    ExpandableItem .more { padding: 0 0 0 2; }
    ExpandableItem .details { display: none; padding: 0 0 0 2; color: $text-muted; }
    ExpandableItem.-expanded .details { display: block; }
    """

    def __init__(self, summary: str, details: str, *, key: str) -> None:
        super().__init__()
        self.summary = summary
        self.details = details
        self.key = key

    def compose(self) -> ComposeResult:
        first, more = self._parts()
        yield Static(first, classes="summary")
        further = Static(more, classes="more")
        # Set here, not on mount: a list refilled while this row was still mounting (a reload that overtook the one
        # that built it) had taken its children away by then, and a query for them ended the app with a traceback.
        further.display = bool(more)
        yield further
        yield Static(self.details, classes="details")

    def _parts(self) -> tuple[str, str]:
        first, _newline, rest = self.summary.partition("\n")
        more = "\n".join(line.removeprefix("  ") for line in rest.split("\n")) if rest else ""
        if self.details:
            hint = t("details.hide") if self.has_class("-expanded") else t("details.show")
            first = f"{first}  [dim]· {hint}[/]"
        return first, more

    def _show(self) -> None:
        first, more = self._parts()
        self.query_one(".summary", Static).update(first)
        self.query_one(".more", Static).update(more)
        self.query_one(".more").display = bool(more)

    def set_summary(self, summary: str) -> None:
        self.summary = summary
        self._show()

    def toggle(self) -> None:
        self.toggle_class("-expanded")
        self._show()
