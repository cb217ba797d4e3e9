"""«Varsler om timen»: turn off e-mail/SMS notices about one appointment, or only its reminder (the inbox stays)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox

from timebok.client.models import Appointment
from timebok.ui.i18n import t
from timebok.ui.keys import dialog_keys, key
from timebok.ui.labels import time_type_name, when
from timebok.ui.widgets.footer import TimebokFooter
from timebok.ui.widgets.plain import Static
from timebok.ui.widgets.tick_box import TickBox

OptOuts = tuple[bool, bool]  # (no notices, no reminder)


class NoticeSettingsDialog(ModalScreen[OptOuts | None]):
    """Answers with (no notices, no reminder) as ticked, or None when left with Esc."""

    BINDINGS = [key("escape", "cancel", "optout.cancel"), key("ctrl+s", "save", "optout.save"), *dialog_keys()]

    def __init__(self, appointment: Appointment) -> None:
        super().__init__()
        self.appointment = appointment

    def compose(self) -> ComposeResult:
        a = self.appointment
        with Vertical(id="dialog"):
            yield Static(t("optout.title"), classes="section")
            yield Static(t("optout.about", when=when(a.start), type=time_type_name(a.time_type_code)))
            # The mark itself says ticked or not (TickBox), not only its colour; compact: one row each.
            yield TickBox(t("optout.notices"), a.no_notices, id="no-notices", compact=True)
            yield TickBox(t("optout.reminders"), a.no_reminders, id="no-reminders", compact=True)
            yield Static(t("optout.inbox_stays"), classes="hint")
            with Horizontal(id="dialog-buttons"):
                yield Button(t("optout.save"), id="save", variant="primary")
                yield Button(t("optout.cancel"), id="cancel")
        yield TimebokFooter()

    def on_mount(self) -> None:
        # The two are apart, as Helsenorge's tags are: notices of changes and the reminder before the time.
        self.query_one("#no-notices", Checkbox).focus()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self.dismiss((self.query_one("#no-notices", Checkbox).value, self.query_one("#no-reminders", Checkbox).value))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
