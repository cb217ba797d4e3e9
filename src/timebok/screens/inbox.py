"""«Innboks»: the office's messages, newest first, unread marked, each tied to its appointment."""

from __future__ import annotations

import asyncio
from datetime import datetime

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import ListView

from timebok.client.errors import BookingError
from timebok.client.models import Appointment, AppointmentState, InboxMessage, Patient
from timebok.domain.clock import now
from timebok.screens.base import FlowScreen
from timebok.screens.expandable import ExpandableItem
from timebok.ui.i18n import short_date, t, tn
from timebok.ui.keys import key
from timebok.ui.labels import appointment_details, for_whom, time_type_label, when
from timebok.ui.widgets.load_state import LoadState


class InboxScreen(FlowScreen):
    TITLE_KEY = "inbox.title"
    # On «Ledig time til deg» (a short-notice offer): to «Timeavtaler», where it is taken (J) or let go (N).
    BINDINGS = [key("t", "to_offer", "inbox.to_offer")]
    REFRESH_SECONDS = 15.0  # picks up the office's answer while the screen is open (cheap: conditional GETs)

    def __init__(self, *, from_flow: bool = False, patient: Patient | None = None) -> None:
        super().__init__()
        self.from_flow = from_flow
        self._patient = patient  # the front desk's patient just booked for; else the signed-in citizen
        self._message_ids: list[str] = []
        self._offers: set[str] = set()  # the messages that offer a time at short notice
        # What the list shows, by what a change would alter: a refresh that finds the same leaves it alone.
        self._shown: tuple[tuple[tuple[str, str, str], ...], tuple[tuple[str, AppointmentState, datetime], ...]] | None = None
        self._fetched_at = ""  # «HH:MM» of the last answer, for the line that says what is shown is stale

    def patient(self) -> Patient | None:
        return self._patient

    def rebuilt(self) -> InboxScreen:
        return InboxScreen(from_flow=self.from_flow, patient=self._patient)

    def step(self) -> int | None:
        return 8 if self.from_flow else None  # the guide's last step: the time is in Innboks and Timeavtaler

    def compose_body(self) -> ComposeResult:
        yield LoadState(id="inbox-status")
        yield ListView(id="messages")

    def on_mount(self) -> None:
        self.reload()
        self.set_interval(self.REFRESH_SECONDS, self._refresh_quietly)

    def reload(self) -> None:
        self._load(quiet=False)

    def _refresh_quietly(self) -> None:
        # A fetch still under way (a backend slow to answer, or not at all) is left to finish, not cancelled: else
        # no refresh ever failed, and nothing said that what is shown is stale.
        if any(worker.node is self and worker.group == "load" and not worker.is_finished for worker in self.app.workers):
            return
        self._load(quiet=True)

    @work(exclusive=True, group="load")
    async def _load(self, quiet: bool) -> None:
        patient = self.patient() or self.own_patient()
        status = self.query_one(LoadState)
        if not quiet:
            status.busy()
        try:
            # A citizen who acts for others gets their messages too (the child's reach the parent), each naming whom.
            everyone = self.patient() is None and bool(self.timebok.people)
            whose = None if everyone else patient.id
            messages, appointments = await asyncio.gather(self.client.inbox(whose), self.client.appointments(whose))
        except BookingError as error:
            if quiet and self._shown is not None:
                # A background refresh that failed: keep what is shown, but say since when it is not current.
                self._update_count(stale=True)
                return
            await self.query_one("#messages", ListView).clear()
            self._shown = None
            status.failed(error)
            return
        self._fetched_at = now().strftime("%H:%M")
        shown = (tuple((m.id, m.topic, m.text) for m in messages), tuple((a.id, a.state, a.start) for a in appointments))
        if shown == self._shown:
            self._update_count()
            return  # nothing new: leave the list (and where the user is in it) alone
        self._shown = shown
        await self._fill(messages, appointments, focus=not quiet)

    async def _fill(self, messages: list[InboxMessage], appointments: list[Appointment], *, focus: bool) -> None:
        listing = self.query_one("#messages", ListView)
        keep_index = listing.index
        expanded = {item.key for item in listing.query(ExpandableItem) if item.has_class("-expanded")}
        by_id = {a.id: a for a in appointments}
        await listing.clear()
        items = []
        for message in messages:
            appointment = by_id.get(message.appointment_id) if message.appointment_id is not None else None
            about = ""
            if appointment is not None:
                office = appointment.office.name if appointment.office else ""
                whom = for_whom(self.patient() or self.own_patient(), appointment)
                about = f"\n{escape(time_type_label(appointment.time_type_code, office))}{escape(whom)}, {escape(when(appointment.start))}"
            details = escape(message.text) + (f"\n\n{escape(appointment_details(appointment))}" if appointment else "")
            item = ExpandableItem(self._summary(message, about), details, key=message.id)
            if message.id in expanded:
                item.add_class("-expanded")
            items.append(item)
        await listing.extend(items)
        self._message_ids = [m.id for m in messages]
        self._offers = {m.id for m in messages if m.kind == "offer"}
        self._update_count()
        listing.index = min(keep_index, len(items) - 1) if keep_index is not None and items else (0 if items else None)
        self.restore_view()
        if focus:
            listing.focus()

    def _update_count(self, *, stale: bool = False) -> None:
        ids = self._message_ids
        unread = sum(1 for id_ in ids if id_ not in self.timebok.seen_messages)
        text = (
            self.say("inbox.empty")
            if not ids
            else t("inbox.count", messages=tn("inbox.messages", len(ids)), unread=tn("inbox.unread", unread))
        )
        if stale:
            text += "\n" + t("inbox.stale", time=self._fetched_at)
        self.query_one(LoadState).loaded(text)

    def _summary(self, message: InboxMessage, about: str) -> str:
        marker = "  " if message.id in self.timebok.seen_messages else f"[b]{t('inbox.unread_mark')}[/] "
        return f"{marker}[b]{escape(message.topic)}[/]  [dim]{escape(short_date(message.sent.date()))}[/]{about}"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "to_offer":
            return self._on_offer()  # shown only on an offer's message
        return super().check_action(action, parameters)

    def _on_offer(self) -> bool:
        if not self.is_mounted:
            return False
        item = self.query_one("#messages", ListView).highlighted_child
        return isinstance(item, ExpandableItem) and item.key in self._offers

    @on(ListView.Highlighted, "#messages")
    def _moved(self) -> None:
        self.refresh_bindings()

    def action_to_offer(self) -> None:
        if self._on_offer():
            self.timebok.open_appointments()

    @on(ListView.Selected, "#messages")
    def _open(self, event: ListView.Selected) -> None:
        item = event.item
        if isinstance(item, ExpandableItem):
            item.toggle()
            if item.key not in self.timebok.seen_messages:
                self.timebok.mark_seen(item.key)
                item.set_summary(item.summary.replace(f"[b]{t('inbox.unread_mark')}[/] ", "  ", 1))
                self._update_count()
