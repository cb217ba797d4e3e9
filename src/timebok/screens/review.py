"""Step 5: check the booking, write briefly what it is about, and «Send bestilling»; the time is held meanwhile."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, Input

from timebok.client.errors import BookingError, ErrorKind
from timebok.client.models import Appointment, Patient
from timebok.domain.clock import now
from timebok.screens.base import BookingStep, Outcome
from timebok.ui.draft import BookingDraft, chosen
from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.labels import short_when, time_type_label, time_type_name, when
from timebok.ui.problems import full_text
from timebok.ui.widgets.plain import Label, Static
from timebok.ui.widgets.reason_input import ReasonInput
from timebok.ui.widgets.tick_box import TickBox
from timebok.ui.workers import AwaitsItsWrite

if TYPE_CHECKING:
    from textual.worker import Worker

REASON_LIMIT = 1000
# Failures that mean the chosen time is gone, each with its own words (title: the same key + «_title»).
GONE = {
    ErrorKind.SLOT_TAKEN: "review.slot_taken",
    ErrorKind.SLOT_PAST: "review.slot_past",
    ErrorKind.SLOT_GONE: "review.slot_gone",
    ErrorKind.TOO_SOON: "review.too_soon",
    ErrorKind.SLOT_HELD: "review.slot_held",
}

# How sending a hold is refused once it ended (expired, and the time claimed by someone else since).
HOLD_ENDED = frozenset({ErrorKind.SLOT_TAKEN, ErrorKind.ILLEGAL_TRANSITION, ErrorKind.CONFLICT})


def held_words(error: BookingError, staff: bool) -> str:
    """«Holdes av en annen ekspedisjon til 10:42» to a desk; to a citizen, that someone else is choosing it."""
    until = f"{error.until:%H:%M}" if error.until else ""
    if staff:
        return t("review.held_by_other_desk", until=until) if until else t("review.held_by_other_desk_no_time")
    return t("review.held_by_other", until=until) if until else t("review.held_by_other_no_time")


class ReviewScreen(AwaitsItsWrite, BookingStep):
    STEP = 5
    TITLE_KEY = "review.title"
    WRITES = True
    BINDINGS = [key("ctrl+s", "send", "review.send"), key("f3", "short_notice", "review.short_notice")]

    def __init__(self, draft: BookingDraft) -> None:
        super().__init__(draft)
        # What is asked for, chosen on the steps before; the reason is typed here, into the draft.
        self.time_type = chosen(draft.time_type, "time type")
        self.timebook = chosen(draft.timebook, "timebook")
        self.slot = chosen(draft.slot, "time")
        self._patient = chosen(draft.patient, "patient")

    def patient(self) -> Patient:
        return self._patient

    def compose_body(self) -> ComposeResult:
        draft, patient = self.draft, self._patient
        office = self.timebok.user.office.name if self.timebok.user and self.timebok.user.office else ""
        place = self.timebook.place
        rows = [
            (t("details.type"), time_type_label(self.time_type.code, office)),
            (t("details.office"), office),
            (t("details.place"), f"{place.name}, {place.full_address}"),
            (t("details.time"), when(self.slot.start)),
            (t("details.patient"), f"{patient.name} ({patient.masked_number})"),
        ]
        if draft.replaces is not None:  # a change: the time it leaves and the one it asks for, on one line
            rows[3] = (
                t("change.label"),
                t("change.from_to", old=short_when(draft.replaces.start), new=short_when(self.slot.start)),
            )
        for label, value in rows:
            with Horizontal(classes="summary-row"):
                yield Label(f"{label}:", classes="summary-label")
                yield Static(value, classes="summary-value")
        yield Static("", id="hold-line", classes="hint")  # «Timen holdes for deg til 10:42»
        yield Label(self.say("review.reason_label"), id="reason-label")
        # No select-all on focus: coming back to the step, the first key must not replace the kept text.
        yield ReasonInput(
            value=draft.reason,
            placeholder=t("review.reason_placeholder"),
            max_length=REASON_LIMIT,
            select_on_focus=False,
            id="reason",
        )
        yield Static(self._counter(draft.reason), id="reason-counter", classes="hint")
        if self._may_ask_earlier():
            yield TickBox(t("review.short_notice_box"), draft.short_notice, id="short-notice", compact=True)
        yield Button(t("change.send" if draft.replaces is not None else "review.send"), id="send", variant="primary")
        status = Static(t("review.sending"), id="send-status", classes="hint")
        status.display = False  # while the request is on its way
        yield status

    _holding: Worker[None] | None = None  # the hold on its way: a send waits for it, so the time is not asked for twice
    failed = False  # the last «Send bestilling» failed, so Ctrl+R (try again) sends again

    def _may_ask_earlier(self) -> bool:
        """«Kan komme på kort varsel» is a citizen's, for a new booking (the desk keeps its list itself)."""
        user = self.timebok.user
        return user is not None and not user.is_staff and self.draft.replaces is None and not self.draft.offer

    def action_short_notice(self) -> None:
        """F3: tick or untick «Kan komme på kort varsel» (as Space on the box does)."""
        if self._may_ask_earlier():
            box = self.query_one("#short-notice", Checkbox)
            box.value = not box.value

    @on(Checkbox.Changed, "#short-notice")
    def _short_notice_changed(self, event: Checkbox.Changed) -> None:
        self.draft.short_notice = event.value

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "short_notice":
            if self.timebok.read_only:
                return False  # a support agent only looking: the box is theirs to tick once they write as the citizen
            return self._may_ask_earlier() and not self.writing
        if action == "send" and self.timebok.read_only:
            return None  # a support agent acting as a citizen: greyed out, the line under the button says why
        if action in ("send", "back") and self.writing:
            # A second send would be a new request for a time the first may just have booked («tatt»), and going back
            # would leave its answer unheard: both wait, greyed out, until it comes (at most the client's retries).
            return None
        return super().check_action(action, parameters)

    def reload(self) -> None:
        """Ctrl+R after a failed send: send again (the request is safe to repeat)."""
        if self.failed and not self.writing:
            self.send()

    def _show_sending(self, sending: bool, failed: str = "") -> None:
        """«Sender bestillingen …» while it is on its way; after a failure, what happened, until the next try."""
        self.writing = sending
        self.query_one("#send", Button).disabled = sending
        status = self.query_one("#send-status", Static)
        status.update(t("review.sending") if sending else failed)
        status.set_class(bool(failed) and not sending, "error")
        status.display = sending or bool(failed)
        self.refresh_bindings()

    def _read_only_line(self) -> None:
        """Why «Send bestilling» is greyed out for a support agent acting as a citizen, until «Skriv som»."""
        user = self.timebok.user
        if self.timebok.read_only and user is not None:
            status = self.query_one("#send-status", Static)
            status.update(t("support.read_only_hint", citizen=user.name))
            status.display = True
            self.query_one("#send", Button).disabled = True

    def writing_allowed(self) -> None:
        """«Skriv som» was granted (the app calls this on every open screen): the button and the line follow."""
        if not self.writing:
            self.query_one("#send", Button).disabled = False
            self.query_one("#send-status", Static).display = False

    def on_mount(self) -> None:
        self._read_only_line()
        reason = self.query_one("#reason", Input)
        reason.focus()
        reason.cursor_position = len(reason.value)  # carry on typing at the end of what was kept
        self.query_one("#hold-line").display = False
        draft = self.draft
        if draft.hold is not None and draft.hold_slot_id == self.slot.id:
            self._show_hold(draft.hold)  # built again (a language switch): the same hold, not a second one
        else:
            self._holding = self._take_hold()

    # -- the hold: the time is kept for this user while they type (README «The appointment's whole life») --------

    @work(exclusive=True, group="hold")
    async def _take_hold(self) -> None:
        draft = self.draft
        try:
            # The desk's change holds the new time as a plain hold: it gives it back and books the change at once
            # (`_change`), asking for a reason past the deadline; a hold naming the old time would be refused there.
            replaces = None if self._staff_changing() else draft.replaces
            hold = await self.client.hold(self.slot, self._patient.id, replaces=replaces)
        except BookingError as error:
            if error.kind in GONE or error.kind is ErrorKind.PATIENT_OVERLAP:
                self._time_gone(error)
            elif error.kind is ErrorKind.CHANGE_DEADLINE:
                self._show_sending(False, self._failure_line(error))
            # Otherwise (no answer, say) the time is not held, and «Send» books it as before: no hold line.
            return
        draft.hold, draft.hold_slot_id = hold, self.slot.id
        self._show_hold(hold)

    def _show_hold(self, hold: Appointment) -> None:
        line = self.query_one("#hold-line", Static)
        expires = hold.hold_expires
        if expires is None:
            return
        line.display = True
        if expires <= now():
            self._hold_expired()
            return
        line.update(self.say("review.held_until", until=f"{expires:%H:%M}"))
        self.set_timer(max(0.0, (expires - now()).total_seconds()), self._hold_expired)

    def _hold_expired(self) -> None:
        """Plainly: the hold is over. Sending may still get the time if nobody took it; else it goes back to pick
        another, the typed reason kept."""
        hold = self.draft.hold
        if hold is None or hold.hold_expires is None or self.writing or not self.is_mounted:
            return
        line = self.query_one("#hold-line", Static)
        line.update(t("review.hold_expired", at=f"{hold.hold_expires:%H:%M}"))
        line.add_class("-warning")

    def action_back(self) -> None:
        """Esc: the user went back, so the time is given back at once (else it would stay held until it expired). A
        time offered at short notice stays theirs until its offer ends: «Timeavtaler» declines it with N."""
        if self.draft.offer:
            self.draft.hold = self.draft.hold_slot_id = None
        self._release_hold()
        super().action_back()

    def _release_hold(self) -> None:
        draft = self.draft
        hold, draft.hold, draft.hold_slot_id = draft.hold, None, None
        if hold is None:
            return
        client = self.client

        async def release() -> None:
            try:
                await client.release(hold)
            except BookingError:
                pass  # it ends by itself at its expiry; nothing the user need do

        # The app's worker, not this screen's: the screen is closing, and its workers are cancelled as it goes.
        self.app.run_worker(release(), group="release-hold", exclusive=False)

    @on(ReasonInput.LimitReached)
    def _limit_reached(self, event: ReasonInput.LimitReached) -> None:
        counter = self.query_one("#reason-counter", Static)
        counter.update(t("review.limit_reached", limit=REASON_LIMIT, dropped=event.dropped))
        counter.add_class("-warning")
        self.app.bell()

    def _counter(self, text: str) -> str:
        return t("review.counter", used=len(text), limit=REASON_LIMIT)

    @on(Input.Changed, "#reason")
    def _reason_changed(self, event: Input.Changed) -> None:
        self.draft.reason = event.value
        counter = self.query_one("#reason-counter", Static)
        if len(event.value) < REASON_LIMIT or not counter.has_class("-warning"):
            counter.remove_class("-warning")
            counter.update(self._counter(event.value))

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        if self.timebok.read_only:
            self.notify(t("error.read_only"), severity="warning")
            return
        if not self.writing:  # Ctrl+S, Enter in the reason field or the button: one request at a time
            self.send()

    def loses_on_quit(self) -> bool:
        """A typed reason not yet sent: Ctrl+Q asks before it is thrown away (app.action_quit). Not while it is on its
        way: then Ctrl+Q warns of that instead, and a second press quits at once."""
        return bool(self.draft.reason.strip()) and not self.writing

    def _gone_words(self, error: BookingError) -> tuple[str, str]:
        """The toast's title and text when the chosen time cannot be had."""
        staff = self.timebok.user is not None and self.timebok.user.is_staff
        if error.kind is ErrorKind.SLOT_HELD:
            return t("review.slot_held_title"), held_words(error, staff)
        if error.kind is ErrorKind.SLOT_TAKEN and self.draft.hold is not None:
            return t("review.hold_lost_title"), t("review.hold_lost")  # the hold ran out and someone else took it
        if error.kind is not ErrorKind.PATIENT_OVERLAP:
            return t(f"{GONE[error.kind]}_title"), t(GONE[error.kind])
        held, user = error.held, self.timebok.user
        yourself = user is not None and not user.is_staff and not user.is_support
        name = self._patient.name
        if held is None:  # an answer without the time (an older backend): say it without one
            return t("review.patient_overlap_title"), t(
                "review.patient_overlap_unknown_self" if yourself else "review.patient_overlap_unknown", name=name
            )
        what = time_type_name(held.type_code) if held.type_code else t("review.patient_overlap_elsewhere")
        return t("review.patient_overlap_title"), t(
            "review.patient_overlap_self" if yourself else "review.patient_overlap", name=name, when=when(held.start), what=what
        )

    def _failure_line(self, error: BookingError) -> str:
        """What went wrong and what to do, for the line under «Send bestilling»."""
        if error.kind in (ErrorKind.TIMEOUT, ErrorKind.OFFLINE):
            # Only a request that may have reached the backend leaves the user wondering; a refused connection sent nothing.
            return t("review.send_in_doubt" if error.maybe_sent else "review.send_not_sent")
        if error.kind is ErrorKind.CHANGE_DEADLINE:
            office = self.timebok.user.office if self.timebok.user else None
            phone = office.phone if office and office.phone else ""
            deadline = t("change.deadline_passed", when=when(error.until)) if error.until else t("error.change_deadline")
            return deadline + (" " + t("change.call_office", phone=phone) if phone else "") + " " + t("change.typed_kept")
        return full_text(error, typed=bool(self.draft.reason))

    def _staff_changing(self) -> bool:
        """The desk moves a time (booked at once); a citizen's change is a request sent from the hold."""
        return self.timebok.user is not None and self.timebok.user.is_staff

    async def _change(self, draft: BookingDraft) -> None:
        """«Endre time» at the desk: the new time booked and the old one cancelled in one transaction. Past the
        deadline the desk gives a reason from the short list (audited), then it is sent again with it."""
        old = chosen(draft.replaces, "appointment to change")
        user = self.timebok.user
        staff = user is not None and user.is_staff
        try:
            await self.client.change(old, self.slot, draft.reason, book=staff, override=draft.override)
        except BookingError as error:
            if error.kind is ErrorKind.CHANGE_DEADLINE and staff and draft.override is None:
                self._show_sending(False)
                from timebok.screens.override_dialog import OverrideDialog

                def chosen_reason(code: str | None) -> None:
                    if code is not None:
                        draft.override = code
                        self.send()

                self.app.push_screen(OverrideDialog(error.until), chosen_reason)
                return
            raise
        self._show_sending(False)
        self.notify(
            t("change.done", patient=self._patient.name, old=short_when(old.start), new=short_when(self.slot.start)),
            title=t("change.title"),
            timeout=10,
        )
        self.dismiss(Outcome.CHANGED)

    def _time_gone(self, error: BookingError) -> None:
        """The time cannot be had: back to the calendar, which shows fresh times; the reason is kept. The patient
        holding another time at this hour is the same kind of news, and another time is what they need too."""
        self._show_sending(False)
        title, text = self._gone_words(error)
        self.draft.hold = self.draft.hold_slot_id = None  # over: it ran out, or was never had
        self.notify(text, title=title, severity="warning", timeout=15)
        self.dismiss(Outcome.TIME_GONE)

    @work(exclusive=True, group="send")
    async def send(self) -> None:
        draft = self.draft
        self._show_sending(True)
        if self._holding is not None and not self._holding.is_finished:
            from textual.worker import WorkerError

            with suppress(WorkerError):  # a hold that failed or was cancelled: the send goes without one
                await self._holding.wait()
        try:
            if draft.replaces is not None and self._staff_changing():
                # The desk's change books at once, with its deadline override (`_change`). A hold this desk took on
                # the new time is given back first so the change can claim it: one round trip in which another
                # could take the time, and then the desk hears so as for any time taken.
                if draft.hold is not None:
                    with suppress(BookingError):
                        await self.client.release(draft.hold)
                    draft.hold = draft.hold_slot_id = None
                await self._change(draft)
                return
            if draft.hold is not None:  # the held time becomes the request (a change's too: the hold carries it)
                appointment = await self.client.send_held(draft.hold, draft.reason)
            elif draft.replaces is not None:
                appointment = await self.client.change(draft.replaces, self.slot, draft.reason)
            else:
                appointment = await self.client.request_booking(self.slot, self._patient.id, draft.reason)
        except BookingError as error:
            if draft.hold is not None and error.kind in HOLD_ENDED:
                # The hold ran out and another claimed the time, which ended it: say so, as a time taken.
                self._time_gone(BookingError(ErrorKind.SLOT_TAKEN, error.diagnostic, status=error.status))
            elif error.kind in GONE or error.kind is ErrorKind.PATIENT_OVERLAP:
                self._time_gone(error)
            else:
                self.failed = True  # Ctrl+R sends again, as the message says
                if error.kind is ErrorKind.SIGN_IN:
                    # Signing in again is the app's (Ctrl+L, in the footer while needed): its message says so, alone.
                    self._show_sending(False)
                    self.timebok.report(error, typed=bool(draft.reason))
                else:
                    # The line under the button says it, and stays: no toast on top of it saying the same.
                    self._show_sending(False, self._failure_line(error))
            return
        self.failed = False
        draft.hold = draft.hold_slot_id = None  # it became the request
        if draft.short_notice and self._may_ask_earlier():
            try:  # the booking is made whatever comes of this: the confirmation says which
                await self.client.ask_earlier(appointment)
                draft.wish_made = True
            except BookingError:
                draft.wish_made = False
        from timebok.screens.confirmation import ConfirmationScreen

        self.timebok.go_home()
        self.app.push_screen(ConfirmationScreen(appointment, self.draft))
