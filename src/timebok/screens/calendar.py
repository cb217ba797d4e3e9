"""Step 4: the month calendar with free dates highlighted, the day's times, and the attendance place."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets.option_list import Option

from timebok.client.errors import BookingError
from timebok.client.models import MonthAvailability, SetupChange, Slot
from timebok.domain.clock import now, today
from timebok.screens.base import BookingStep, Outcome
from timebok.screens.live import POLL_SECONDS
from timebok.ui.draft import BookingDraft, chosen
from timebok.ui.i18n import clock_time, long_date, month_title, t, tn
from timebok.ui.keys import key
from timebok.ui.labels import place_lines, time_type_name
from timebok.ui.widgets.month_calendar import MonthCalendar
from timebok.ui.widgets.plain import OptionList, Static


class CalendarScreen(BookingStep):
    STEP = 4
    TITLE_KEY = "calendar.title"
    # While open, the month is fetched again this often (a 304 when nothing changed), so a time the office removed
    # or another patient took is no longer offered (it was until the month was changed).
    POLL_SECONDS = POLL_SECONDS
    BINDINGS = [
        key("n", "next_free", "calendar.jump_next_free"),
        # Priority: the month keys change the month wherever focus is, never the highlighted time in the list.
        # One footer entry for both month keys, so the footer fits 80 columns.
        key("pageup,less_than_sign", "step_month(-1)", "calendar.change_month", priority=True, key_display="PgUp/Dn"),
        key("pagedown,greater_than_sign", "step_month(1)", "calendar.change_month", priority=True, show=False),
        # Front desk only: close the cursor's day of this timebook. Named beside the calendar, not in the footer,
        # which is full at 80 columns.
        key("s", "close_day", "calendar.close_day", show=False),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close_day":
            return self.timebok.user is not None and self.timebok.user.is_staff
        return super().check_action(action, parameters)

    def action_close_day(self) -> None:
        """«Steng dag»: s asks first, naming the day and the timebook («Nei» the default: a stray `s` closes nothing);
        then type why, Enter previews (with the appointments it hits), L saves."""
        from timebok.ui.confirm_dialog import ConfirmDialog

        user = self.timebok.user
        if user is None or not user.is_staff or user.office is None:
            return
        office_id, day, book = user.office.id, self.calendar.cursor, self.timebook
        question = t(
            "calendar.close_question", day=long_date(day), timebook=f"{time_type_name(book.time_type_code)} · {book.name}"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._open_close_form(office_id, day)

        self.app.push_screen(ConfirmDialog(question, t("calendar.close_yes")), answered)

    @work(exclusive=True, group="close_day")
    async def _open_close_form(self, office_id: str, day: date) -> None:
        from timebok.ui.setup_forms import closure_form

        try:
            setup = await self.client.office_setup(office_id)
        except BookingError as error:
            self.timebok.report(error)
            return
        form = closure_form(setup, day, self.timebook.id, t("setup.close_title"))
        form.first_field = "reason"  # the day was just confirmed in the question: type why
        self.app.push_screen(form, self._day_closed)

    def _day_closed(self, change: SetupChange | None) -> None:
        if change is None:
            return
        self.notify(t("setup.saved", created=change.created, removed=change.removed), timeout=6)
        if change.affected:
            from timebok.ui.setup_text import affected_lines

            self.notify(
                "\n".join([tn("setup.affected", len(change.affected)), *affected_lines(change), t("setup.affected_hint")]),
                severity="warning",
                timeout=20,
            )
        self.reload()

    def __init__(self, draft: BookingDraft) -> None:
        super().__init__(draft)
        self.timebook = chosen(draft.timebook, "timebook")  # whose free times are shown
        self.availability: MonthAvailability | None = None
        self.next_free: date | None = None
        self.day_slots: list[Slot] = []
        self._times_next = False  # «n» moved to another month: focus its day's times when they have come
        self._new_month = True  # the month shown is being fetched for the first time (not again)

    def compose_body(self) -> ComposeResult:
        draft = self.draft
        start_month = draft.month or today().replace(day=1)
        yield Static(self._what_where(), id="what-where")  # what is being booked, and where
        with Horizontal(id="calendar-row"):
            with Vertical(id="calendar-column"):
                yield MonthCalendar(start_month, today=today(), selected=draft.day, id="calendar")
                yield Static(t("calendar.legend"), id="legend", classes="hint")
                yield Static(self._urgent(), id="urgent", classes="hint")
            # Beside the calendar, not under it: at 80x24 nothing of the day's choice falls below the fold.
            with Vertical(id="times-column"):
                yield Static("", id="times-heading")
                yield OptionList(id="times")
                yield Static("", id="place-details")
                yield Static("", id="empty-month")

    def _what_where(self) -> str:
        """«Laboratoriet · Fjordsiden legekontor, Strandgaten 12, 5013 Bergen»."""
        time_type, place = self.draft.time_type, self.timebook.place
        kind = time_type_name(time_type.code) if time_type is not None else ""
        if place is None:
            return kind
        return t("calendar.what_where", type=kind, place=place.name, address=place.full_address)

    def _urgent(self) -> str:
        """The guide's standing note, with the office's phone number when the backend has one."""
        office = self.timebok.user.office if self.timebok.user else None
        phone = office.phone if office else None
        staff = self.timebok.user is not None and self.timebok.user.is_staff
        return (
            t("calendar.urgent")
            + (f"\n{t('calendar.phone', phone=phone)}" if phone else "")
            + (f"\n{t('calendar.close_hint')}" if staff else "")
        )

    def on_mount(self) -> None:
        self.query_one("#times").display = False
        self.query_one("#empty-month").display = False
        self.query_one("#place-details").display = False
        self.query_one("#times-heading", Static).update(t("calendar.choose_date"))
        self.query_one(MonthCalendar).focus()
        self.reload()
        self.set_interval(self.POLL_SECONDS, self._poll)

    def _poll(self) -> None:
        # Only the screen on top polls (not one behind review or a dialog); a fetch under way is left to finish.
        if not (self.is_current and self.timebok.client is not None and self.timebok.user is not None):
            return
        if any(worker.node is self and not worker.is_finished for worker in self.app.workers):
            return
        self.reload(quiet=True)

    @property
    def calendar(self) -> MonthCalendar:
        return self.query_one(MonthCalendar)

    def view_state(self) -> dict[str, tuple[str, object]]:
        """Also the calendar's cursor: with no date chosen yet, a language switch left it on the month's first free date."""
        state = super().view_state()
        state["calendar"] = ("cursor", self.calendar.cursor)
        return state

    def reload(self, quiet: bool = False) -> None:
        """Fetch the shown month's free times (and, if there are none, the next free date).

        `quiet`: fetched again while shown (a poll, a day opened again): the cursor, the chosen date and the
        highlighted time stay, and a failure keeps what is shown."""
        self._fetch_month(quiet)

    @work(exclusive=True, group="month")
    async def _fetch_month(self, quiet: bool) -> None:
        calendar = self.calendar
        month = calendar.month
        timebook = self.timebook
        heading = self.query_one("#times-heading", Static)
        if not quiet:
            heading.update(t("calendar.loading"))
        earliest = self.earliest()
        try:
            availability = await self.client.month_availability(timebook.id, month.year, month.month, earliest=earliest)
            next_free = None if availability.slots else await self.client.first_free_date(timebook.id, month, earliest=earliest)
        except BookingError as error:
            if not quiet:
                heading.update(t("calendar.load_failed"))
                self.timebok.report(error)
            return
        if calendar.month != month:
            return  # the user has moved on to another month; this answer is stale
        if quiet and self.availability is not None and availability is self.availability:
            return  # unchanged (a 304): nothing to redraw
        if self.draft.month is None and self.draft.day is None and next_free is not None:
            # Opening on a month with nothing free: start on the first free date, as every other timebook does,
            # and say why the calendar is not on this month.
            self.draft.month = next_free.replace(day=1)
            self.notify(
                t("calendar.opened_at_next_free", month=month_title(month.year, month.month), date=long_date(next_free)),
                timeout=10,
            )
            calendar.jump_to(next_free)
            return
        self.availability, self.next_free = availability, next_free
        new_month, self._new_month = self._new_month, False
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        self.client.prefetch_month(timebook.id, following.year, following.month)  # PgDn is then a 304
        self.draft.month = month
        calendar.free_dates = availability.dates
        kept = self.kept_view.pop("calendar", None)  # after a language switch: the cursor where the user left it
        if kept is not None and isinstance(kept[1], date) and kept[1].replace(day=1) == month:
            calendar.cursor = kept[1]
        elif (
            availability.dates
            and calendar.cursor not in availability.dates
            and not quiet
            and new_month
            and self.draft.day is not None
            and self.draft.day.replace(day=1) == month
        ):
            calendar.cursor = self.draft.day  # back in the month of the chosen date: on it
        elif (
            availability.dates
            and calendar.cursor not in availability.dates
            and not quiet
            and (self.draft.day is None or self.draft.day.replace(day=1) != month)
        ):
            # Start where there is something to choose: a month just opened (PgUp/PgDn too, also with a date chosen in
            # another month) on the cursor's day if it is free, else at its first free date; the same month fetched
            # again (a day just closed from here) at the next free date from the cursor, not back at the first.
            later = [d for d in availability.dates if d >= calendar.cursor and not new_month]
            calendar.cursor = min(later) if later else min(availability.dates)
        self._show_empty_month(month, availability, next_free)
        day = self.draft.day
        if day is not None and day in availability.dates:
            self._show_times(day, keep=quiet)
            if not quiet and ((self.draft.slot is not None and self.draft.slot.day == day) or self._times_next):
                self.query_one("#times", OptionList).focus()  # coming back, or «neste ledige»: carry on there
            self._times_next = False
        else:
            if quiet and day is not None and self.query_one("#times").display:
                # The day the user was choosing a time on has nothing free any more: say so, not just blank it.
                self.notify(t("calendar.day_gone", date=long_date(day)), severity="warning", timeout=10)
                self.draft.day = calendar.selected = None
            self._hide_times()
        self.restore_view()

    def earliest(self) -> datetime | None:
        """The first moment a citizen may book in this timebook (its lead time from now); staff are not held to it."""
        user = self.timebok.user
        if user is not None and user.is_staff:
            return None
        return now() + timedelta(minutes=self.timebook.lead_minutes)

    def _show_empty_month(self, month: date, availability: MonthAvailability, next_free: date | None) -> None:
        notice = self.query_one("#empty-month", Static)
        notice.display = not availability.slots
        if availability.slots:
            return
        lines = [t("calendar.no_free_in_month", month=month_title(month.year, month.month))]
        lines.append(t("calendar.next_free_hint", date=long_date(next_free)) if next_free else t("calendar.no_free_at_all"))
        notice.update("\n".join(lines))

    def _hide_times(self) -> None:
        self.day_slots = []  # what Enter can choose is what is shown: nothing
        times = self.query_one("#times")
        if self.focused is times or self.focused is None:
            self.calendar.focus()  # the keys go to the dates, not to a list that is gone (they went nowhere)
        times.display = False
        self.query_one("#place-details").display = False
        self.query_one("#times-heading", Static).update(t("calendar.choose_date"))

    def _show_times(self, day: date, *, keep: bool = False) -> None:
        """The day's free times; `keep`: the same day shown again with fresh times, the highlight stays on its time."""
        times = self.query_one("#times", OptionList)
        was = times.highlighted_option.id if keep and times.display and times.highlighted_option is not None else None
        # Parallel seats («Samtidige timer») are a Slot each at the same time: the time is listed once, with how many
        # are free, and Enter takes the first free seat of it (issue 26: «kl. 08:20» was listed three times).
        seats: dict[datetime, list[Slot]] = {}
        for slot in self.availability.on(day) if self.availability else []:
            seats.setdefault(slot.start, []).append(slot)
        self.day_slots = [free[0] for free in seats.values()]
        times.clear_options()
        times.add_options(
            [
                Option(
                    t("calendar.seats", time=clock_time(start), count=len(free)) if len(free) > 1 else clock_time(start),
                    id=free[0].id,
                )
                for start, free in seats.items()
            ]
        )
        times.display = True
        shown = {s.id: s.start for s in self.availability.on(day)} if self.availability else {}
        chosen_id = was or (self.draft.slot.id if self.draft.slot is not None else None)
        chosen = shown.get(chosen_id) if chosen_id else None
        if chosen is None and self.draft.slot is not None:
            chosen = self.draft.slot.start
        times.highlighted = next((i for i, s in enumerate(self.day_slots) if s.start == chosen), 0)
        self.query_one("#times-heading", Static).update(t("calendar.times_on", date=long_date(day)))

    @on(MonthCalendar.MonthChanged)
    def _month_changed(self, event: MonthCalendar.MonthChanged) -> None:
        self._new_month = True
        self._hide_times()
        self.query_one("#empty-month").display = False
        self.reload()

    @on(MonthCalendar.DateSelected)
    def _date_selected(self, event: MonthCalendar.DateSelected) -> None:
        self.draft.day = event.date
        self._show_times(event.date)
        self.query_one("#times", OptionList).focus()
        self.reload(quiet=True)  # the day's times as they are now (a 304 if unchanged), not as the month was fetched

    @on(OptionList.OptionHighlighted, "#times")
    def _time_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # Like the guide: pointing at a time tells you where to go for it.
        details = self.query_one("#place-details", Static)
        place = self.timebook.place
        details.update(f"{t('calendar.place_heading')}\n{place_lines(place)}")
        details.display = True

    @on(OptionList.OptionSelected, "#times")
    def _time_chosen(self, event: OptionList.OptionSelected) -> None:
        from timebok.screens.review import ReviewScreen

        slot = self.draft.slot = self.day_slots[event.option_index]
        lead = self.timebook.lead_minutes
        # The calendar's own notices (where it opened, no more free dates) are about this step: none follows onto step 5.
        self.app.clear_notifications()
        if self.timebok.user is not None and self.timebok.user.is_staff and slot.start < now() + timedelta(minutes=lead):
            # Staff may book inside the lead time (a patient at the desk), but are told it is short notice.
            self.notify(t("staff.within_lead_time", minutes=lead), severity="warning", timeout=10)
        self.open_next(ReviewScreen(self.draft))

    def action_step_month(self, months: int) -> None:
        self.calendar.focus()
        self.calendar.action_step_month(months)

    @work(exclusive=True, group="next_free")
    async def action_next_free(self) -> None:
        """The next date with a free time after the cursor, in this month or a later one."""
        calendar = self.calendar
        after = calendar.cursor + timedelta(days=1)
        later = sorted(d for d in (self.availability.dates if self.availability else ()) if d >= after)
        target: date | None
        if later:
            target = later[0]
        else:
            try:
                target = await self.client.first_free_date(self.timebook.id, after, earliest=self.earliest())
            except BookingError as error:
                self.timebok.report(error)
                return
        if target is None:
            self.notify(t("calendar.no_more_free", date=long_date(calendar.cursor)), severity="warning")
            return
        self.draft.day = target
        same_month = target.replace(day=1) == calendar.month
        calendar.jump_to(target)
        calendar.selected = target
        # As Enter on a date does: the day's times take the keys, so Enter picks one (Esc goes back to the dates).
        if same_month and self.availability is not None:
            self._show_times(target)
            self.query_one("#times", OptionList).focus()
        else:
            self._times_next = True  # once the month's times have come (reload)
            calendar.focus()

    def action_back(self) -> None:
        # From the list of times, Esc first goes back to the calendar; from the calendar, a step back.
        if self.focused is self.query_one("#times"):
            self.calendar.focus()
        else:
            super().action_back()

    def next_closed(self, outcome: Outcome | None) -> None:
        """Back from review: after someone else got the time (or it passed), show fresh availability."""
        if outcome is Outcome.CHANGED:
            self.dismiss(Outcome.CHANGED)  # the time is moved: back to «Dagens timer» or the patient's page
            return
        if outcome is Outcome.TIME_GONE:
            self.draft.slot = None
            self.reload()
