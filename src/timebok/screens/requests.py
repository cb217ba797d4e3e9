"""«Forespørsler»: the office's booking requests waiting for an answer, overdue first, then oldest first; confirm or
reject each (a change too, shown «Endring: fra → til»)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.timer import Timer
from textual.widgets import DataTable

from timebok.client.errors import BookingError, ErrorKind
from timebok.client.models import Appointment, AppointmentState
from timebok.domain.clock import now
from timebok.screens.base import connected
from timebok.screens.live import LiveMixin, refresh_key
from timebok.ui.contract import TimebokAppContract, app_of
from timebok.ui.daylist import shown_name
from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.labels import appointment_details, change_line, time_type_name, when
from timebok.ui.problems import describe
from timebok.ui.widgets.plain import Static

PAST_MARK = "⚠"
OVERDUE_MARK = "!"  # older than the office's answer time (setup «Svarfrist»)


def patient_label(appointment: Appointment, *, hidden: bool = False) -> str:
    """«Ola Nordmann (029179 *****)»; with «Skjul navn» the initials and birth year alone."""
    patient = appointment.patient
    if hidden or patient is None:
        return patient_name(appointment, hidden=hidden)
    return f"{patient.name} ({patient.masked_number})"


def patient_name(appointment: Appointment, *, hidden: bool = False) -> str:
    return shown_name(appointment.patient, appointment.patient_id, hidden=hidden)


def has_passed(appointment: Appointment) -> bool:
    return appointment.start <= now()


# What another desk or the patient did first, as the desk that answered second is told it.
ANSWERED_BY_OTHERS = {
    AppointmentState.CONFIRMED: "requests.answered_confirmed",
    AppointmentState.REJECTED: "requests.answered_rejected",
    AppointmentState.CANCELLED: "requests.answered_cancelled",
}


def answered_by_others(state: AppointmentState | None) -> str:
    """The text id for what became of a request answered elsewhere first; `state` None: it could not be read."""
    return ANSWERED_BY_OTHERS.get(state, "requests.already_answered") if state is not None else "requests.already_answered"


@dataclass
class PendingConfirm:
    """A confirmation waiting out its undo window; nothing has been sent yet."""

    request: Appointment
    timer: Timer


class RequestQueueScreen(LiveMixin):
    TITLE_KEY = "requests.title"
    # A stray B must not notify a patient: a confirmation is sent after a few seconds in which Z undoes it.
    # One key per request stays the rule for a busy desk; two keys only where the time has passed.
    UNDO_SECONDS = 5.0
    BINDINGS = [
        key("b", "confirm", "requests.confirm"),
        key("a", "reject", "requests.reject"),
        key("z", "undo", "requests.undo", show=False),  # «Z angrer» is said on screen, beside what it undoes
        # By when it was sent (oldest first: fair to patients) or by the time asked for (what comes first today).
        key("s", "sort", "requests.sort"),
        refresh_key(),
    ]
    KEYS_IN_PALETTE = True

    def compose_body(self) -> ComposeResult:
        yield Static(t("requests.loading"), id="requests-count", classes="hint")
        yield Static("", id="answer-note")
        yield DataTable(id="requests", cursor_type="row", zebra_stripes=True)
        yield Static("", id="request-details")
        yield self.updated_line()

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Appointment] | None = None  # as shown (without those waiting out their undo window); None before
        self._fetched: list[Appointment] = []
        self._replaced: dict[str, Appointment] = {}  # the times the changes waiting would replace, by id
        self._pending: list[PendingConfirm] = []
        self._sending: set[str] = set()  # answers on their way: out of the list, so the next key is for the next request
        # Answers that got no reply (timeout, connection lost): they may have landed. By request id, the request
        # and the reason (None: a confirm). When the request leaves the queue, the desk is told what became of it.
        self._in_doubt: dict[str, tuple[Appointment, str | None]] = {}
        self._reasons: dict[str, str] = {}  # a reject reason typed per request, kept through Esc and failures
        self._armed: str | None = None  # a passed request whose first B has been pressed
        self.sort_by_time = False  # False: by when it was sent, oldest first (the backend's order)

    def rebuilt(self) -> RequestQueueScreen:
        """After a language switch: the reasons typed and the answers in doubt come along (an open reject dialog
        closes with the old screen; its text is in the reasons, so the next A shows it)."""
        again = RequestQueueScreen()
        again._reasons, again._in_doubt = self._reasons, self._in_doubt
        again.sort_by_time = self.sort_by_time
        return again

    def on_mount(self) -> None:
        self.requests = []
        self.query_one("#answer-note").display = False
        self.query_one(DataTable).focus()
        self.reload()
        self.start_polling()

    def heading(self) -> str:
        requests = self.requests
        return t("staff.requests_count", count=len(requests)) if requests is not None else super().heading()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo":
            return bool(self._pending)  # in the footer only while there is something to undo
        if action in ("confirm", "reject"):
            return True if self.requests else None  # greyed out while no request waits
        return True

    def reload(self, quiet: bool = False) -> None:
        self._fetch(quiet)

    @work(exclusive=True, group="load")
    async def _fetch(self, quiet: bool) -> None:
        try:
            requests = await self.client.pending_requests()
        except BookingError as error:
            self.fetch_failed(error, quiet=quiet)
            return
        for old_id in {r.replaces_id for r in requests if r.replaces_id} - self._replaced.keys():
            try:
                self._replaced[old_id] = await self.client.appointment(old_id)
            except BookingError:
                pass  # the change is still shown and answered; only its «from» is missing
        # Those past the answer time first (marked), each group oldest first as the backend sorts them.
        self._fetched = sorted(requests, key=lambda r: not r.overdue)
        self._show()
        self.fetched()
        waiting = {r.id for r in requests}
        for request_id in [i for i in self._in_doubt if i not in waiting and i not in self._sending]:
            self._settle_doubt(*self._in_doubt.pop(request_id))

    @work(group="doubt")
    async def _settle_doubt(self, request: Appointment, reason: str | None) -> None:
        """An answer that got no reply, and the request has left the queue: say whether it was ours that landed."""
        name = patient_name(request, hidden=self.timebok.hide_names)
        try:
            state: AppointmentState | None = (await self.client.appointment(request.id)).state
        except BookingError:
            state = None
        if state is AppointmentState.CONFIRMED and reason is None:
            text = t("requests.confirmed", patient=name, when=when(request.start))
        elif state is AppointmentState.REJECTED and reason is not None:
            text = t("requests.rejected", patient=name)
            self._reasons.pop(request.id, None)
        else:
            text = t(answered_by_others(state), patient=name)
        self._note(text)
        self.app.notify(text)

    def _show(self, *, cursor_to: str | None = None) -> None:
        """Show the requests waiting, the highlight kept on the same request (or moved to `cursor_to`)."""
        waiting = {p.request.id for p in self._pending} | self._sending
        requests = [r for r in self._fetched if r.id not in waiting]
        if self.sort_by_time:
            requests.sort(key=lambda r: (r.start, r.id))
        table = self.query_one(DataTable)
        current = self._current()
        keep = cursor_to or (current.id if current else None)
        self.requests = requests
        # Five columns are wider than 80: the place's column is shown only when the requests are at more than one
        # place (the details below always name it). The sent time, the number and the reason are in the details too.
        places = len({a.place.name if a.place else "" for a in requests}) > 1
        columns = [t(f"requests.col_{c}") for c in ("time", "type", "place", "patient", "sent") if places or c != "place"]
        if [str(c.label) for c in table.columns.values()] != columns:
            table.clear(columns=True)
            table.add_columns(*columns)
        table.clear()
        for a in requests:
            passed = has_passed(a)
            mark = PAST_MARK if passed else OVERDUE_MARK if a.overdue else " "
            kind = time_type_name(a.time_type_code)
            cells = (
                Text(f"{mark} ", style="bold" if a.overdue else "")
                + Text(a.start.strftime("%d.%m. %H:%M"), style="bold" if passed else ""),
                # A change says so in the type's column (its type and «fra → til» are in the details below): the
                # table must fit 80 columns.
                Text(t("change.label") if a.replaces_id else kind),
                *([Text(a.place.name if a.place else "")] if places else []),
                Text(patient_name(a, hidden=self.timebok.hide_names)),  # Text: a typed "[" is not markup
                Text(a.created.strftime("%d.%m. %H:%M") if a.created else ""),
            )
            table.add_row(*cells, key=a.id)
        if keep is not None and any(a.id == keep for a in requests):
            table.move_cursor(row=table.get_row_index(keep))
        was_shown = table.display
        table.display = bool(requests)
        if requests and (not was_shown or self.focused is None):
            # Hidden while the queue was empty, the table lost the focus: ↑/↓ would move nothing while B took the top row.
            table.focus()
        if not requests:
            self.query_one("#request-details").display = False
        count = t("requests.count", count=len(requests)) if requests else t("requests.empty")
        if requests:
            count += " " + t("requests.sorted_by_time" if self.sort_by_time else "requests.sorted_by_sent")
        if any(has_passed(a) for a in requests):
            count += "\n" + t("requests.past_legend", mark=PAST_MARK)
        if any(a.overdue and not has_passed(a) for a in requests):
            count += "\n" + t("requests.overdue_legend", mark=OVERDUE_MARK)
        self.query_one("#requests-count", Static).update(count)
        self.query_one("#heading", Static).update(self.heading())
        self._details()
        self.refresh_bindings()  # B and A are greyed out while no request waits

    def action_sort(self) -> None:
        """By the time asked for ↔ by when it was sent; the highlight stays on the same request."""
        self.sort_by_time = not self.sort_by_time
        self._show()

    def names_changed(self) -> None:
        super().names_changed()
        if self.is_mounted and self.requests is not None:
            self._show()

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        request = self._current()
        if self._armed is not None and (request is None or request.id != self._armed):
            self._armed = None  # moving on forgets a half-given confirmation
            self._note("")
        self._details()

    def _details(self) -> None:
        # The table shows the essentials; the highlighted request is shown whole below it.
        request = self._current()
        details = self.query_one("#request-details", Static)
        details.display = request is not None
        if request is not None:
            lines = [f"{t('details.patient')}: {patient_label(request, hidden=self.timebok.hide_names)}"]
            old = self._replaced.get(request.replaces_id) if request.replaces_id else None
            if old is not None:
                lines.append(change_line(old.start, request.start))
            lines.append(appointment_details(request))
            if request.created:
                lines.append(f"{t('requests.col_sent')}: {when(request.created)}")
            if has_passed(request):
                lines.append(t("requests.passed", mark=PAST_MARK))
            elif request.overdue and request.answer_due is not None:
                lines.append(t("requests.overdue", mark=OVERDUE_MARK, when=when(request.answer_due)))
            details.update(Text("\n".join(lines)))

    def _current(self) -> Appointment | None:
        table = self.query_one(DataTable)
        if not self.requests or table.cursor_row is None or table.cursor_row >= len(self.requests):
            return None
        return self.requests[table.cursor_row]

    def _note(self, text: str, *, warning: bool = False) -> None:
        """A line above the table that stays until the next answer: what happened, and anything not sent."""
        note = self.query_one("#answer-note", Static)
        note.update(Text(text))
        note.display = bool(text)
        note.set_class(warning, "error")

    # -- confirming, with a few seconds to undo ----------------------------------------------

    def action_confirm(self) -> None:
        request = self._current()
        if request is None:
            self.app.bell()
            return
        if has_passed(request) and self._armed != request.id:
            # A time that has passed is confirmed only on purpose: a second B after the warning.
            self._armed = request.id
            self._note(
                t(
                    "requests.past_warning",
                    patient=patient_name(request, hidden=self.timebok.hide_names),
                    when=when(request.start),
                ),
                warning=True,
            )
            return
        self._armed = None
        timer = self.set_timer(self.UNDO_SECONDS, lambda: self._send_confirm(request.id))
        self._pending.append(PendingConfirm(request, timer))
        self._note(
            t(
                "requests.confirming",
                patient=patient_name(request, hidden=self.timebok.hide_names),
                seconds=f"{self.UNDO_SECONDS:.0f}",
            )
        )
        self._show()
        self.refresh_bindings()

    def action_undo(self) -> None:
        if not self._pending:
            self.app.bell()
            return
        undone = self._pending.pop()  # the latest first, as undo does everywhere
        undone.timer.stop()
        self._note(t("requests.undone", patient=patient_name(undone.request, hidden=self.timebok.hide_names)))
        self._show(cursor_to=undone.request.id)  # the highlight goes back to the request undone, as it was
        self.refresh_bindings()

    def _send_confirm(self, request_id: str) -> None:
        pending = next((p for p in self._pending if p.request.id == request_id), None)
        if pending is None:
            return  # undone meanwhile
        self._pending.remove(pending)
        self.refresh_bindings()
        self._answer(pending.request, None)

    def on_unmount(self) -> None:
        # Leaving the queue does not undo: what is waiting out its window is sent now.
        for pending in self._pending:
            pending.timer.stop()
            self.app.run_worker(answer_then_refresh(self.app, pending.request), group="answer")
        self._pending.clear()

    # -- rejecting ---------------------------------------------------------------------------

    def action_reject(self) -> None:
        from timebok.screens.reject_dialog import RejectDialog

        request = self._current()
        if request is None:
            self.app.bell()
            return
        question = t("reject.question", patient=patient_label(request, hidden=self.timebok.hide_names), when=when(request.start))

        def keep(typed: str) -> None:
            self._reasons[request.id] = typed

        def send(reason: str | None) -> None:
            if reason:
                self._answer(request, reason)

        self.app.push_screen(RejectDialog(question, self._reasons.get(request.id, ""), keep), send)

    # -- sending -----------------------------------------------------------------------------

    def _answer(self, request: Appointment, reason: str | None) -> None:
        self._sending.add(request.id)
        # Said until the answer comes: «om 5 sekunder. Z angrer» no longer holds once it is on its way.
        self._note(
            t(
                "requests.sending_reject" if reason else "requests.sending_confirm",
                patient=patient_name(request, hidden=self.timebok.hide_names),
            )
        )
        self._show()
        self.run_worker(self._answer_and_show(request, reason), group="answer")

    async def _answer_and_show(self, request: Appointment, reason: str | None) -> None:
        try:
            sent, outcome, in_doubt = await answer(self.timebok, request, reason)
        finally:
            self._sending.discard(request.id)
        if in_doubt:
            self._in_doubt[request.id] = (request, reason)
            outcome = t(
                "requests.reject_in_doubt" if reason else "requests.confirm_in_doubt",
                patient=patient_name(request, hidden=self.timebok.hide_names),
            )
        else:
            self._in_doubt.pop(request.id, None)
        if outcome is not None:  # someone else answered first, or the backend failed
            self._note(outcome, warning=True)
        if sent:
            self._fetched = [r for r in self._fetched if r.id != request.id]
            self._reasons.pop(request.id, None)
            self._note("")  # an earlier «already answered» or «not sent» no longer applies
        self._show()  # a request whose answer failed is back in the list, even if the refresh fails too
        if not sent and self.requests and any(r.id == request.id for r in self.requests):
            # The cursor goes to it, so the note beside it and the next B or A are about the same request.
            self.query_one(DataTable).move_cursor(row=self.query_one(DataTable).get_row_index(request.id))
        self.reload(quiet=True)


class Answered(NamedTuple):
    sent: bool
    note: str | None = None  # what to keep on screen: someone else answered first, or it was not sent
    in_doubt: bool = False  # no reply came (timeout, connection lost): it may have landed


async def answer(app: TimebokAppContract, request: Appointment, reason: str | None) -> Answered:
    """Confirm (reason None) or reject, and tell the desk what happened.

    Runs at app level too (the queue may have been left), so it notifies through the app.
    """
    name = patient_name(request, hidden=app.hide_names)
    client = connected(app)
    try:
        if reason is None:
            await client.confirm(request.id)
        else:
            await client.reject(request.id, reason)
    except BookingError as error:
        if error.kind in (ErrorKind.TIMEOUT, ErrorKind.OFFLINE):
            # The client tried again already; pressing B or A once more re-sends under the same identifier,
            # so it cannot land twice. «Ctrl+R to try again» would only fetch the list: not said here.
            app.notify(describe(error), title=t("error.title"), severity="error", timeout=10)
            return Answered(False, in_doubt=True)
        if error.kind is not ErrorKind.CONFLICT:
            app.report(error)
            return Answered(
                False,
                t("requests.reject_not_sent", patient=name, reason=reason)
                if reason
                else t("requests.confirm_not_sent", patient=name),
            )
        text = await _what_happened(app, request)
        if reason:
            text += " " + t("requests.not_sent_reason", reason=reason)  # what was typed is kept, not dropped
        app.notify(text, severity="warning", timeout=10)
        return Answered(False, text)
    app.notify(
        t("requests.confirmed", patient=name, when=when(request.start))
        if reason is None
        else t("requests.rejected", patient=name)
    )
    return Answered(True)


async def answer_then_refresh(app: App[object], request: Appointment) -> None:
    """Send a confirmation left waiting when the queue closed, then refresh whatever live screen is on top."""
    await answer(app_of(app), request, None)
    if isinstance(app.screen, LiveMixin):
        app.screen.reload(quiet=True)


async def _what_happened(app: TimebokAppContract, request: Appointment) -> str:
    """The 409 says only that the request is no longer waiting: read it to say who did what."""
    name = patient_name(request, hidden=app.hide_names)
    try:
        state: AppointmentState | None = (await connected(app).appointment(request.id)).state
    except BookingError:
        state = None
    return t(answered_by_others(state), patient=name)
