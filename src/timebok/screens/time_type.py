"""Step 2: choose the time type («Time til … hos [kontor]») and «Gå videre»."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Button
from textual.widgets.option_list import Option

from timebok.client.errors import BookingError
from timebok.client.models import TimeType
from timebok.screens.base import BookingStep
from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.labels import time_type_label
from timebok.ui.widgets.load_state import LoadState
from timebok.ui.widgets.plain import OptionList, Static


class TimeTypeScreen(BookingStep):
    STEP = 2
    TITLE_KEY = "type.title"
    BINDINGS = [key("ctrl+g", "next", "flow.next")]

    def compose_body(self) -> ComposeResult:
        yield Static(self.say("type.intro"), classes="hint")
        yield LoadState(id="types-status")
        yield OptionList(id="types")
        yield Button(t("flow.next"), id="next", variant="primary")

    def on_mount(self) -> None:
        self.types: list[TimeType] = []
        self._go_on_again = False  # «Gå videre» failed to fetch the places: Ctrl+R tries that again
        self.reload()

    def reload(self) -> None:
        """Ctrl+R: what failed is tried again: going on to the calendar when that failed (it only fetched the types
        again and stayed here), else the types."""
        if self._go_on_again and self.draft.time_type is not None:
            self._go_on(self.draft.time_type)
        else:
            self._load_types()

    @work(exclusive=True)
    async def _load_types(self) -> None:
        options = self.query_one("#types", OptionList)
        status = self.query_one(LoadState)
        status.busy()
        options.display = False
        user = self.timebok.user
        office_id = self._office_id()
        try:
            self.types = await self.client.time_types(office_id)
        except BookingError as error:
            self.types = []
            status.failed(error)
            return
        status.loaded(None if self.types else t("type.none"))
        options.display = bool(self.types)
        office = user.office.name if user and user.office else ""
        options.clear_options()
        options.add_options([Option(time_type_label(tt.code, office), id=tt.id) for tt in self.types])
        draft = self.draft
        pointed = draft.pointed_type_id or (draft.time_type.id if draft.time_type else None)
        index = next((i for i, tt in enumerate(self.types) if tt.id == pointed), 0)
        options.highlighted = index if self.types else None
        options.focus()
        self.restore_view()

    def _office_id(self) -> str:
        """The office whose time types are offered: the front desk's own, else the patient's GP office (a child's or
        a fullmakt giver's own, when a citizen books for them)."""
        user, patient = self.timebok.user, self.draft.patient
        if user is not None and user.office is not None and (user.is_staff or patient is None or not patient.office_id):
            return user.office.id
        return (patient.office_id or "") if patient else ""

    @on(OptionList.OptionHighlighted, "#types")
    def _pointed(self, event: OptionList.OptionHighlighted) -> None:
        self.draft.pointed_type_id = event.option.id

    @on(OptionList.OptionSelected, "#types")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.action_next()

    @on(Button.Pressed, "#next")
    def action_next(self) -> None:
        options = self.query_one("#types", OptionList)
        if options.highlighted is None or not self.types:
            self.app.bell()
            status = self.query_one(LoadState)
            if status.state != "failed":
                status.loaded(t("type.none") if status.state == "loaded" else t("load.wait"))
            return
        time_type = self.types[options.highlighted]
        self.draft.choose_time_type(time_type)
        self._go_on_again = False
        self._go_on(time_type)

    @work(exclusive=True, group="next")
    async def _go_on(self, time_type: TimeType) -> None:
        """On to the place, or (one timebook) the calendar, for `time_type`: the one chosen in the draft."""
        draft = self.draft
        status = self.query_one(LoadState)
        if not draft.timebooks:
            self._go_on_again = False
            if status.state == "failed":
                status.busy()
            try:
                draft.timebooks = await self.client.timebooks(time_type.id)
            except BookingError as error:
                self._go_on_again = True
                status.failed(error)
                return
            status.loaded()
        if not draft.timebooks:
            self.notify(t("type.no_timebooks"), severity="warning")
            return
        if len(draft.timebooks) == 1:
            # The guide's step 3 only appears when there is a place to choose.
            from timebok.screens.calendar import CalendarScreen

            draft.choose_timebook(draft.timebooks[0])
            self.open_next(CalendarScreen(self.draft))
        else:
            from timebok.screens.place import PlaceScreen

            self.open_next(PlaceScreen(self.draft))
