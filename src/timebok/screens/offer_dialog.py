"""«Tilby ledig time»: the desk picks a free time to offer to a short-notice wish; answers with the Slot chosen."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button
from textual.widgets.option_list import Option

from timebok.client.models import Slot
from timebok.ui.i18n import t
from timebok.ui.keys import dialog_keys, key
from timebok.ui.labels import when
from timebok.ui.widgets.footer import TimebokFooter
from timebok.ui.widgets.plain import OptionList, Static

SHOWN = 40  # the earliest free times: a desk offering by hand looks at the next few, not at months


class OfferDialog(ModalScreen[Slot | None]):
    """Answers with the free time chosen (Enter), or None when left with Esc."""

    BINDINGS = [key("escape", "cancel", "offer.cancel"), key("ctrl+s", "send", "offer.send"), *dialog_keys()]

    def __init__(self, patient_name: str, timebook_name: str, slots: list[Slot], *, outside: bool) -> None:
        super().__init__()
        self.patient_name = patient_name
        self.timebook_name = timebook_name
        self.slots = slots[:SHOWN]
        self.outside = outside  # none was free in the wished period: these are the days after it

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(t("offer.title"), classes="section")
            yield Static(t("offer.intro", name=self.patient_name, timebook=self.timebook_name))
            if self.outside and self.slots:
                yield Static(t("offer.outside"), classes="hint")
            if self.slots:
                yield OptionList(*(Option(when(s.start), id=s.id) for s in self.slots), id="offer-times")
            else:
                yield Static(t("offer.none"), classes="error")
            with Horizontal(id="dialog-buttons"):
                yield Button(t("offer.send"), id="send", variant="primary", disabled=not self.slots)
                yield Button(t("offer.cancel"), id="cancel")
        yield TimebokFooter()

    def on_mount(self) -> None:
        if self.slots:
            self.query_one("#offer-times", OptionList).focus()

    @on(OptionList.OptionSelected, "#offer-times")
    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        if not self.slots:
            return
        highlighted = self.query_one("#offer-times", OptionList).highlighted
        self.dismiss(self.slots[highlighted if highlighted is not None else 0])

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
