"""The front desk's home: «Bestill time for pasient», «Forespørsler» with the number waiting, «Dagens timer»."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Static

from client.errors import BookingError
from screens.home import HomeScreen
from tui.i18n import t, tn
from tui.keys import key


class StaffHomeScreen(HomeScreen):
    TITLE_KEY = "staff.title"
    BINDINGS = [
        key("b", "book", "staff.book"),
        key("f", "requests", "staff.requests"),
        key("d", "today", "staff.today"),
        key("o", "setup", "staff.setup", show=False),  # the footer is full at 80 columns: the button and F1 name it
    ]

    def compose_body(self) -> ComposeResult:
        user = self.app.user
        office = user.office.name if user and user.office else ""
        yield Static(t("staff.greeting", name=user.name if user else "", office=office), id="greeting")
        with Vertical(id="start-actions"):
            yield Button(t("staff.book"), id="book", variant="primary")
            yield Button(t("staff.requests"), id="requests")
            yield Button(t("staff.today"), id="today")
            yield Button(t("staff.setup"), id="setup")
        yield Static("", id="waiting", classes="hint")
        yield self.demo_line()

    def on_mount(self) -> None:
        self.show_demo_line(self.app.user)
        self.query_one("#book", Button).focus()

    def on_screen_resume(self) -> None:
        # Back from the queue or a booking: the number waiting may have changed.
        self.reload()

    @work(exclusive=True)
    async def reload(self) -> None:
        if self.app.client is None or self.app.user is None or not self.app.user.is_staff:
            return  # signing in as someone else: this screen is on its way out
        try:
            waiting = len(await self.app.client.pending_requests())
        except BookingError as error:
            self.app.report(error)
            return
        self.query_one("#requests", Button).label = t("staff.requests_count", count=waiting)
        self.query_one("#waiting", Static).update(
            tn("staff.waiting", waiting) if waiting else t("staff.none_waiting"))

    @on(Button.Pressed, "#book")
    def action_book(self) -> None:
        from screens.patient_search import PatientSearchScreen

        self.app.push_screen(PatientSearchScreen())

    @on(Button.Pressed, "#requests")
    def action_requests(self) -> None:
        from screens.requests import RequestQueueScreen

        self.app.push_screen(RequestQueueScreen())

    @on(Button.Pressed, "#today")
    def action_today(self) -> None:
        from screens.today import TodayScreen

        self.app.push_screen(TodayScreen())

    @on(Button.Pressed, "#setup")
    def action_setup(self) -> None:
        from screens.setup import SetupScreen

        self.app.push_screen(SetupScreen())
