"""A DataTable that takes a whole list of one-line text rows at once: the desk's long lists open in one step.

Textual's `add_rows` adds row by row (each sets the cursor, posts for idle and bumps the caches), and on idle it
measures every cell through the console. For 400 appointments that was most of the time to open «Dagens timer»
(issue 26). Here the rows are put in at once and a column's width is the longest cell's `cell_len`: the cells
are `Text` on one line, so that is what measuring would give. Everything else (keys, cursor, messages, paint,
which draws only the lines on screen) is the DataTable's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.widgets import DataTable
from textual.widgets._data_table import Row, RowKey


class RowTable(DataTable[Text]):
    """A DataTable of one-line `Text` cells, filled whole with `fill`."""

    def fill(self, rows: Iterable[Sequence[Text]]) -> None:
        """Replace every row with `rows`; the cursor goes to the first (move it after, to keep a row highlighted)."""
        self.clear()
        columns = self.ordered_columns
        widths = [column.content_width for column in columns]
        locations: dict[RowKey, int] = {}
        for index, cells in enumerate(rows):
            key = RowKey(None)
            locations[key] = index
            self._data[key] = {column.key: cell for column, cell in zip(columns, cells, strict=True)}
            self.rows[key] = Row(key, 1, None, False)
            for column_index, cell in enumerate(cells):
                widths[column_index] = max(widths[column_index], cell.cell_len)
        self._row_locations = TwoWayDict(locations)
        for column, width in zip(columns, widths, strict=True):
            column.content_width = width
        self._update_count += 1
        # The scrollable size now (no row is left in `_new_rows` to measure), not on idle: the next frame has the rows.
        self._update_dimensions(())
        self._require_update_dimensions = False
        if locations and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()  # as add_row does for a first row: RowHighlighted for row 0
        self.check_idle()
