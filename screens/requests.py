"""«Forespørsler»: the office's booking requests waiting for an answer, oldest first; confirm or reject each."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from client.errors import BookingError, ErrorKind
from client.models import Appointment
from screens.base import FlowScreen
from screens.labels import appointment_details, time_type_name, when
from tui.i18n import t
from tui.keys import key


def patient_label(appointment: Appointment) -> str:
    patient = appointment.patient
    return f"{patient.name} ({patient.masked_number})" if patient else f"Patient/{appointment.patient_id}"


class RequestQueueScreen(FlowScreen):
    TITLE_KEY = "requests.title"
    BINDINGS = [
        key("b", "confirm", "requests.confirm"),
        key("a", "reject", "requests.reject"),
    ]

    def compose_body(self) -> ComposeResult:
        yield Static(t("requests.loading"), id="requests-count", classes="hint")
        yield DataTable(id="requests", cursor_type="row", zebra_stripes=True)
        yield Static("", id="request-details")

    def on_mount(self) -> None:
        self.requests: list[Appointment] = []
        table = self.query_one(DataTable)
        table.add_columns(*(t(f"requests.col_{c}") for c in ("sent", "type", "time", "place", "patient", "reason")))
        table.focus()
        self.reload()

    def heading(self) -> str:
        requests = getattr(self, "requests", None)
        return t("staff.requests_count", count=len(requests)) if requests is not None else super().heading()

    @work(exclusive=True, group="load")
    async def reload(self) -> None:
        try:
            requests = await self.app.client.pending_requests()
        except BookingError as error:
            self.app.report(error)
            return
        self._show(requests)

    def _show(self, requests: list[Appointment]) -> None:
        table = self.query_one(DataTable)
        keep = self._current()
        self.requests = requests
        table.clear()
        for a in requests:
            sent = a.created.strftime("%d.%m. %H:%M") if a.created else ""
            cells = (
                sent,
                time_type_name(a.time_type_code),
                a.start.strftime("%d.%m. %H:%M"),
                a.place.name if a.place else "",
                patient_label(a),
                a.reason or "",
            )
            table.add_row(*(Text(cell) for cell in cells), key=a.id)  # Text: a typed "[" is not markup
        if keep is not None and any(a.id == keep.id for a in requests):
            table.move_cursor(row=table.get_row_index(keep.id))
        table.display = bool(requests)
        if not requests:
            self.query_one("#request-details").display = False
        self.query_one("#requests-count", Static).update(
            t("requests.count", count=len(requests)) if requests else t("requests.empty"))
        self.query_one("#heading", Static).update(self.heading())

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        # The table cuts long reasons; the highlighted request is shown whole below it.
        request = self._current()
        details = self.query_one("#request-details", Static)
        details.display = request is not None
        if request is not None:
            lines = [f"{t('details.patient')}: {patient_label(request)}", appointment_details(request)]
            details.update(Text("\n".join(lines)))

    def _current(self) -> Appointment | None:
        table = self.query_one(DataTable)
        if not self.requests or table.cursor_row is None or table.cursor_row >= len(self.requests):
            return None
        return self.requests[table.cursor_row]

    def action_confirm(self) -> None:
        request = self._current()
        if request is None:
            self.app.bell()
            return
        self.answer(request, None)

    def action_reject(self) -> None:
        from screens.reject_dialog import RejectDialog

        request = self._current()
        if request is None:
            self.app.bell()
            return
        question = t("reject.question", patient=patient_label(request), when=when(request.start))
        self.app.push_screen(RejectDialog(question), lambda reason: reason and self.answer(request, reason))

    @work(group="answer")
    async def answer(self, request: Appointment, reason: str | None) -> None:
        """Confirm (reason None) or reject; the row leaves the list at once, and a lost race is said plainly."""
        name = request.patient.name if request.patient else patient_label(request)
        try:
            if reason is None:
                await self.app.client.confirm(request.id)
            else:
                await self.app.client.reject(request.id, reason)
        except BookingError as error:
            if error.kind is ErrorKind.CONFLICT:  # another desk answered it first; nothing was applied twice
                self.notify(t("requests.already_answered", patient=name), severity="warning", timeout=10)
            else:
                self.app.report(error)
            self.reload()
            return
        self._show([r for r in self.requests if r.id != request.id])
        text = t("requests.confirmed", patient=name, when=when(request.start)) if reason is None else t("requests.rejected", patient=name)
        self.notify(text)
