"""The front desk's first step: find the patient by fødselsnummer, D-nummer or name, then book on their behalf."""

from __future__ import annotations

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from client.errors import BookingError
from client.models import Patient
from domain.identity import IdProblem, InvalidIdentityNumber, check_partial, parse_identity_number
from screens.base import FlowScreen
from tui.i18n import short_date, t


def identity_message(problem: IdProblem, typed: str) -> str:
    """What is wrong with a typed number, in words that say how to fix it."""
    digits = "".join(typed.split())
    return t(f"id.{problem.value}", count=len(digits))


def looks_like_number(text: str) -> bool:
    # Any digit means the user is typing a number; a name has none.
    return any(ch.isdigit() for ch in text)


class PatientSearchScreen(FlowScreen):
    TITLE_KEY = "patient.title"

    def compose_body(self) -> ComposeResult:
        yield Label(t("patient.label"))
        yield Input(placeholder=t("patient.placeholder"), id="patient-query", max_length=60)
        yield Static(t("patient.hint_number"), id="patient-message", classes="hint")
        yield OptionList(id="patients")

    def on_mount(self) -> None:
        self.found: list[Patient] = []
        self.query_one("#patients").display = False
        self.query_one("#patient-query", Input).focus()

    @property
    def _input(self) -> Input:
        return self.query_one("#patient-query", Input)

    def _say(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#patient-message", Static)
        message.update(escape(text))  # the message may quote what was typed
        message.set_class(error, "error")
        self._input.set_class(error, "-invalid")

    @on(Input.Changed, "#patient-query")
    def _typed(self, event: Input.Changed) -> None:
        text = event.value
        self._show([])
        if not looks_like_number(text):
            self._say(t("patient.hint_name") if text.strip() else t("patient.hint_number"))
            return
        # The backend decides whether synthetic (test) numbers are allowed; here only the shape is judged.
        problem = check_partial(text, allow_synthetic=True)
        if problem is not None:
            self._say(identity_message(problem, text), error=True)
        elif len("".join(text.split())) == 11:
            self.search(identifier="".join(text.split()))  # valid: look the patient up at once
        else:
            self._say(t("patient.hint_number"))

    @on(Input.Submitted, "#patient-query")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if looks_like_number(text) or not text:
            try:
                number = parse_identity_number(text, allow_synthetic=True)
            except InvalidIdentityNumber as error:
                self._say(identity_message(error.problem, text), error=True)
                return
            self.search(identifier=number.value)
        elif len(text.replace(" ", "")) < 2:
            self._say(t("patient.name_too_short"), error=True)
        else:
            self.search(name=text)

    @work(exclusive=True)
    async def search(self, *, identifier: str | None = None, name: str | None = None) -> None:
        typed = self._input.value
        self._say(t("patient.searching"))
        try:
            found = await self.app.client.find_patients(identifier=identifier, name=name)
        except BookingError as error:
            self._say(self.app.describe(error), error=True)
            self.app.report(error)  # what was typed stays in the field
            return
        if self._input.value != typed:
            return  # the user typed on while we asked; that answer is stale
        office = self.app.user.office.name if self.app.user and self.app.user.office else ""
        if not found:
            none = t("patient.none_number", office=office) if identifier else t("patient.none_name", name=name, office=office)
            self._say(none, error=True)
            return
        self._say(t("patient.found"))
        self._show(found)
        self.query_one("#patients", OptionList).focus()

    def _show(self, patients: list[Patient]) -> None:
        self.found = patients
        options = self.query_one("#patients", OptionList)
        options.clear_options()
        options.add_options([
            Option(t("patient.row", name=f"{p.family}, {p.given}",
                     born=short_date(p.birth_date) if p.birth_date else "", number=p.masked_number))
            for p in patients
        ])
        options.display = bool(patients)
        options.highlighted = 0 if patients else None

    @on(OptionList.OptionSelected, "#patients")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.app.start_booking(self.found[event.option_index])

    def action_back(self) -> None:
        # From the results, Esc goes back to the field (with the number kept); from the field, home.
        if self.focused is self.query_one("#patients"):
            self._input.focus()
        else:
            super().action_back()
