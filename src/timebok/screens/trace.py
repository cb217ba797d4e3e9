"""The support desk's trace panel: every request of the session (masked), its bodies, and export to a file."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable

from timebok.client.trace import Exchange
from timebok.domain.clock import now
from timebok.screens.trace_detail import TraceDetailScreen, status_text
from timebok.ui.contract import UsesApp
from timebok.ui.i18n import t, tn
from timebok.ui.keys import dialog_keys, key
from timebok.ui.widgets.footer import TimebokFooter
from timebok.ui.widgets.plain import Static


class TraceScreen(UsesApp, ModalScreen[None]):
    """Docked over the lower part of the screen, so the citizen's screen stays in view above it."""

    BINDINGS = [
        key("escape", "close", "trace.close"),
        # The key that opened the panel closes it (a modal screen does not hear the app's own binding).
        key("ctrl+t", "close", "trace.toggle", key_display="^t", show=False),
        key("enter", "show", "trace.show", priority=True),
        key("e", "export", "trace.export"),
        *dialog_keys(),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="trace-panel"):
            yield Static(t("trace.title"), classes="section")
            yield Static("", id="trace-count", classes="hint")
            yield DataTable(id="trace", cursor_type="row", zebra_stripes=True)
            yield Static("", id="trace-exported")
        yield TimebokFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # The path goes last: it is the long one, and status and time must stay in view.
        table.add_column(t("trace.col_time"), width=8)
        table.add_column(t("trace.col_method"), width=6)
        table.add_column(t("trace.col_status"), width=11)  # «tidsavbrudd» whole
        table.add_column(t("trace.col_ms"), width=5)
        # As wide as the panel leaves, so nothing scrolls off to the right; Enter shows a long path whole.
        table.add_column(t("trace.col_path"), width=max(20, self.app.size.width - 2 - (8 + 6 + 11 + 5) - 2 * 5 - 3))
        self.exchanges: list[Exchange] = []
        for exchange in self.timebok.trace.exchanges:
            self._add(exchange)
        if self.exchanges:
            table.move_cursor(row=len(self.exchanges) - 1)  # the latest is what the agent wants
        # The client calls listeners inside the app's event loop, so the table can be touched directly.
        self.timebok.trace.subscribe(self._add)
        table.focus()

    def on_unmount(self) -> None:
        self.timebok.trace.unsubscribe(self._add)

    def _add(self, exchange: Exchange) -> None:
        table = self.query_one(DataTable)
        # On the latest row, the cursor follows what comes in (a new row below the fold went unseen, while the
        # count above already said it was there); anywhere else it stays where the agent put it.
        follow = bool(self.exchanges) and table.cursor_row == len(self.exchanges) - 1
        self.exchanges.append(exchange)
        table.add_row(
            exchange.started.strftime("%H:%M:%S"),
            exchange.method,
            Text(status_text(exchange)),  # an error may hold «[»
            Text(f"{exchange.duration_ms:.0f}", justify="right"),
            Text(exchange.path),
        )
        if follow:
            table.move_cursor(row=len(self.exchanges) - 1)
        self.query_one("#trace-count", Static).update(
            tn("trace.count", len(self.exchanges)) if self.exchanges else t("trace.empty")
        )

    def action_show(self) -> None:
        table = self.query_one(DataTable)
        if self.exchanges and table.cursor_row is not None:
            self.app.push_screen(TraceDetailScreen(self.exchanges[table.cursor_row]))

    def action_export(self) -> None:
        folder = self.timebok.trace_dir
        stem = f"timebok-trace-{now().strftime('%Y%m%d-%H%M%S')}"
        path = folder / f"{stem}.json"
        number = 1
        while path.exists():  # never overwrite an export already attached to a case
            number += 1
            path = folder / f"{stem}-{number}.json"
        try:
            written = self.timebok.trace.export(path, now())
        except OSError as error:
            self.notify(t("trace.export_failed", detail=error.strerror or str(error)), severity="error")
            return
        if self.app.is_web:
            # In a browser tab (timebok web) the file is on the server: the browser downloads it to attach to the case.
            self.app.deliver_binary(written, save_filename=written.name, mime_type="application/json")
            shown = t("trace.exported_web", name=written.name)
        else:
            shown = t("trace.exported", path=written)
        self.query_one("#trace-exported", Static).update(Text(shown))
        # The path is in the panel, whole; a toast would break it mid-word.
        self.notify(t("trace.exported_toast"), timeout=10)

    def action_close(self) -> None:
        self.dismiss()
