"""The front desk's home: «Bestill time for pasient», «Forespørsler» with the number waiting, «Dagens timer»,
«Kort varsel» (the short-notice list) and the setup."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Button

from timebok.client.errors import BookingError
from timebok.screens.home import HomeScreen
from timebok.screens.live import LiveMixin, refresh_key
from timebok.ui.i18n import t, tn
from timebok.ui.keys import key
from timebok.ui.widgets.plain import Static


def keyed(letter: str, label: str) -> Content:
    """A button label led by its key: «b · Bestill time for pasient»."""
    return Content.assemble((letter, "bold $accent"), " · " + label)


class StaffHomeScreen(LiveMixin, HomeScreen):
    TITLE_KEY = "staff.title"
    # The three actions' keys are shown on their buttons, so the footer keeps room for the rest at 80 columns.
    BINDINGS = [
        key("b", "book", "staff.book", show=False),
        key("f", "requests", "staff.requests", show=False),
        key("d", "today", "staff.today", show=False),
        key("o", "setup", "staff.setup", show=False),
        key("k", "short_notice", "staff.short_notice", show=False),
        refresh_key(),
    ]

    def compose_body(self) -> ComposeResult:
        user = self.timebok.user
        office = user.office.name if user and user.office else ""
        yield Static(t("staff.signed_in", name=user.name if user else "", office=office), id="greeting")
        with Vertical(id="start-actions"):
            yield Button(keyed("b", t("staff.book")), id="book", variant="primary")
            yield Button(keyed("f", t("staff.requests")), id="requests")
            yield Button(keyed("d", t("staff.today")), id="today")
            yield Button(keyed("k", t("staff.short_notice")), id="short-notice")
            yield Button(keyed("o", t("staff.setup")), id="setup")
        yield Static("", id="waiting", classes="hint")
        yield self.updated_line()
        yield self.demo_line()

    def on_mount(self) -> None:
        self.show_demo_line(self.timebok.user)
        self.query_one("#book", Button).focus()
        self.start_polling()

    def on_screen_resume(self) -> None:
        # Back from the queue or a booking: the number waiting may have changed.
        self.reload()

    def reload(self, quiet: bool = False) -> None:
        self._fetch(quiet)

    @work(exclusive=True)
    async def _fetch(self, quiet: bool) -> None:
        client, user = self.timebok.client, self.timebok.user
        if client is None or user is None or not user.is_staff:
            return  # signing in as someone else: this screen is on its way out
        try:
            waiting = len(await client.pending_requests())
        except BookingError as error:
            self.fetch_failed(error, quiet=quiet)
            return
        self.fetched()
        self.query_one("#requests", Button).label = keyed("f", t("staff.requests_count", count=waiting))
        self.query_one("#waiting", Static).update(tn("staff.waiting", waiting) if waiting else t("staff.none_waiting"))

    @on(Button.Pressed, "#book")
    def action_book(self) -> None:
        from timebok.screens.patient_search import PatientSearchScreen

        self.open_next(PatientSearchScreen())

    @on(Button.Pressed, "#requests")
    def action_requests(self) -> None:
        from timebok.screens.requests import RequestQueueScreen

        self.open_next(RequestQueueScreen())

    @on(Button.Pressed, "#today")
    def action_today(self) -> None:
        from timebok.screens.today import TodayScreen

        self.open_next(TodayScreen())

    @on(Button.Pressed, "#short-notice")
    def action_short_notice(self) -> None:
        from timebok.screens.short_notice_list import ShortNoticeScreen

        self.open_next(ShortNoticeScreen())

    @on(Button.Pressed, "#setup")
    def action_setup(self) -> None:
        from timebok.screens.setup import SetupScreen

        self.open_next(SetupScreen())
