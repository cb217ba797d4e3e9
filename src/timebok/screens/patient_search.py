"""The front desk's first step: find the patient by fødselsnummer, D-nummer or name, then book on their behalf."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.widgets import Input
from textual.widgets.option_list import Option

from timebok.client.errors import BookingError
from timebok.client.models import Patient
from timebok.domain.identity import IdProblem, InvalidIdentityNumber, check_partial, parse_identity_number
from timebok.domain.privacy import initials
from timebok.screens.base import FlowScreen
from timebok.ui.i18n import short_date, t
from timebok.ui.keys import key
from timebok.ui.widgets.plain import Label, OptionList, Static


def digits_of(typed: str) -> str:
    """The digits of a number as typed or pasted with its separators («148385-12470», «148385 12470»)."""
    return "".join(ch for ch in typed if ch.isdigit())


def name_query(typed: str) -> str:
    """A name as the list shows it («Nordmann, Kari») finds what «Nordmann Kari» does."""
    return " ".join(typed.replace(",", " ").split())


def identity_message(problem: IdProblem, typed: str) -> str:
    """What is wrong with a typed number, in words that say how to fix it."""
    return t(f"id.{problem.value}", count=len(digits_of(typed)))


# Keys that edit the query; typed while the list of patients found has focus, they edit the field (never lost).
EDIT_KEYS = ("backspace", "delete", "ctrl+u")
# Keys that move the text cursor: on the list they take the user back into the field, the text as typed and editable
# (issue 26: after a name search the typed name could only be wiped, not corrected).
CURSOR_KEYS = ("left", "right", "home", "end")


def looks_like_number(text: str) -> bool:
    # Any digit means the user is typing a number; a name has none.
    return any(ch.isdigit() for ch in text)


class PatientList(OptionList):
    """The patients found. A key that edits text, or a paste, is handed to `types_into` at once, as it arrives:
    keys typed fast are queued here before the first is handled, and a message would reach the screen after an
    Enter queued behind them (which would then take the old patient)."""

    def __init__(self, types_into: Callable[[str, str], None], **options: Any) -> None:
        super().__init__(**options)
        self._types_into = types_into

    def on_key(self, event: events.Key) -> None:
        if event.key in CURSOR_KEYS:
            event.stop()
            event.prevent_default()
            self._types_into(event.key, "")
        elif event.is_printable or event.key in EDIT_KEYS:
            event.stop()
            event.prevent_default()
            self._types_into(event.key, event.character or "")

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        if event.text:
            self._types_into("paste", event.text)


class PatientSearchScreen(FlowScreen):
    TITLE_KEY = "patient.title"
    KEYS_IN_PALETTE = True
    # F2: a letter would be typed into the field. From a typed number: F2, and the patient's page is open.
    BINDINGS = [key("f2", "patient_page", "patient.open_page")]

    def compose_body(self) -> ComposeResult:
        yield Label(t("patient.label"))
        # Coming back to the field (Tab, ↑) must not select its text: the next key would wipe it.
        yield Input(placeholder=t("patient.placeholder"), id="patient-query", max_length=60, select_on_focus=False)
        yield Static(t("patient.hint_number"), id="patient-message", classes="hint")
        yield PatientList(self._edit_query, id="patients")

    carried: tuple[list[Patient], str] | None = None  # after a language switch: the patients found, and for what

    def rebuilt(self) -> PatientSearchScreen:
        again = PatientSearchScreen()
        again.carried = (self.found, self._found_for)
        return again

    def on_mount(self) -> None:
        self.found: list[Patient] = []
        self._found_for = ""  # the text the list shown was found for
        self.query_one("#patients").display = False
        self.query_one("#patient-query", Input).focus()
        if self.carried and self.carried[0]:
            found, found_for = self.carried
            self.query_one("#patient-query", Input).value = found_for
            self._show(found)
            self._found_for = found_for
            self._say(t("patient.found" if looks_like_number(found_for) else "patient.found_name"))

    @property
    def _input(self) -> Input:
        return self.query_one("#patient-query", Input)

    @property
    def _options(self) -> OptionList:
        return self.query_one("#patients", OptionList)

    def _results_current(self) -> bool:
        """Whether the patients listed were found for exactly what the field says now: only then may Enter take one."""
        return bool(self.found) and self._input.value == self._found_for

    def _drop_stale_results(self) -> None:
        # At once, not when Input.Changed arrives: an Enter already queued behind the key must find no old patient.
        if self.found and not self._results_current():
            self._show([])

    def _say(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#patient-message", Static)
        message.update(text)  # a plain Static: the message may quote what was typed, brackets and all
        message.set_class(error, "error")
        self._input.set_class(error, "-invalid")

    @on(Input.Changed, "#patient-query")
    def _typed(self, event: Input.Changed) -> None:
        text = event.value
        if self._results_current():
            return  # the text the list was found for, set again (a language switch): the list stands
        self._show([])
        if not looks_like_number(text):
            self._say(t("patient.hint_name") if text.strip() else t("patient.hint_number"))
            return
        # The backend decides whether synthetic (test) numbers are allowed; here only the shape is judged.
        problem = check_partial(text, allow_synthetic=True)
        if problem is not None:
            self._say(identity_message(problem, text), error=True)
        elif len(digits_of(text)) == 11:
            self.search(text, identifier=digits_of(text))  # valid: look the patient up at once
        else:
            self._say(t("patient.hint_number"))

    @on(Input.Submitted, "#patient-query")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if self._results_current():
            # The number was looked up as it was typed (focus never moved), or the field was gone back to from the
            # list: Enter takes the patient highlighted, the one a look at the list says Enter takes.
            self.timebok.start_booking(self.found[self._options.highlighted or 0])
            return
        if looks_like_number(text) or not text:
            try:
                number = parse_identity_number(text, allow_synthetic=True)
            except InvalidIdentityNumber as error:
                self._say(identity_message(error.problem, text), error=True)
                return
            self.search(event.value, identifier=number.value)
        elif len(name_query(text).replace(" ", "")) < 2:
            self._say(t("patient.name_too_short"), error=True)
        else:
            self.search(event.value, name=name_query(text))

    @work(exclusive=True)
    async def search(self, typed: str, *, identifier: str | None = None, name: str | None = None) -> None:
        """Look up the patient for `typed`, the field's text the search was started for: by the time the worker
        runs, fast typing (or a scanner) may have added more, and an answer for older text is never shown."""
        if self._input.value != typed:
            return
        self._say(t("patient.searching"))
        try:
            found = await self.client.find_patients(identifier=identifier, name=name)
        except BookingError as error:
            self._say(self.timebok.describe(error), error=True)
            self.timebok.report(error)  # what was typed stays in the field
            return
        if self._input.value != typed:
            return  # the user typed on while we asked; that answer is stale
        office = self.timebok.user.office.name if self.timebok.user and self.timebok.user.office else ""
        if not found:
            none = t("patient.none_number", office=office) if identifier else t("patient.none_name", name=name, office=office)
            self._say(none, error=True)
            return
        self._say(t("patient.found_name" if name is not None else "patient.found"))
        self._show(found)
        self._found_for = typed
        if name is not None:
            self._options.focus()
        # Found by number: focus stays in the field, so a 12th digit typed is seen (and judged), not lost.

    def names_changed(self) -> None:
        super().names_changed()
        if self.is_mounted and self.found:
            self._show(self.found, keep=True)

    def _show(self, patients: list[Patient], *, keep: bool = False) -> None:
        self.found = patients
        if not patients:
            self._found_for = ""
        options = self.query_one("#patients", OptionList)
        hidden = self.timebok.hide_names  # «Skjul navn»: initials; the birth date beside them tells patients apart
        highlighted = options.highlighted
        options.clear_options()
        options.add_options(
            [
                Option(
                    t(
                        "patient.row",
                        name=initials(p.given, p.family, None) if hidden else f"{p.family}, {p.given}",
                        born=short_date(p.birth_date) if p.birth_date else "",
                        number=t("patient.d_number", number=p.masked_number) if p.has_d_number else p.masked_number,
                    )
                )
                for p in patients
            ]
        )
        options.display = bool(patients)
        options.highlighted = (
            (highlighted if keep and highlighted is not None and highlighted < len(patients) else 0) if patients else None
        )
        self.refresh_bindings()  # F2 «Pasientside» is there while a patient is

    @on(OptionList.OptionSelected, "#patients")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if not self._results_current():
            return  # the field names someone else now; the list is on its way out
        self.timebok.start_booking(self.found[event.option_index])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "patient_page":
            return True if self.found else None  # greyed out until a patient is found
        return True

    def action_patient_page(self) -> None:
        """The highlighted patient's page («Pasient»), only while the list answers exactly what the field says."""
        if not self._results_current():
            return
        from timebok.screens.patient_page import PatientScreen

        self.open_next(PatientScreen(self.found[self._options.highlighted or 0]))

    def _edit_query(self, key: str, text: str) -> None:
        """A key (or a paste) that reached the list goes to the field: nothing typed is lost, and the list never
        outlives the query it answers. The field shows what the list was found for, so text typed starts a new
        search (the next patient's number, typed straight away, is found); Backspace takes off the last
        character; Delete and Ctrl+U clear the field."""
        field = self._input
        if key in CURSOR_KEYS:
            # Back into the field with the text unchanged (the list stays: it still answers what the field says).
            field.cursor_position = {"left": max(len(field.value) - 1, 0), "home": 0}.get(key, len(field.value))
            self.set_focus(field)
            return
        field.cursor_position = len(field.value)
        text = text.splitlines()[0] if key == "paste" else text  # one line, as the field takes a paste
        if key == "backspace":
            field.action_delete_left()
        elif key in EDIT_KEYS:
            field.action_delete_left_all()
        elif self._results_current():
            field.replace(text, 0, len(field.value))
        else:
            field.insert_text_at_cursor(text)  # the list was dropped already: keys typed fast add up
        self._drop_stale_results()
        self.set_focus(field)  # at once, not after a refresh: the keys that follow go to the field themselves

    def on_key(self, event: events.Key) -> None:
        options = self._options
        # ↑ on the first result goes back up to the field, with the text as typed (not selected).
        if event.key == "up" and self.focused is options and options.highlighted in (0, None):
            self._input.focus()
            event.stop()
        elif event.key == "down" and self.focused is self._input and self.found:
            options.focus()
            event.stop()
