"""One exchange of the trace in full: the request and response bodies, identity numbers masked."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

from timebok.client.trace import Exchange
from timebok.ui.i18n import has_text, t
from timebok.ui.keys import dialog_keys, key
from timebok.ui.widgets.footer import TimebokFooter
from timebok.ui.widgets.plain import Static


def status_text(exchange: Exchange) -> str:
    """The answer's status code, or what went wrong when there was none."""
    if exchange.status is not None:
        return str(exchange.status)
    if exchange.error and has_text(f"trace.error.{exchange.error}"):
        return t(f"trace.error.{exchange.error}")  # «timeout», «offline»: in the user's words
    return exchange.error or t("trace.no_answer")


class TraceDetailScreen(ModalScreen[None]):
    BINDINGS = [key("escape", "close", "trace.close"), *dialog_keys()]

    def __init__(self, exchange: Exchange) -> None:
        super().__init__()
        self.exchange = exchange

    def compose(self) -> ComposeResult:
        e = self.exchange
        with VerticalScroll(id="trace-detail"):
            yield Static(Text(f"{e.method} {e.path}  →  {status_text(e)}  ({e.duration_ms:.0f} ms)"), classes="section")
            yield Static(t("trace.request"), classes="section")
            yield Static(Text(e.request_body or t("trace.no_body")), classes="trace-body")
            yield Static(t("trace.response"), classes="section")
            yield Static(Text(e.response_body or t("trace.no_body")), classes="trace-body")
        yield TimebokFooter()

    def on_mount(self) -> None:
        self.query_one("#trace-detail").focus()

    def action_close(self) -> None:
        self.dismiss()
