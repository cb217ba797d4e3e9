"""Where a print goes: saved to Downloads, and to the printer when one is set up, off the UI thread; the user told where."""

from __future__ import annotations

from textual.app import App

from timebok.ui.i18n import t


def deliver(app: App[object], data: bytes, name: str, *, printable: bool = False) -> None:
    """Save a print to Downloads and send it to the printer when one is set up, off the UI thread (`lp` may be slow);
    say where it went either way."""

    def save_and_send() -> None:
        from timebok.ui.printing import save, send_to_printer

        try:
            path = save(data, name)
        except OSError as error:
            app.call_from_thread(app.notify, t("print.failed", detail=error.strerror or type(error).__name__), severity="error")
            return
        printer = send_to_printer(path) if printable else None
        text = t("print.saved_and_sent", path=str(path), printer=printer) if printer else t("print.saved", path=str(path))
        app.call_from_thread(app.notify, text, title=t("print.title"), timeout=10)

    app.run_worker(save_and_send, thread=True, group="print")
