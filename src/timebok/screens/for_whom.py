"""Step 1 when a citizen may act for someone: «Bestill for: Meg selv / Emma Lie (8 år) / …»."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button
from textual.widgets.option_list import Option

from timebok.client.models import Patient, Represented
from timebok.domain.clock import OSLO, now
from timebok.domain.representation import age
from timebok.screens.base import BookingStep
from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.widgets.plain import OptionList, Static


def person_label(person: Represented) -> str:
    """«Emma Lie (8 år)» for a child, «Astrid Solberg (fullmakt)» for someone who gave a fullmakt."""
    if person.relation == "fullmakt" or person.patient.birth_date is None:
        return t("forwhom.fullmakt", name=person.patient.name)
    return t("forwhom.child", name=person.patient.name, age=age(person.patient.birth_date, now().astimezone(OSLO).date()))


class ForWhomScreen(BookingStep):
    """Shown only when the backend says there is someone the citizen may book for; the choice goes into the draft,
    so every later step (and the booking sent) is for that person, not re-derived."""

    STEP = 1
    TITLE_KEY = "forwhom.title"
    BINDINGS = [key("ctrl+g", "next", "flow.next")]

    def compose_body(self) -> ComposeResult:
        user = self.timebok.user
        self.own = user.patient if user is not None else None
        # Only those the backend lets them book for: a 12–16-year-old's times show in «Timeavtaler», but are not booked here.
        self.choices = [p for p in self.timebok.people if p.may_book]
        yield Static(t("forwhom.intro"), classes="hint")
        options = [Option(t("forwhom.me"), id="me")] + [Option(person_label(p), id=f"p{p.patient.id}") for p in self.choices]
        yield OptionList(*options, id="people")
        yield Button(t("flow.next"), id="next", variant="primary")

    def on_mount(self) -> None:
        options = self.query_one("#people", OptionList)
        chosen = self.draft.patient
        index = next((i + 1 for i, p in enumerate(self.choices) if chosen is not None and p.patient.id == chosen.id), 0)
        options.highlighted = index
        options.focus()

    def patient(self) -> Patient | None:
        return None  # nobody is chosen yet: the top line names the user only

    @on(OptionList.OptionSelected, "#people")
    def _chosen(self, _event: OptionList.OptionSelected) -> None:
        self.action_next()

    @on(Button.Pressed, "#next")
    def action_next(self) -> None:
        from timebok.screens.time_type import TimeTypeScreen

        index = self.query_one("#people", OptionList).highlighted or 0
        patient = self.own if index == 0 else self.choices[index - 1].patient
        if self.draft.patient != patient:
            self.draft.choose_patient(patient)
        self.open_next(TimeTypeScreen(self.draft))
