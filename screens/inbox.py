"""«Innboks»: the office's messages, newest first, unread marked, each tied to its appointment."""

from __future__ import annotations

import asyncio

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import ListView, Static

from client.errors import BookingError
from client.models import Patient
from screens.base import FlowScreen
from screens.expandable import ExpandableItem
from screens.labels import appointment_details, time_type_label, when
from tui.i18n import short_date, t


class InboxScreen(FlowScreen):
    TITLE_KEY = "inbox.title"

    def __init__(self, *, from_flow: bool = False, patient: Patient | None = None) -> None:
        super().__init__()
        self.from_flow = from_flow
        self._patient = patient  # the front desk's patient just booked for; else the signed-in citizen

    def patient(self) -> Patient | None:
        return self._patient

    def step(self) -> int | None:
        return 8 if self.from_flow else None  # the guide's last step: the time is in Innboks and Timeavtaler

    def compose_body(self) -> ComposeResult:
        yield Static("", id="inbox-status", classes="hint")
        yield ListView(id="messages")

    def on_mount(self) -> None:
        self.reload()

    @work(exclusive=True)
    async def reload(self) -> None:
        patient = self.patient() or self.app.user.patient
        listing = self.query_one("#messages", ListView)
        listing.loading = True
        try:
            messages, appointments = await asyncio.gather(
                self.app.client.inbox(patient.id), self.app.client.appointments(patient.id)
            )
        except BookingError as error:
            self.app.report(error)
            return
        finally:
            listing.loading = False
        by_id = {a.id: a for a in appointments}
        await listing.clear()
        items = []
        for message in messages:
            appointment = by_id.get(message.appointment_id)
            about = ""
            if appointment is not None:
                office = appointment.office.name if appointment.office else ""
                about = f"\n  {escape(time_type_label(appointment.time_type_code, office))}, {escape(when(appointment.start))}"
            details = escape(message.text) + (f"\n\n{escape(appointment_details(appointment))}" if appointment else "")
            items.append(ExpandableItem(self._summary(message, about), details, key=message.id))
        await listing.extend(items)
        self._message_ids = [m.id for m in messages]
        self._update_count()
        listing.index = 0 if items else None
        listing.focus()

    def _update_count(self) -> None:
        ids = self._message_ids
        unread = sum(1 for id_ in ids if id_ not in self.app.seen_messages)
        self.query_one("#inbox-status", Static).update(self.say("inbox.empty") if not ids else t("inbox.count", total=len(ids), unread=unread))

    def _summary(self, message, about: str) -> str:
        marker = "  " if message.id in self.app.seen_messages else f"[b]{t('inbox.unread_mark')}[/] "
        return f"{marker}[b]{escape(message.topic)}[/]  [dim]{escape(short_date(message.sent.date()))}[/]{about}"

    @on(ListView.Selected, "#messages")
    def _open(self, event: ListView.Selected) -> None:
        item = event.item
        if isinstance(item, ExpandableItem):
            item.toggle()
            if item.key not in self.app.seen_messages:
                self.app.seen_messages.add(item.key)
                item.set_summary(item.summary.replace(f"[b]{t('inbox.unread_mark')}[/] ", "  ", 1))
                self._update_count()
