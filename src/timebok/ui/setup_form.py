"""A form that changes the timebook setup: typed values are kept on every error; a preview comes before saving."""

from __future__ import annotations

import copy
from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input

from timebok.client.errors import BookingError, ErrorKind
from timebok.client.models import OfficeSetup, SetupChange
from timebok.ui.contract import UsesApp
from timebok.ui.i18n import t, tn
from timebok.ui.keys import dialog_keys, key
from timebok.ui.labels import time_type_name
from timebok.ui.setup_text import FormProblem, affected_lines, day_runs, example_date, problem_for
from timebok.ui.widgets.footer import TimebokFooter
from timebok.ui.widgets.plain import Label, Static
from timebok.ui.workers import AwaitsItsWrite, StopsWorkersFirst

# (field id, label text id, initial value)
Field = tuple[str, str, str]
Apply = Callable[[dict[str, str], OfficeSetup], None]  # reads the typed values into a copy of the setup
FieldsOf = Callable[[OfficeSetup], list[Field]]  # the fields as a setup fetched anew fills them
Describe = Callable[[dict[str, str]], str]  # the change in words, above its preview («Stenger 15.12.2026 for …»)


class SetupForm(AwaitsItsWrite, StopsWorkersFirst, UsesApp, ModalScreen[SetupChange | None]):
    """Answers with the saved change, or None when the user leaves without saving."""

    BINDINGS = [
        key("escape", "cancel", "setup.cancel"),
        key("ctrl+s", "preview", "setup.preview_key"),
        key("ctrl+r", "try_again", "setup.try_again", show=False),
        *dialog_keys(),
    ]

    def __init__(
        self,
        title: str,
        setup: OfficeSetup,
        fields: list[Field],
        apply: Apply,
        intro: str = "",
        fields_of: FieldsOf | None = None,
        describe: Describe | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.setup = setup
        self.fields = fields
        self.apply = apply
        self.intro = intro
        # For a form that edits values already saved (the weekly pattern): after «Hent på nytt», the fields the
        # user did not touch show the values saved now, or the next save would put the old ones back.
        self.fields_of = fields_of
        self.describe = describe

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="setup-form"):
            yield Static(self.title_text, classes="section")
            if self.intro:
                yield Static(self.intro, classes="hint")
            with VerticalScroll(id="setup-fields"):
                for field_id, label, value in self.fields:
                    with Horizontal(classes="setup-row"):
                        yield Label(t(label), classes="setup-label")
                        yield Input(value=value, id=f"field-{field_id}")
            yield Static("", id="setup-message")
            with Horizontal(id="dialog-buttons"):
                yield Button(t("setup.preview"), id="preview", variant="primary")
                reload = Button(t("setup.reload"), id="reload")
                reload.display = False  # shown only when another desk changed the setup
                yield reload
                yield Button(t("setup.cancel"), id="cancel")
        yield TimebokFooter()  # the form's own keys (Ctrl+S «Forhåndsvis», Esc «Avbryt»), not the screen's below

    first_field: str | None = None  # the field to start in, when not the first

    reloaded = False  # True once the setup was fetched anew here (the screen below then shows it too)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("preview", "cancel", "try_again") and self.writing:
            return None  # greyed out while «Lagrer …» says why
        return super().check_action(action, parameters)

    def _show_saving(self, saving: bool) -> None:
        self.writing = saving
        for button in self.query("#dialog-buttons Button"):
            button.disabled = saving
        self.refresh_bindings()

    def on_mount(self) -> None:
        if self.first_field and self.query(f"#field-{self.first_field}"):
            self.query_one(f"#field-{self.first_field}", Input).focus()
        else:
            self.query(Input).first().focus()

    def values(self) -> dict[str, str]:
        return {field_id: self.query_one(f"#field-{field_id}", Input).value for field_id, _, _ in self.fields}

    def _say(self, text: str, field: str | None = None, *, problem: bool = False) -> None:
        """A line under the fields: red for a problem; in plain colours for progress and for «fetched anew»."""
        message = self.query_one("#setup-message", Static)
        message.update(text)
        message.set_class(problem, "error")
        for box in self.query(Input):
            box.remove_class("-invalid")
        if field is not None and self.query(f"#field-{field}"):
            self.query_one(f"#field-{field}", Input).add_class("-invalid").focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        boxes = list(self.query(Input))
        index = boxes.index(event.input)
        if index + 1 < len(boxes):
            boxes[index + 1].focus()  # Enter moves on; on the last field it previews
        else:
            self.action_preview()

    @on(Button.Pressed, "#preview")
    def action_preview(self) -> None:
        if self.writing:  # Enter on the last field while a save is on its way
            return
        document = copy.deepcopy(self.setup)
        try:
            self.apply(self.values(), document)
        except FormProblem as problem:
            self._say(t(problem.text_id, **problem.fields), problem.field, problem=True)
            return
        self._send(document, self.describe(self.values()) if self.describe else "")

    @work(exclusive=True, group="setup-send")
    async def _send(self, document: OfficeSetup, what: str = "") -> None:
        self._say(t("setup.previewing"))
        try:
            change = await self.client.change_setup(document, preview=True)
        except BookingError as error:
            self._refused(error)
            return
        self._say("")

        def answered(save: bool | None) -> None:
            if save:
                self._save(document)

        self.app.push_screen(PreviewDialog(change, what), answered)

    def _refused(self, error: BookingError) -> None:
        if error.kind is ErrorKind.STALE:  # another desk saved meanwhile: keep what was typed, offer the new setup
            self._say(t("setup.stale"), problem=True)
            reload = self.query_one("#reload", Button)
            reload.display = True
            reload.focus()
            return
        found = problem_for(error.field) if error.kind is ErrorKind.INVALID else None
        if found is not None:
            field, text_id = found
            self._say(
                t(text_id, example=example_date()), field if any(f[0] == field for f in self.fields) else None, problem=True
            )
        else:
            from timebok.ui.problems import full_text

            self._say(full_text(error, typed=True), problem=True)

    @work(exclusive=True, group="setup-send")
    async def _save(self, document: OfficeSetup) -> None:
        self._say(t("setup.saving"))
        self._show_saving(True)
        try:
            change = await self.client.change_setup(document)
        except BookingError as error:
            self._show_saving(False)
            self._refused(error)
            return
        self.dismiss(change)

    @on(Button.Pressed, "#reload")
    @work(exclusive=True, group="setup-send")
    async def reload(self) -> None:
        """Fetch the setup as it is now (Ctrl+R, or the button); the typed values stay and go onto it at the next preview."""
        self._say(t("setup.reloading"))
        try:
            self.setup = await self.client.office_setup(self.setup.office_id)
        except BookingError as error:
            self._refused(error)
            return
        self.reloaded = True
        if self.fields_of is not None:
            self._take_untouched(self.fields_of(self.setup))
        self.query_one("#reload", Button).display = False
        self._say(t("setup.reloaded"))
        self.query(Input).first().focus()

    def _take_untouched(self, fresh: list[Field]) -> None:
        """Fields still as the form opened with them show the setup as saved now; typed ones stay as typed."""
        now = {field_id: value for field_id, _, value in fresh}
        fields = []
        for field_id, label, opened_with in self.fields:
            saved = now.get(field_id, opened_with)
            box = self.query_one(f"#field-{field_id}", Input)
            if box.value == opened_with:
                box.value = saved
            fields.append((field_id, label, saved))
        self.fields = fields

    def action_try_again(self) -> None:
        """Ctrl+R, as the messages say: fetch the setup anew after another desk's change, else send the preview again."""
        if self.query_one("#reload", Button).display:
            self.reload()
        else:
            self.action_preview()

    def unsaved(self) -> bool:
        """Whether anything was typed that is not saved: leaving then asks first."""
        return any(self.query_one(f"#field-{field_id}", Input).value != opened_with for field_id, _, opened_with in self.fields)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if self.writing:
            return
        if not self.unsaved():
            self.dismiss(None)
            return
        from timebok.ui.confirm_dialog import ConfirmDialog

        # Esc after typing a week's hours must not lose them without a word: asked, with «Nei» (keep) the default.
        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmDialog(t("setup.discard_question"), t("setup.discard_yes")), answered)


