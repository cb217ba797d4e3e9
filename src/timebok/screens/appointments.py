"""«Timeavtaler»: upcoming and past appointments with their state, «Se detaljer», avbestill and «Endre time»; the
short-notice list (K: ask for an earlier time, or withdraw) and a time offered from it (J: take it, N: decline)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeGuard

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import ListView

from timebok.client.errors import BookingError, ErrorKind
from timebok.client.models import Appointment, AppointmentState, Patient, ShortNoticeWish
from timebok.domain.appointment_life import HOLD_ENDED
from timebok.domain.clock import now
from timebok.screens.base import FlowScreen
from timebok.screens.expandable import ExpandableItem
from timebok.ui.confirm_dialog import ConfirmDialog
from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.labels import appointment_details, for_whom, short_when, state_word, time_type_label, when
from timebok.ui.problems import RETRYABLE
from timebok.ui.widgets.load_state import LoadState
from timebok.ui.widgets.plain import Static
from timebok.ui.workers import AwaitsItsWrite

CANCELLABLE = (AppointmentState.WAITING, AppointmentState.CONFIRMED)

# Why a cancel was refused, by kind, in the catalogue's words: the backend's English never reaches the screen.
# (Local to this screen for now; meant to fold into the shared kind → text mapping.)
CANCEL_REFUSED = {
    ErrorKind.INVALID: "appointments.cannot_cancel_started",  # 422 business-rule: the time has begun
    ErrorKind.CONFLICT: "appointments.cannot_cancel_changed",  # already cancelled or rejected meanwhile
}


def was_a_hold(appointment: Appointment) -> bool:
    """A time held while someone chose it, and given back or run out: never an appointment the citizen made."""
    return appointment.state is AppointmentState.HELD or appointment.cancel_code == HOLD_ENDED


def can_cancel(appointment: Appointment | None) -> TypeGuard[Appointment]:
    """Waiting, or confirmed and before its deadline (past it the citizen phones the office); not yet begun."""
    return (
        appointment is not None
        and appointment.state in CANCELLABLE
        and appointment.start > now()
        # A request waiting for an answer may always be withdrawn; only a confirmed time has a deadline.
        and not (appointment.state is AppointmentState.CONFIRMED and appointment.past_deadline(now()))
    )


def can_set_notices(appointment: Appointment | None) -> TypeGuard[Appointment]:
    """E-mail/SMS can be turned off for a time still to come that is requested or booked."""
    return (
        appointment is not None
        and appointment.state in (AppointmentState.WAITING, AppointmentState.CONFIRMED)
        and appointment.is_upcoming(now())
    )


def can_ask_earlier(appointment: Appointment | None) -> TypeGuard[Appointment]:
    """«Kort varsel» is for an upcoming time that is confirmed or waiting for an answer."""
    return appointment is not None and appointment.state in CANCELLABLE and appointment.start > now()


def can_change(appointment: Appointment | None, others: list[Appointment]) -> TypeGuard[Appointment]:
    """A confirmed time not yet begun, before its deadline, with no change of it already waiting for an answer."""
    return (
        appointment is not None
        and appointment.state is AppointmentState.CONFIRMED
        and appointment.start > now()
        and not appointment.past_deadline(now())
        and not any(o.replaces_id == appointment.id and o.state is AppointmentState.WAITING for o in others)
    )


def life_lines(appointment: Appointment, others: list[Appointment]) -> list[str]:
    """What «Se detaljer» adds about changing it: the deadline (or, past it, whom to call), and a change waiting."""
    lines: list[str] = []
    moment = now()
    waiting = next((o for o in others if o.replaces_id == appointment.id and o.state is AppointmentState.WAITING), None)
    if appointment.state is AppointmentState.CONFIRMED and appointment.start > moment:
        if waiting is not None:
            lines.append(t("change.kept_until_answer", new=short_when(waiting.start)))
        if appointment.deadline is not None and not appointment.past_deadline(moment):
            lines.append(t("change.deadline", when=when(appointment.deadline)))
        elif appointment.deadline is not None:
            phone = appointment.office.phone if appointment.office and appointment.office.phone else None
            lines.append(t("change.call_office", phone=phone) if phone else t("change.call_office_no_phone"))
    if appointment.state is AppointmentState.WAITING and appointment.replaces_id:
        old = next((o for o in others if o.id == appointment.replaces_id), None)
        if old is not None:
            lines.append(t("change.from_to", old=short_when(old.start), new=short_when(appointment.start)))
            lines.append(t("change.old_kept", old=short_when(old.start)))
    return lines


def _content_height(listing: ListView) -> int:
    """The rows a list's items take, margins between them collapsed as the layout does. Not its virtual size: a list
    held shorter than its items leaves out the last item's margin there, so the sharing out saw a row less, gave the
    list more, saw it again, and never settled (an endless redraw at 80x24, with the details of a time open)."""
    total, margin = 0, 0
    for item in listing.children:
        if item.display:
            total += max(margin, item.styles.margin.top) + item.outer_size.height
            margin = item.styles.margin.bottom
    return total + margin


class AppointmentsScreen(AwaitsItsWrite, FlowScreen):
    TITLE_KEY = "appointments.title"
    WRITES = True
    BINDINGS = [
        key("a", "cancel", "appointments.cancel"),
        key("e", "change", "appointments.change"),
        key("k", "short_notice", "appointments.short_notice"),
        key("j", "accept_offer", "appointments.accept_offer"),
        key("n", "decline_offer", "appointments.decline_offer"),
        # E-mail/SMS and the reminder for the highlighted time: named in «Se detaljer» (the footer has no room at 80).
        key("v", "notices", "appointments.notices", show=False),
    ]
    REFRESH_SECONDS = 15.0  # picks up the office's answer while the screen is open (cheap: conditional GETs)
    _shown: tuple[object, ...] | None = None  # set on mount; read on resume
    # The short-notice list: active wishes by the appointment they would replace, and the holds offered to them.
    wished: dict[str, ShortNoticeWish] = {}
    offers: dict[str, tuple[Appointment, ShortNoticeWish]] = {}

    def compose_body(self) -> ComposeResult:
        yield LoadState(id="appointments-status")
        note = Static("", id="cancel-note", classes="error")  # a cancel that failed, until it is done or tried again
        note.display = False
        yield note
        yield Static(t("appointments.upcoming"), id="upcoming-heading", classes="section")
        yield ListView(id="upcoming")
        yield Static(t("appointments.past"), id="past-heading", classes="section")
        yield ListView(id="past")

    def on_mount(self) -> None:
        self.by_id: dict[str, Appointment] = {}
        # What the lists show, by what a change would alter: a refresh that finds the same leaves them alone.
        self._shown: tuple[object, ...] | None = None
        self.wished, self.offers = {}, {}
        self._expired: dict[str, tuple[Appointment, ShortNoticeWish]] = {}  # offers seen here that ran out since
        self._cancel_again: Appointment | None = None  # a cancel that failed in a way Ctrl+R may mend
        self._toggled: ExpandableItem | None = None  # a time whose details were just opened or closed
        for listing in self.query(ListView):
            self.watch(listing, "virtual_size", self._resized, init=False)
        user = self.timebok.user
        if self.timebok.read_only and user is not None:
            self._note(t("support.read_only_hint", citizen=user.name))  # why «Avbestill» is greyed out
        self.reload()
        self.set_interval(self.REFRESH_SECONDS, self._refresh)

    def _refresh(self) -> None:
        # Only while on top: under a change's guide the screen may be going (the guide's end goes home), and a refill
        # then found no widgets. Coming back to it fetches at once (on_screen_resume).
        if self.is_current:
            self._load(quiet=True)

    _changing = False  # «Endre time»'s guide was opened from here: coming back, fetch what it changed

    def on_screen_resume(self) -> None:
        if self._changing:  # not after a dialog: the cancel it asked for fetches the list itself, once it is done
            self._changing = False
            self._load(quiet=True)

    def reload(self) -> None:
        """Ctrl+R: a cancel that failed is tried again (as its message says); otherwise the list is fetched again."""
        if self._cancel_again is not None and not self.writing:
            self._cancel(self._cancel_again, again=True)
        else:
            self._load(quiet=False)

    def _note(self, text: str) -> None:
        note = self.query_one("#cancel-note", Static)
        note.update(text)
        note.display = bool(text)

    def _show_sections(self, shown: bool) -> None:
        for widget in self.query(".section, #upcoming, #past"):
            widget.display = shown

    @work(exclusive=True, group="load")
    async def _load(self, quiet: bool) -> None:
        patient = self.own_patient()
        status = self.query_one(LoadState)
        if not quiet:
            status.busy()
            if self._shown is None:
                self._show_sections(False)  # no empty headings that read as «no appointments»
        try:
            # With people to act for, the backend's whole answer: their times too, each saying whom it is for.
            whose = None if self.timebok.people else patient.id
            everything, wishes = await asyncio.gather(self.client.appointments(whose), self._wishes(whose))
            appointments = [a for a in everything if not was_a_hold(a)]
        except BookingError as error:
            if quiet and self._shown is not None:
                return  # a background refresh that failed: keep what is shown
            if not self.is_current:
                return
            self._shown = None
            self._show_sections(False)
            status.failed(error)
            return
        if not self.is_current:
            return  # left (or covered) while the answer was on its way: it is fetched again on return
        status.loaded()
        self._show_sections(True)
        self._short_notice(everything, wishes)
        shown = (
            tuple((a.id, a.state, a.start, a.version) for a in appointments),
            tuple(sorted(self.wished)),
            tuple(sorted(self.offers)),
            tuple(sorted(self._expired)),
        )
        if shown == self._shown:
            return
        self._shown = shown
        await self._fill(appointments, focus=not quiet)

    async def _wishes(self, whose: str | None) -> list[ShortNoticeWish] | None:
        """The short-notice list; None when it could not be read (the times are shown without its marks)."""
        try:
            return await self.client.wishes(whose)
        except BookingError:
            return None

    def _short_notice(self, everything: list[Appointment], wishes: list[ShortNoticeWish] | None) -> None:
        """Which times carry «Kort varsel», which holds are offers, and which offers seen here have run out."""
        if wishes is None:
            return  # kept as they were
        moment = now()
        holds = {a.id: a for a in everything if a.state is AppointmentState.HELD}
        self.wished = {w.replaces_id: w for w in wishes if w.active and w.replaces_id}
        offers = {
            hold.id: (hold, w)
            for w in wishes
            if w.offer_id and (hold := holds.get(w.offer_id)) is not None and (hold.hold_expires or moment) > moment
        }
        for gone in set(self.offers) - set(offers):  # it ran out while shown: say so until the screen closes
            hold, wish = self.offers[gone]
            if hold.hold_expires is not None and hold.hold_expires <= moment:
                self._expired[gone] = (hold, wish)
        self.offers = offers
        for hold, _ in offers.values():  # look again when it runs out, so the row says so then
            if hold.hold_expires is not None:
                self.set_timer(max(0.5, (hold.hold_expires - moment).total_seconds() + 1), self._refresh)

    async def _fill(self, appointments: list[Appointment], *, focus: bool) -> None:
        moment = now()
        self.by_id = {a.id: a for a in appointments}
        # A time that has begun is no longer «Kommende»: it goes with the earlier ones.
        offered = [hold for hold, _ in (*self.offers.values(), *self._expired.values())]
        self.by_id.update({hold.id: hold for hold in offered})
        # An offer waits for an answer, so it comes first.
        upcoming = sorted(offered, key=lambda a: a.start) + [a for a in appointments if a.start > moment]
        past = sorted((a for a in appointments if a.start <= moment), key=lambda a: a.start, reverse=True)
        for list_id, rows, empty in (
            ("#upcoming", upcoming, "appointments.none_upcoming"),
            ("#past", past, "appointments.none_past"),
        ):
            # The count in the heading: the list may scroll, so the heading says how many there are to scroll to.
            self.query_one(f"{list_id}-heading", Static).update(t(f"appointments.{list_id[1:]}_count", count=len(rows)))
            listing = self.query_one(list_id, ListView)
            keep = listing.index
            await listing.clear()
            if rows:
                await listing.extend([ExpandableItem(self._summary(a), escape(self._details(a)), key=a.id) for a in rows])
            else:
                await listing.append(ExpandableItem(f"[dim]{t(empty)}[/]", "", key=""))
            listing.index = min(keep, len(listing) - 1) if keep is not None and not focus else 0
        if focus:
            self.query_one("#upcoming", ListView).focus()
        self.restore_view()
        self.call_after_refresh(self._fit_lists)

    def on_resize(self) -> None:
        super().on_resize()
        self.call_after_refresh(self._fit_lists)

    def _fit_lists(self, shown: ExpandableItem | None = None) -> None:
        """Share the body's rows between the two lists, so that every time is reachable and no row is left empty.

        Both lists take what they need when that fits. Else the list in use (focused) gets the rows it needs, the
        other one keeps at least its first time in view, and each scrolls. `shown`: a time whose details were just
        opened, brought fully into view."""
        upcoming, past = self.query_one("#upcoming", ListView), self.query_one("#past", ListView)
        if not (self.is_mounted and upcoming.display and past.display):
            return
        body = self.query_one("#body")
        # The rows left for the lists: the body's, less the lines above and between them (margins collapse in pairs).
        room, margin = body.scrollable_content_region.height, 0
        for child in body.children:
            if not child.display:
                continue
            room -= max(margin, child.styles.margin.top) + (0 if child in (upcoming, past) else child.outer_size.height)
            margin = child.styles.margin.bottom
        room -= margin
        first, other = (past, upcoming) if self.focused is past else (upcoming, past)
        need = {listing: _content_height(listing) for listing in (first, other)}
        if need[first] + need[other] <= room:
            first.styles.max_height = other.styles.max_height = None
        else:
            keep = min(need[other], other.children[0].outer_size.height + 1) if other.children else need[other]
            other_rows = min(need[other], max(room - need[first], keep))
            first.styles.max_height = max(1, room - other_rows)
            other.styles.max_height = other_rows
        if shown is not None and shown.has_class("-expanded"):
            shown.scroll_visible(top=True, animate=False)

    def _details(self, appointment: Appointment) -> str:
        lines = [appointment_details(appointment), *life_lines(appointment, list(self.by_id.values()))]
        if can_set_notices(appointment):  # one line: V is named here, the footer has no room for it at 80 columns
            both = appointment.no_notices and appointment.no_reminders
            which = "both" if both else "notices" if appointment.no_notices else "reminder" if appointment.no_reminders else "on"
            lines.append(t(f"appointments.{which}_off" if which != "on" else "appointments.notices_on"))
        if appointment.id in self.offers:
            _, wish = self.offers[appointment.id]
            old = self.by_id.get(wish.replaces_id or "")
            if old is not None:
                lines.append(t("appointments.offer_replaces", old=short_when(old.start)))
            lines.append(t("appointments.offer_help"))
        return "\n".join(lines)

    def _summary(self, appointment: Appointment) -> str:
        office = appointment.office.name if appointment.office else ""
        place = appointment.place.name if appointment.place else ""
        whom = for_whom(self.own_patient(), appointment)
        if appointment.id in self.offers or appointment.id in self._expired:
            # A time offered at short notice, on a line of its own: until when it is held, or that the offer ran out.
            until = f"{appointment.hold_expires:%H:%M}" if appointment.hold_expires else ""
            state = (
                t("appointments.offer_until", until=until)
                if appointment.id in self.offers
                else t("appointments.offer_expired", until=until)
            )
            return (
                f"[b]{escape(time_type_label(appointment.time_type_code, office))}[/]{escape(whom)}\n"
                f"{escape(when(appointment.start))} · {escape(place)}\n"
                f"[reverse] {escape(t('appointments.offer_mark'))} [/] · [b]{escape(state)}[/]"
            )
        # On the short-notice list: said on a line of its own (words, not a colour).
        mark = f"\n[b]{escape(t('appointments.short_notice_line'))}[/]" if appointment.id in self.wished else ""
        old = self.by_id.get(appointment.replaces_id) if appointment.replaces_id else None
        if old is not None and appointment.state is AppointmentState.WAITING:
            # A change waiting for the office: from and to, so the kept time and the asked one read together.
            return (
                f"[b]{escape(time_type_label(appointment.time_type_code, office))}[/]{escape(whom)}\n"
                f"{escape(t('change.queue_line', old=short_when(old.start), new=short_when(appointment.start)))}"
                f" · [b]{escape(state_word(appointment.state))}[/]"
            )
        return (
            f"[b]{escape(time_type_label(appointment.time_type_code, office))}[/]{escape(whom)}\n"
            f"{escape(when(appointment.start))} · {escape(place)} · [b]{escape(state_word(appointment.state))}[/]{mark}"
        )

    @on(ListView.Selected)
    def _toggle(self, event: ListView.Selected) -> None:
        if isinstance(event.item, ExpandableItem) and event.item.key:
            event.item.toggle()
            self._toggled = event.item  # once its list has grown or shrunk, the rows are shared out again (_resized)

    def _resized(self) -> None:
        """A list's content changed height (details opened or closed, a refill): share the rows out again, and bring
        the time whose details were just opened fully into view."""
        toggled, self._toggled = self._toggled, None
        self._fit_lists(toggled)

    def _highlighted(self) -> Appointment | None:
        listing = self.focused if isinstance(self.focused, ListView) else None
        item = listing.highlighted_child if listing else None
        return self.by_id.get(item.key) if isinstance(item, ExpandableItem) else None

    def _offer(self) -> tuple[Appointment, ShortNoticeWish] | None:
        """The highlighted row's offer, while it stands."""
        highlighted = self._highlighted()
        return self.offers.get(highlighted.id) if highlighted is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("accept_offer", "decline_offer", "short_notice", "cancel", "change") and self.is_mounted:
            on_offer = self._offer() is not None
            if action in ("accept_offer", "decline_offer"):
                # Shown only on an offer, where avbestill, endre and kort varsel are not.
                return (None if self.writing or self.timebok.read_only else True) if on_offer else False
            highlighted = self._highlighted()
            if on_offer or (highlighted is not None and highlighted.id in self._expired):
                return False
            if action == "short_notice":
                if self.writing or self.timebok.read_only:
                    return None
                return True if can_ask_earlier(highlighted) else None
        if action in ("cancel", "back") and self.writing:
            return None  # greyed out while the line above the list says why
        if action in ("cancel", "change") and self.timebok.read_only:
            return None  # a support agent acting as a citizen: greyed out, the line above the list says why
        if action == "change" and self.writing:
            return None
        if action in ("cancel", "change") and self.is_mounted:
            highlighted = self._highlighted()
            if highlighted is not None and highlighted.state is AppointmentState.CONFIRMED and highlighted.past_deadline(now()):
                return False  # not offered at all: «Se detaljer» says to call the office instead
        if action == "notices" and (self.timebok.read_only or self.writing):
            return None
        if action == "notices" and self.is_mounted:
            return True if can_set_notices(self._highlighted()) else None
        if action == "cancel" and self.is_mounted:
            return True if can_cancel(self._highlighted()) else None  # greyed out in the footer otherwise
        if action == "change" and self.is_mounted:
            return True if can_change(self._highlighted(), list(self.by_id.values())) else None
        return True

    @on(ListView.Highlighted)
    def on_descendant_focus(self) -> None:
        self.refresh_bindings()
        self.call_after_refresh(self._fit_lists)  # the list in use gets the rows

    # -- «Kan komme på kort varsel» ----------------------------------------------------------------------------

    def action_short_notice(self) -> None:
        """K: ask to be offered an earlier time of this type here, or, for a time with «Kort varsel», withdraw it."""
        if self.writing or self.timebok.read_only:
            return
        appointment = self._highlighted()
        if not can_ask_earlier(appointment) or self._offer() is not None:
            self.notify(t("appointments.cannot_ask_earlier"), severity="warning")
            return
        if self._read_only(appointment):
            self.notify(t("error.forbidden.read-only"), severity="warning")
            return
        wish = self.wished.get(appointment.id)
        if wish is not None:
            # A time offered for this wish goes with it, to the next in line: the question says so.
            offered = any(w.id == wish.id for _, w in self.offers.values())
            asked = "appointments.withdraw_question_offer" if offered else "appointments.withdraw_question"
            question, yes = t(asked, when=when(appointment.start)), t("appointments.withdraw_yes")
        else:
            question, yes = (
                t("appointments.ask_earlier_question", when=when(appointment.start)),
                t("appointments.ask_earlier_yes"),
            )

        def answered(sure: bool | None) -> None:
            if sure:
                self._short_notice_write(appointment, wish)

        self.app.push_screen(ConfirmDialog(question, yes), answered)

    @work(exclusive=True, group="cancel")
    async def _short_notice_write(self, appointment: Appointment, wish: ShortNoticeWish | None) -> None:
        await self._write(
            self.client.withdraw_wish(wish) if wish is not None else self.client.ask_earlier(appointment),
            "appointments.withdrawn" if wish is not None else "appointments.asked_earlier",
        )

    async def _write(self, request: Awaitable[object], done: str) -> bool:
        """One short-notice write, the list greyed meanwhile; the list fetched again after it, whatever came."""
        status = self.query_one(LoadState)
        self.writing = True
        self.refresh_bindings()
        status.busy()
        try:
            await request
        except BookingError as error:
            self.timebok.report(error)
            self._note(t("appointments.short_notice_failed"))
            return False
        else:
            self._note("")
            self.notify(t(done), severity="information", timeout=8)
            return True
        finally:
            self.writing = False
            self.refresh_bindings()
            status.loaded()
            self._load(quiet=True)

    def action_accept_offer(self) -> None:
        """J: the offered time opens on «Se over og send»; sending it there is the change (or the request)."""
        offer = self._offer()
        if offer is None or self.writing or self.timebok.read_only:
            return
        self._open_offer(*offer)

    @work(exclusive=True, group="change")
    async def _open_offer(self, hold: Appointment, wish: ShortNoticeWish) -> None:
        from timebok.client.models import Slot
        from timebok.screens.review import ReviewScreen
        from timebok.ui.draft import BookingDraft

        status = self.query_one(LoadState)
        status.busy()
        try:
            types = await self.client.time_types(hold.office_id)
            time_type = next((tt for tt in types if tt.code == hold.time_type_code), None)
            books = await self.client.timebooks(time_type.id) if time_type is not None else []
            old = self.by_id.get(wish.replaces_id or "")
            if wish.replaces_id and old is None:
                old = await self.client.appointment(wish.replaces_id)
        except BookingError as error:
            status.failed(error)
            return
        status.loaded()
        book = next((b for b in books if b.place.id == hold.place_id), None)
        if time_type is None or book is None or hold.slot_id is None:
            self.notify(t("appointments.offer_gone"), severity="warning", timeout=10)
            return
        self._changing = True  # coming back, the list is fetched again
        draft = BookingDraft(patient=self._whose(hold), replaces=old, offer=True)
        draft.choose_time_type(time_type)
        draft.timebooks = books
        draft.choose_timebook(book)
        draft.slot = Slot(id=hold.slot_id, timebook_id=book.id, start=hold.start, end=hold.end)
        draft.hold, draft.hold_slot_id = hold, hold.slot_id
        self.app.push_screen(ReviewScreen(draft))

    def action_decline_offer(self) -> None:
        """N: let the offered time go, after a yes: the next in line is offered it."""
        offer = self._offer()
        if offer is None or self.writing or self.timebok.read_only:
            return
        hold, _ = offer

        def answered(sure: bool | None) -> None:
            if sure:
                self._decline(hold)

        question = t("appointments.decline_question", when=when(hold.start))
        self.app.push_screen(ConfirmDialog(question, t("appointments.decline_yes")), answered)

    @work(exclusive=True, group="cancel")
    async def _decline(self, hold: Appointment) -> None:
        self.offers.pop(hold.id, None)  # not «ran out»: it was let go
        await self._write(self.client.decline_offer(hold), "appointments.declined")

    def writing_allowed(self) -> None:
        """«Skriv som» was granted (the app calls this on every open screen): the read-only line goes."""
        self._note("")

    def action_change(self) -> None:
        """«Endre time»: the guide opens at the calendar of the same time type (the place may change); the old time
        stays until the office answers."""
        if self.writing:
            return
        appointment = self._highlighted()
        if not can_change(appointment, list(self.by_id.values())):
            self.notify(t("appointments.cannot_change"), severity="warning")
            return
        if self._read_only(appointment):
            # A 12–16-year-old's time: the parent sees it, the backend would refuse the change (read-only).
            self.notify(t("error.forbidden.read-only"), severity="warning")
            return
        self._open_change(appointment)

    @work(exclusive=True, group="change")
    async def _open_change(self, appointment: Appointment) -> None:
        from timebok.screens.calendar import CalendarScreen
        from timebok.screens.place import PlaceScreen
        from timebok.ui.draft import BookingDraft

        status = self.query_one(LoadState)
        status.busy()
        try:
            types = await self.client.time_types(appointment.office_id)
            time_type = next((tt for tt in types if tt.code == appointment.time_type_code), None)
            books = await self.client.timebooks(time_type.id) if time_type is not None else []
        except BookingError as error:
            status.failed(error)
            return
        status.loaded()
        if time_type is None or not books:
            self.notify(t("appointments.change_no_times"), severity="warning", timeout=10)
            return
        self._changing = True
        draft = BookingDraft(patient=self._whose(appointment), replaces=appointment)
        draft.choose_time_type(time_type)
        draft.timebooks = books
        draft.choose_timebook(next((b for b in books if b.place.id == appointment.place_id), books[0]))
        if len(books) > 1:
            # The place may change: Esc from the calendar goes to the places, as in the guide.
            place = PlaceScreen(draft)
            self.app.push_screen(place)
            place.open_next(CalendarScreen(draft))
        else:
            self.app.push_screen(CalendarScreen(draft))

    def action_cancel(self) -> None:
        if self.writing:
            return
        if self.timebok.read_only:
            self.notify(t("error.read_only"), severity="warning")
            return
        appointment = self._highlighted()
        if not can_cancel(appointment):
            self.notify(t("appointments.cannot_cancel"), severity="warning")
            return
        if self._read_only(appointment):
            # A 12–16-year-old's time: the parent sees it, the backend would refuse the cancel (read-only).
            self.notify(t("error.forbidden.read-only"), severity="warning")
            return
        question = t("appointments.cancel_question", when=when(appointment.start))

        def answered(yes: bool | None) -> None:
            if yes:
                self._cancel(appointment)

        self.app.push_screen(ConfirmDialog(question, t("appointments.cancel_yes")), answered)

    def action_notices(self) -> None:
        """«Varsler»: no e-mail/SMS about this time, or no reminder before it (Helsenorge's per-appointment tags)."""
        appointment = self._highlighted()
        if self.writing or self.timebok.read_only or not can_set_notices(appointment):
            return
        if self._read_only(appointment):
            self.notify(t("error.forbidden.read-only"), severity="warning")
            return
        from timebok.screens.notice_settings_dialog import NoticeSettingsDialog, OptOuts

        def chosen(wanted: OptOuts | None) -> None:
            if wanted is not None:
                self._set_notices(appointment, wanted)

        self.app.push_screen(NoticeSettingsDialog(appointment), chosen)

    @work(exclusive=True, group="notices")
    async def _set_notices(self, appointment: Appointment, wanted: tuple[bool, bool]) -> None:
        try:
            await self.client.set_notice_opt_outs(appointment, notices=wanted[0], reminders=wanted[1])
        except BookingError as error:
            self.timebok.report(error)
        else:
            self.notify(t("optout.saved"))
        self._load(quiet=True)

    def _whose(self, appointment: Appointment) -> Patient:
        """The patient the time is for: the citizen, or a child or fullmakt-giver they act for (a change holds and
        books for them, as the guide's step 1 «Bestill for» would)."""
        person = next((p.patient for p in self.timebok.people if p.patient.id == appointment.patient_id), None)
        return person if person is not None else self.own_patient()

    def _read_only(self, appointment: Appointment) -> bool:
        """A time of someone the citizen may only see, not act for (what the backend said at sign-in)."""
        return any(p.patient.id == appointment.patient_id and not p.may_book for p in self.timebok.people)

    @work(exclusive=True, group="cancel")
    async def _cancel(self, appointment: Appointment, again: bool = False) -> None:
        status = self.query_one(LoadState)
        self.writing = True
        self.refresh_bindings()
        status.busy(t("appointments.cancelling"))
        self._note("")
        self._cancel_again = None
        try:
            if again:
                # The first try may have landed without an answer: if the time is cancelled now, that was ours.
                appointment = await self.client.appointment(appointment.id)
            if not (again and appointment.state is AppointmentState.CANCELLED):
                await self.client.cancel(appointment)
        except BookingError as error:
            if error.kind is ErrorKind.CHANGE_DEADLINE:  # the deadline passed while the screen was open
                deadline = when(error.until) if error.until else ""
                self.notify(
                    t("change.deadline_passed", when=deadline) if deadline else t("error.change_deadline"),
                    title=t("change.deadline_over_title"),
                    severity="warning",
                    timeout=10,
                )
            elif error.kind in CANCEL_REFUSED:
                self.notify(t(CANCEL_REFUSED[error.kind]), title=t("error.title"), severity="warning", timeout=10)
            else:
                self.timebok.report(error)
                if error.kind in RETRYABLE:
                    self._cancel_again = appointment
                    in_doubt = error.kind in (ErrorKind.TIMEOUT, ErrorKind.OFFLINE)
                    self._note(
                        t(
                            "appointments.cancel_in_doubt" if in_doubt else "appointments.cancel_failed",
                            when=when(appointment.start),
                        )
                    )
        else:
            self.notify(t("appointments.cancelled"), severity="information")
        finally:
            self.writing = False
            self.refresh_bindings()
            status.loaded()
        self._load(quiet=True)
