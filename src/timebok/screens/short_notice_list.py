"""«Kan komme på kort varsel»: the desk's list of short-notice wishes, first in line first, per timebook; a freed
time is offered by hand to the wish the desk chooses (T), and Enter opens the patient's page."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable

from timebok.client.errors import BookingError, ErrorKind
from timebok.client.models import ShortNoticeWish, Slot, Timebook
from timebok.domain.clock import OSLO, now
from timebok.screens.live import LiveMixin
from timebok.screens.offer_dialog import OfferDialog
from timebok.screens.wish_dialog import period_text, timebook_name
from timebok.ui.confirm_dialog import ConfirmDialog
from timebok.ui.daylist import shown_name, type_mark
from timebok.ui.i18n import clock_time, long_date, t, tn
from timebok.ui.keys import key
from timebok.ui.labels import short_when, time_type_name, when
from timebok.ui.widgets.plain import Static

EXTRA_DAYS = 7  # a wish whose period has no free time left: the desk is shown the next week's instead


def wish_state(wish: ShortNoticeWish, *, short: bool = False) -> str:
    """«venter», or «tilbudt til kl. 09:15» («tilbudt til 09:15» in the list's narrow column)."""
    if wish.offered_until is None:
        return t("shortnotice.waiting")
    if short:
        return t("shortnotice.offered", until=f"{wish.offered_until.astimezone(OSLO):%H:%M}")
    return t("shortnotice.offered", until=clock_time(wish.offered_until))


def period_end(end: datetime) -> str:
    """«mandag 21. desember 2026 kl. 09:00», or for a period that runs to midnight «til og med mandag 21. desember»."""
    local = end.astimezone(OSLO)
    if local.time() == time(0, 0):
        return t("shortnotice.through", day=long_date(local.date() - timedelta(days=1)))
    return when(local)


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class ShortNoticeScreen(LiveMixin):
    TITLE_KEY = "shortnotice.title"
    KEYS_IN_PALETTE = True
    BINDINGS = [
        key("t", "offer", "shortnotice.offer"),
        key("v", "scope", "shortnotice.scope"),
        key("x", "withdraw", "shortnotice.withdraw"),
        key("enter", "patient", "shortnotice.patient", show=False),  # named on the line under the list
        key("r", "refresh", "live.refresh", show=False),  # named on the «Oppdatert …» line
    ]

    def __init__(self, timebook_id: str | None = None) -> None:
        super().__init__()
        self.timebook_id = timebook_id  # None: every timebook of the office
        self.timebooks: list[Timebook] = []
        self.wishes: list[ShortNoticeWish] = []
        self.rows: list[ShortNoticeWish] = []

    def rebuilt(self) -> ShortNoticeScreen:
        return ShortNoticeScreen(self.timebook_id)

    def compose_body(self) -> ComposeResult:
        yield Static(t("shortnotice.loading"), id="sn-heading", classes="section")
        yield DataTable(id="sn-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="sn-details")
        yield Static(t("shortnotice.keys"), id="sn-keys", classes="hint")
        yield self.updated_line()

    def on_mount(self) -> None:
        table = self.query_one("#sn-table", DataTable)
        table.add_columns(*(t(f"shortnotice.col_{c}") for c in ("number", "patient", "type", "period", "state")))
        table.focus()
        self.reload()
        self.start_polling()

    def on_screen_resume(self) -> None:
        self.reload(quiet=True)

    @property
    def timebook(self) -> Timebook | None:
        return next((b for b in self.timebooks if b.id == self.timebook_id), None)

    def timebook_of(self, wish: ShortNoticeWish) -> Timebook | None:
        return next((b for b in self.timebooks if b.service_id == wish.service_id and b.place.id == wish.place_id), None)

    def reload(self, quiet: bool = False) -> None:
        self._fetch(quiet)

    @work(exclusive=True)
    async def _fetch(self, quiet: bool) -> None:
        office = self.signed_in.office
        try:
            if not self.timebooks and office is not None:
                self.timebooks = await self.client.office_timebooks(office.id)
            wishes = await self.client.wishes(named=True)
        except BookingError as error:
            self.fetch_failed(error, quiet=quiet)
            return
        if wishes is not self.wishes:  # a poll answered 304 (the very same list) leaves the table as it is
            self.wishes = wishes
            self._show()
        self.fetched()

    def _show(self) -> None:
        table = self.query_one("#sn-table", DataTable)
        focused = self.rows[table.cursor_row].id if self.rows and table.cursor_row < len(self.rows) else None
        book = self.timebook
        self.rows = [w for w in self.wishes if book is None or (w.service_id, w.place_id) == (book.service_id, book.place.id)]
        hidden = self.timebok.hide_names
        table.clear()
        table.add_rows(
            (
                Text(str(number)),
                Text(cut(shown_name(w.patient, w.patient_id, hidden=hidden), 18)),
                Text.assemble(type_mark(w.time_type_code), " ", cut(time_type_name(w.time_type_code), 13)),
                Text(period_text(w.period_start, w.period_end)),
                Text(wish_state(w, short=True), style="bold" if w.offered else ""),
            )
            for number, w in enumerate(self.rows, 1)
        )
        if focused is not None:
            index = next((i for i, w in enumerate(self.rows) if w.id == focused), None)
            if index is not None:
                table.move_cursor(row=index)  # a poll keeps the highlight on the same wish
        scope = timebook_name(book) if book is not None else t("today.all_timebooks")
        offered = sum(1 for w in self.rows if w.offered)
        heading = f"{scope} · {tn('shortnotice.count', len(self.rows))}"
        self.query_one("#sn-heading", Static).update(
            heading + (" " + tn("shortnotice.count_offered", offered) if offered else "")
        )
        self._details()

    @on(DataTable.RowHighlighted, "#sn-table")
    def _details(self) -> None:
        details = self.query_one("#sn-details", Static)
        wish = self.chosen()
        if wish is None:
            details.update(t("shortnotice.empty"))
            return
        book = self.timebook_of(wish)
        place = book.place.name if book is not None else (wish.place.name if wish.place else "")
        lines = [
            t(
                "shortnotice.detail",
                type=time_type_name(wish.time_type_code),
                place=place,
                start=when(wish.period_start),
                end=period_end(wish.period_end),
            )
        ]
        if wish.created is not None:
            lines[0] += " · " + t("shortnotice.since", when=short_when(wish.created))
        if wish.offered_start is not None and wish.offered_until is not None:
            lines.append(t("shortnotice.offered_line", when=when(wish.offered_start), until=clock_time(wish.offered_until)))
        elif wish.replaces_id is not None:
            lines.append(t("shortnotice.replaces"))
        details.update("\n".join(lines))

    def names_changed(self) -> None:
        super().names_changed()
        if self.is_mounted:
            self._show()

    def chosen(self) -> ShortNoticeWish | None:
        table = self.query_one("#sn-table", DataTable)
        return self.rows[table.cursor_row] if self.rows and table.cursor_row < len(self.rows) else None

    def action_scope(self) -> None:
        """All timebooks → each timebook in turn → all again."""
        ids: list[str | None] = [None, *(b.id for b in self.timebooks)]
        self.timebook_id = ids[(ids.index(self.timebook_id) + 1) % len(ids)] if self.timebook_id in ids else None
        self._show()

    def action_patient(self) -> None:
        wish = self.chosen()
        if wish is None or wish.patient is None:
            return
        from timebok.screens.patient_page import PatientScreen

        self.open_next(PatientScreen(wish.patient))

    @on(DataTable.RowSelected, "#sn-table")
    def _selected(self) -> None:
        self.action_patient()

    def action_offer(self) -> None:
        """T «Tilby ledig time»: the free times of the wish's timebook in its period; the one chosen is held for the
        patient and offered by inbox, e-mail and SMS."""
        wish = self.chosen()
        if wish is None:
            self.app.notify(t("shortnotice.pick"), severity="warning")
            return
        if wish.offered:
            self.app.notify(t("shortnotice.already_offered"), severity="warning")
            return
        self._offer_times(wish)

    def action_withdraw(self) -> None:
        """X «Fjern fra listen»: the patient asked to come off the list (on the phone, at the desk), after a yes; a time
        offered to them goes to the next in line."""
        wish = self.chosen()
        if wish is None:
            self.app.notify(t("shortnotice.pick"), severity="warning")
            return
        name = shown_name(wish.patient, wish.patient_id, hidden=self.timebok.hide_names)
        asked = "shortnotice.withdraw_question_offer" if wish.offered else "shortnotice.withdraw_question"
        question = t(asked, patient=name, type=time_type_name(wish.time_type_code))

        def answered(sure: bool | None) -> None:
            if sure:
                self._withdraw(wish, name)

        self.app.push_screen(ConfirmDialog(question, t("shortnotice.withdraw_yes")), answered)

    @work(exclusive=True, group="withdraw")
    async def _withdraw(self, wish: ShortNoticeWish, name: str) -> None:
        try:
            await self.client.withdraw_wish(wish)
        except BookingError as error:
            self.timebok.report(error)
        else:
            self.app.notify(t("shortnotice.withdrawn", patient=name), timeout=8)
        self.reload(quiet=True)

    @work(exclusive=True, group="offer-times")
    async def _offer_times(self, wish: ShortNoticeWish) -> None:
        book = self.timebook_of(wish)
        if book is None:
            self.app.notify(t("shortnotice.no_timebook"), severity="warning")
            return
        start = max(now(), wish.period_start)
        try:
            slots = await self.client.free_between(book.id, start, wish.period_end)
            outside = not slots
            if outside:  # none left in the period: the week after it, which the desk may still offer
                slots = await self.client.free_between(book.id, start, max(wish.period_end, start) + timedelta(days=EXTRA_DAYS))
        except BookingError as error:
            self.timebok.report(error)
            return
        if wish.replaces_id is not None:
            slots = [s for s in slots if s.start < wish.period_end]  # never a time as late as the one they hold
        name = shown_name(wish.patient, wish.patient_id, hidden=self.timebok.hide_names)

        def chosen(slot: Slot | None) -> None:
            if slot is not None:
                self._offer(wish, slot)

        self.app.push_screen(OfferDialog(name, timebook_name(book), _unique(slots), outside=outside), chosen)

    @work(exclusive=True, group="offer")
    async def _offer(self, wish: ShortNoticeWish, slot: Slot) -> None:
        try:
            hold = await self.client.offer_time(wish, slot)
        except BookingError as error:
            if error.kind in (ErrorKind.SLOT_TAKEN, ErrorKind.SLOT_HELD):
                self.app.notify(t("shortnotice.taken"), severity="warning", timeout=8)
            else:
                self.timebok.report(error)
            self.reload(quiet=True)
            return
        until = hold.hold_expires or slot.start
        self.app.notify(t("shortnotice.offered_now", when=when(slot.start), until=clock_time(until)), timeout=8)
        self.reload(quiet=True)


def _unique(slots: list[Slot]) -> list[Slot]:
    """One row per time: parallel seats of the same start are offered as one (the first seat)."""
    seen: set[datetime] = set()
    found = []
    for slot in sorted(slots, key=lambda s: (s.start, s.id)):
        if slot.start not in seen:
            seen.add(slot.start)
            found.append(slot)
    return found
