"""«Sett på kort varsel»: the desk puts a patient on a timebook's short-notice list for a period (an earlier time
than one they hold, when started from it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input

from timebok.client.models import Appointment, Timebook
from timebok.domain.clock import OSLO, now, today
from timebok.ui.i18n import t
from timebok.ui.keys import dialog_keys, key
from timebok.ui.labels import time_type_name, when
from timebok.ui.setup_text import FormProblem, parse_date, show_date
from timebok.ui.widgets.footer import TimebokFooter
from timebok.ui.widgets.plain import Label, OptionList, Static

WEEKS_AHEAD = 2  # a wish without a time to beat: the next two weeks, which the desk can change


@dataclass(frozen=True)
class WishChoice:
    timebook: Timebook
    start: datetime
    end: datetime
    replaces: Appointment | None


def timebook_name(book: Timebook) -> str:
    return f"{time_type_name(book.time_type_code)} · {book.place.name}"


class WishDialog(ModalScreen[WishChoice | None]):
    """Answers with the timebook and period chosen, or None when left with Esc."""

    BINDINGS = [key("escape", "cancel", "wish.cancel"), key("ctrl+s", "send", "wish.send"), *dialog_keys()]

    def __init__(self, patient_name: str, timebooks: list[Timebook], replaces: Appointment | None = None) -> None:
        super().__init__()
        self.patient_name = patient_name
        self.timebooks = timebooks
        self.replaces = replaces

    def compose(self) -> ComposeResult:
        r = self.replaces
        with Vertical(id="dialog"):
            yield Static(t("wish.title"), classes="section")
            intro = (
                t("wish.intro_earlier", name=self.patient_name, when=when(r.start))
                if r is not None
                else t("wish.intro", name=self.patient_name)
            )
            yield Static(intro)
            yield OptionList(*(timebook_name(b) for b in self.timebooks), id="wish-timebooks")
            last = r.start.date() if r is not None else today() + timedelta(weeks=WEEKS_AHEAD)
            # The setup forms' one-line rows (screens.tcss): a label and a borderless input.
            with Horizontal(classes="setup-row"):
                yield Label(t("wish.from"), classes="setup-label")
                yield Input(show_date(today()), id="wish-from")
            with Horizontal(classes="setup-row"):
                yield Label(t("wish.to"), classes="setup-label")
                yield Input(show_date(last), id="wish-to")
            yield Static("", id="wish-message")
            with Horizontal(id="dialog-buttons"):
                yield Button(t("wish.send"), id="send", variant="primary")
                yield Button(t("wish.cancel"), id="cancel")
        yield TimebokFooter()

    def on_mount(self) -> None:
        books = self.query_one("#wish-timebooks", OptionList)
        r = self.replaces
        at = next(
            (
                i
                for i, b in enumerate(self.timebooks)
                if r is not None and b.time_type_code == r.time_type_code and b.place.id == r.place_id
            ),
            0,
        )
        if self.timebooks:
            books.highlighted = at
        books.focus()

    def _problem(self, field: str, text_id: str) -> None:
        self.query_one("#wish-message", Static).update(t(text_id))
        self.query_one("#wish-message", Static).add_class("error")
        if field:
            self.query_one(f"#wish-{field}", Input).add_class("-invalid").focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        for box in self.query(Input):
            box.remove_class("-invalid")
        books = self.query_one("#wish-timebooks", OptionList)
        if books.highlighted is None or not self.timebooks:
            self._problem("", "wish.problem.timebook")
            return
        try:
            first = parse_date(self.query_one("#wish-from", Input).value, "from")
            last = parse_date(self.query_one("#wish-to", Input).value, "to")
        except FormProblem as problem:
            self._problem(problem.field, "wish.problem.date")
            return
        start = max(now(), datetime.combine(first, time(0, 0), tzinfo=OSLO))
        end = datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=OSLO)
        if self.replaces is not None and last >= self.replaces.start.date():
            end = min(end, self.replaces.start)  # an earlier time than the one they hold, never the same or later
        if last < first or end <= start:
            self._problem("to", "wish.problem.period")
            return
        self.dismiss(WishChoice(self.timebooks[books.highlighted], start, end, self.replaces))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def period_text(start: datetime, end: datetime) -> str:
    """«07.12–18.12» (or «13.12» for one day): the days of a wished period (the end's day is the last one in it)."""
    first: date = start.astimezone(OSLO).date()
    last: date = (end - timedelta(microseconds=1)).astimezone(OSLO).date()
    return f"{first:%d.%m}" if last == first else f"{first:%d.%m}–{last:%d.%m}"