def change_lines(change: SetupChange) -> list[str]:
    """Per timebook: its name, the free times added and removed and on which dates, then the bookings it hits
    there by time and patient. From a backend that gives only the totals: those, and the bookings."""
    if not change.changes and not change.affected and not (change.created or change.removed):
        return [t("setup.nothing_changes")]  # a public holiday's closure removed, say: nothing to publish
    if not change.changes:
        lines = [tn("setup.creates", change.created), tn("setup.removes", change.removed)]
        if change.affected:
            lines += ["", tn("setup.affected", len(change.affected))]
            lines += [f"  {line}" for line in affected_lines(change)]
            lines += [t("setup.affected_hint")]
        return lines
    # Several timebooks: the totals first. Each timebook is named with its time type, as on the setup screen.
    lines = [tn("setup.creates", change.created), tn("setup.removes", change.removed), ""] if len(change.changes) > 1 else []
    types = {b.id: b.type for b in change.setup.timebooks if b.id}
    new_types = {b.name: b.type for b in change.setup.timebooks if not b.id}  # a new timebook has no id yet
    shown: set[str] = set()
    for item in change.changes:
        counts = [tn("setup.change_created", item.created)] if item.created else []
        counts += [tn("setup.change_removed", item.removed)] if item.removed else []
        days = day_runs(item.days)
        if item.more_days:
            days += " " + tn("setup.change_more_days", item.more_days)
        code = types.get(item.timebook_id) if item.timebook_id else new_types.get(item.name)
        # «Koronatest · Koronatest drive-in», but not «Laboratoriet · Laboratoriet»: the type only where the name lacks it.
        name = (
            f"{time_type_name(code)} · {item.name}"
            if code and time_type_name(code).casefold() not in item.name.casefold()
            else item.name
        )
        lines.append(
            t("setup.change_row", timebook=name, counts=", ".join(counts) or t("setup.change_none"))
            + (f": {days}" if days else "")
        )
        hit = [a for a in change.affected if a.timebook_id == item.timebook_id]
        if hit:
            shown.add(item.timebook_id)
            lines.append("  " + tn("setup.affected", len(hit)))
            lines += [f"    {line}" for line in affected_lines(change, hit)]
    rest = [a for a in change.affected if a.timebook_id not in shown]
    if rest:  # in a timebook the answer did not list: named by the timebook the backend gave, if any
        lines += ["", tn("setup.affected", len(rest))]
        lines += [
            f"  {line}" + (f" · {a.timebook_name}" if a.timebook_name else "")
            for line, a in zip(affected_lines(change, rest), rest, strict=True)
        ]
    if not lines:
        lines = [t("setup.nothing_changes")]
    if change.affected:
        lines.append(t("setup.affected_hint"))
    return lines


class PreviewDialog(ModalScreen[bool]):
    """What a change will do before it is saved: per timebook the free times created and removed, and on which
    dates, and the appointments it hits."""

    BINDINGS = [key("escape", "edit", "setup.edit_more"), key("l", "save", "setup.save"), *dialog_keys()]

    def __init__(self, change: SetupChange, what: str = "") -> None:
        super().__init__()
        self.change = change
        self.what = what  # the change itself in words, for a removal that has no form («Fjerner stengt dag …»)

    def compose(self) -> ComposeResult:
        lines = ([self.what, ""] if self.what else []) + change_lines(self.change)
        with Vertical(id="dialog", classes="setup-preview"):
            yield Static(t("setup.preview_title"), classes="section")
            with VerticalScroll(id="preview-scroll"):  # a change to many timebooks scrolls; the buttons stay
                yield Static("\n".join(lines), id="preview-text")
            with Horizontal(id="dialog-buttons"):
                yield Button(t("setup.save"), id="save", variant="primary")
                yield Button(t("setup.edit_more"), id="edit")
        yield TimebokFooter()

    def on_mount(self) -> None:
        self.query_one("#save", Button).focus()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#edit")
    def action_edit(self) -> None:
        self.dismiss(False)
