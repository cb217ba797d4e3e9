"""«Dagens timer»: today's confirmed appointments at the office, by timebook and then by time."""

from __future__ import annotations

from itertools import groupby

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.content import Content

from timebok.client.errors import BookingError
from timebok.client.models import Appointment
from timebok.domain.clock import today
from timebok.screens.live import LiveMixin, refresh_key
from timebok.ui.i18n import long_date, t
from timebok.ui.labels import time_type_name
from timebok.ui.widgets.plain import Static


def timebook_heading(appointment: Appointment) -> str:
    place = appointment.place.name if appointment.place else ""
    return f"{time_type_name(appointment.time_type_code)} · {place}" if place else time_type_name(appointment.time_type_code)


class TodayScreen(LiveMixin):
    TITLE_KEY = "today.title"
    BINDINGS = [refresh_key()]

    def compose_body(self) -> ComposeResult:
        yield Static(t("today.heading", date=long_date(today())), classes="section")
        yield Static("", id="today-list")
        yield self.updated_line()

    def on_mount(self) -> None:
        self.reload()
        self.start_polling()

    def reload(self, quiet: bool = False) -> None:
        self._fetch(quiet)

    @work(exclusive=True)
    async def _fetch(self, quiet: bool) -> None:
        try:
            appointments = await self.client.todays_appointments()
        except BookingError as error:
            self.fetch_failed(error, quiet=quiet)
            return
        listing = self._listing(appointments)  # markup for the headings, with every value in it escaped
        self.query_one("#today-list", Static).update(Content.from_markup(listing) if listing else t("today.empty"))
        self.fetched()

    def _listing(self, appointments: list[Appointment]) -> str:
        ordered = sorted(appointments, key=lambda a: (timebook_heading(a), a.start))
        blocks = []
        for heading, group in groupby(ordered, key=timebook_heading):
            lines = [f"[b]{escape(heading)}[/b]"]
            for a in group:
                patient = a.patient.name if a.patient else f"Patient/{a.patient_id}"
                number = a.patient.masked_number if a.patient else ""
                line = t("today.row", time=a.start.strftime("%H:%M"), patient=patient, number=number)
                lines.append(escape(f"  {line}" + (f" · {a.reason}" if a.reason else "")))
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)
