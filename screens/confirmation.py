"""Step 6: the request went to the GP office, which must confirm or reject it; «Gå til innboksen»."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Static

from client.models import Appointment
from screens.base import FlowScreen
from screens.labels import time_type_label, when
from tui.i18n import t
from tui.keys import key


class ConfirmationScreen(FlowScreen):
    STEP = 6
    TITLE_KEY = "confirmation.title"
    BINDINGS = [key("i", "inbox", "confirmation.to_inbox")]

    def __init__(self, appointment: Appointment) -> None:
        super().__init__()
        self.appointment = appointment

    def compose_body(self) -> ComposeResult:
        office = self.appointment.office.name if self.appointment.office else ""
        yield Static(t("confirmation.sent", office=office), id="sent")
        yield Static(
            f"{time_type_label(self.appointment.time_type_code, office)}\n{when(self.appointment.start)}"
            + (f"\n{self.appointment.place.name}, {self.appointment.place.full_address}" if self.appointment.place else ""),
            id="sent-summary",
        )
        yield Static(t("confirmation.next"), classes="hint")
        yield Button(t("confirmation.to_inbox"), id="to-inbox", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#to-inbox", Button).focus()

    @on(Button.Pressed, "#to-inbox")
    def action_inbox(self) -> None:
        self.app.pop_screen()
        self.app.open_inbox(from_flow=True)
