"""Past the deadline to cancel or change, the desk may still do it: it says why, from a short list (audited)."""

from __future__ import annotations

from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets.option_list import Option

from timebok.domain.appointment_life import OVERRIDE_REASONS
from timebok.ui.i18n import t
from timebok.ui.keys import dialog_keys, key
from timebok.ui.labels import when
from timebok.ui.widgets.footer import TimebokFooter
from timebok.ui.widgets.plain import OptionList, Static


class OverrideDialog(ModalScreen[str | None]):
    """Answers with the reason's code (OVERRIDE_REASONS), or None: then nothing is sent."""

    BINDINGS = [key("escape", "cancel", "override.cancel"), *dialog_keys()]

    def __init__(self, deadline: datetime | None) -> None:
        super().__init__()
        self.deadline = deadline

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(t("override.title"), classes="section")
            passed = t("override.passed_at", when=when(self.deadline)) if self.deadline else t("override.passed")
            yield Static(f"{passed} {t('override.question')}")
            yield OptionList(*(Option(t(f"override.{code}"), id=code) for code in OVERRIDE_REASONS), id="override-reasons")
        yield TimebokFooter()

    def on_mount(self) -> None:
        self.query_one("#override-reasons", OptionList).focus()

    @on(OptionList.OptionSelected, "#override-reasons")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
