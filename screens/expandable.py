"""A list row that shows a summary and expands to its details on Enter («Se detaljer»)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import ListItem, Static

from tui.i18n import t


class ExpandableItem(ListItem):
    """One row of Innboks or Timeavtaler; `toggle()` shows or hides the details."""

    DEFAULT_CSS = """
    ExpandableItem { padding: 0 1; height: auto; }
    ExpandableItem .details { display: none; padding: 0 0 0 2; color: $text-muted; }
    ExpandableItem.-expanded .details { display: block; }
    """

    def __init__(self, summary: str, details: str, *, key: str) -> None:
        super().__init__()
        self.summary = summary
        self.details = details
        self.key = key

    def compose(self) -> ComposeResult:
        yield Static(self._summary_text(), classes="summary")
        yield Static(self.details, classes="details")

    def _summary_text(self) -> str:
        if not self.details:
            return self.summary
        hint = t("details.hide") if self.has_class("-expanded") else t("details.show")
        first, newline, rest = self.summary.partition("\n")
        return f"{first}  [dim]· {hint}[/]{newline}{rest}"

    def set_summary(self, summary: str) -> None:
        self.summary = summary
        self.query_one(".summary", Static).update(self._summary_text())

    def toggle(self) -> None:
        self.toggle_class("-expanded")
        self.query_one(".summary", Static).update(self._summary_text())
