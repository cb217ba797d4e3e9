"""Step 3: choose the attendance place, shown only when the time type has more than one timebook."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Button
from textual.widgets.option_list import Option

from timebok.client.errors import BookingError
from timebok.screens.base import BookingStep
from timebok.ui.draft import BookingDraft, chosen
from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.labels import place_lines
from timebok.ui.widgets.load_state import LoadState
from timebok.ui.widgets.plain import OptionList, Static


class PlaceScreen(BookingStep):
    STEP = 3
    TITLE_KEY = "place.title"
    BINDINGS = [key("ctrl+g", "next", "flow.next")]

    def __init__(self, draft: BookingDraft) -> None:
        super().__init__(draft)
        self.time_type = chosen(draft.time_type, "time type")  # whose timebooks' places are offered

    def compose_body(self) -> ComposeResult:
        yield Static(self.say("place.intro"), classes="hint")
        yield LoadState(id="places-status")
        yield OptionList(id="places")
        yield Button(t("flow.next"), id="next", variant="primary")

    def on_mount(self) -> None:
        self._show()

    def _show(self) -> None:
        self.query_one(LoadState).loaded()
        draft = self.draft
        options = self.query_one("#places", OptionList)
        options.clear_options()
        # Two timebooks at one place (an office's own setup may make them): the timebook's name tells them apart.
        shared = {b.place.id for b in draft.timebooks if sum(o.place.id == b.place.id for o in draft.timebooks) > 1}
        options.add_options(
            [
                Option((f"{book.name}\n" if book.place.id in shared else "") + place_lines(book.place) + "\n", id=book.id)
                for book in draft.timebooks
            ]
        )
        index = next((i for i, b in enumerate(draft.timebooks) if draft.timebook and b.id == draft.timebook.id), 0)
        options.highlighted = index if draft.timebooks else None
        options.focus()

    def reload(self) -> None:
        self._fetch()

    @work(exclusive=True)
    async def _fetch(self) -> None:
        draft = self.draft
        self.query_one(LoadState).busy()
        try:
            draft.timebooks = await self.client.timebooks(self.time_type.id)
        except BookingError as error:
            self.query_one(LoadState).failed(error)
            return
        self._show()

    @on(OptionList.OptionSelected, "#places")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.action_next()

    @on(Button.Pressed, "#next")
    def action_next(self) -> None:
        options = self.query_one("#places", OptionList)
        if options.highlighted is None:
            self.app.bell()
            return
        from timebok.screens.calendar import CalendarScreen

        self.draft.choose_timebook(self.draft.timebooks[options.highlighted])
        self.open_next(CalendarScreen(self.draft))
