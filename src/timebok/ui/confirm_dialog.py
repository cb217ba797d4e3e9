"""A yes/no question in a modal, answering with a bool."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button

from timebok.ui.i18n import t
from timebok.ui.keys import dialog_keys, key
from timebok.ui.widgets.footer import TimebokFooter
from timebok.ui.widgets.plain import Static


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS = [
        key("escape", "no", "dialog.no"),
        key("j,y", "yes", "dialog.yes"),
        # The buttons sit side by side, so the arrows move between them as well as Tab does; they stop at the ends
        # (→ on «Nei», the right-most, used to wrap round to «Ja, avbestill», where Enter then cancels).
        key("left", "to('yes')", "dialog.left", show=False),
        key("right", "to('no')", "dialog.right", show=False),
        *dialog_keys(),
    ]

    def __init__(self, question: str, yes: str) -> None:
        super().__init__()
        self.question = question
        self.yes_label = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question, id="question")
            with Horizontal(id="dialog-buttons"):
                yield Button(self.yes_label, id="yes", variant="error")
                yield Button(t("dialog.no"), id="no")
        yield TimebokFooter()  # its own keys (Esc «Nei», J «Ja»), not those of the screen below

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # the safe answer is the default

    def action_to(self, button: str) -> None:
        self.query_one(f"#{button}", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)
