"""«Timebokoppsett»: the office's time types, timebooks with their week grid, campaigns and closures, changed with a preview."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace

from textual import on, work
from textual.app import ComposeResult
from textual.widgets.option_list import Option

from timebok.client.errors import BookingError, ErrorKind
from timebok.client.models import Campaign, Closure, OfficeSetup, Service, SetupChange, SetupTimebook
from timebok.domain.timetypes import TIMETYPE_CODES
from timebok.screens.base import FlowScreen
from timebok.ui.i18n import t, tn
from timebok.ui.keys import key
from timebok.ui.labels import time_type_name
from timebok.ui.setup_form import PreviewDialog, SetupForm
from timebok.ui.setup_forms import (
    apply_notices,
    apply_pattern,
    apply_rules,
    campaign_form,
    closure_form,
    closure_text,
    days_of,
    notices_fields,
    pattern_fields,
    reminder_word,
    rules_fields,
    same_timebook,
    timebook_label,
)
from timebok.ui.setup_text import (
    FormProblem,
    affected_lines,
    format_days,
    format_ranges,
    parse_number,
    show_date,
    week_grid,
)
from timebok.ui.widgets.load_state import LoadState
from timebok.ui.widgets.plain import OptionList, Static


def rules_line(book: SetupTimebook) -> str:
    """«Holdes 5 min · frist 24 t før (mandagstimer: fredag kl. 12) · svar innen 2 virkedager»."""
    deadline = t("setup.rules_deadline", hours=book.deadline_hours) if book.deadline_hours else t("setup.rules_no_deadline")
    if book.monday_by_friday:
        deadline += t("setup.rules_monday")
    return t("setup.rules_facts", hold=book.hold_minutes, deadline=deadline, answer=book.answer_days)


def notices_line(book: SetupTimebook) -> str:
    """«Påminnelse 48 t før · tilbud på kort varsel holdes 30 min»."""
    reminder = t("setup.reminder_hours", hours=book.reminder_hours) if book.reminder_hours else reminder_word(0)
    return t("setup.notices_facts", reminder=reminder, offer=book.offer_minutes)


class SetupScreen(FlowScreen):
    TITLE_KEY = "setup.title"
    BINDINGS = [
        # A and N are named on the screen, under the time types: the footer must fit 80 columns.
        key("a", "toggle_type", "setup.toggle", show=False),
        key("m", "pattern", "setup.pattern"),
        key("k", "campaign", "setup.campaign"),
        key("f", "rules", "setup.rules", show=False),  # named on the screen, under the time types
        key("v", "notices", "setup.notices", show=False),  # named on the screen, under the time types
        key("s", "close_day", "setup.close"),
        key("n", "new_timebook", "setup.new", show=False),
        # On a closed day or campaign picked in the list below the timebooks (shown in the footer while it has focus).
        key("e", "edit_item", "setup.edit"),
        key("x,delete", "remove_item", "setup.remove", key_display="X"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.setup: OfficeSetup | None = None
        self.last_change: SetupChange | None = None
        # The rows of #setup-items: a closure (no timebook), or a campaign with its timebook.
        self.item_refs: list[tuple[Closure, None] | tuple[Campaign, SetupTimebook]] = []

    def compose_body(self) -> ComposeResult:
        yield LoadState(id="setup-load")
        yield Static("", id="setup-types")
        yield Static(t("setup.keys_hint"), id="setup-keys", classes="hint")
        yield OptionList(id="timebooks")
        yield Static("", id="setup-details")
        yield Static("", id="setup-items-title")
        yield OptionList(id="setup-items")
        yield Static("", id="setup-affected", classes="error")

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        self._load()

    @work(exclusive=True)
    async def _load(self) -> None:
        load = self.query_one("#setup-load", LoadState)
        load.busy()
        office = self.signed_in.office
        if office is None:  # front-desk staff always belong to an office: the backend's userinfo names it
            raise RuntimeError("the setup screen needs the staff member's office")
        try:
            self.setup = setup = await self.client.office_setup(office.id)
        except BookingError as error:
            load.failed(error)
            return
        load.loaded()
        self.show(setup)

    def show(self, setup: OfficeSetup) -> None:
        services = {s.type: s.active for s in setup.services}
        self.query_one("#setup-types", Static).update(
            t("setup.types")
            + " "
            + " · ".join(
                f"{time_type_name(code)} {t('setup.on') if services.get(code) else t('setup.off')}" for code in TIMETYPE_CODES
            )
        )
        places = {p.id: p.name for p in setup.locations}
        books = self.query_one("#timebooks", OptionList)
        highlighted = books.highlighted
        books.clear_options()
        for book in setup.timebooks:
            label = f"{timebook_label(book)} · {places.get(book.location, '')}"
            if not book.active:
                label += f" ({t('setup.off')})"
            books.add_option(Option(label, id=book.id))
        if setup.timebooks:
            books.highlighted = min(highlighted or 0, len(setup.timebooks) - 1)
            books.focus()
        else:
            self.query_one("#setup-details", Static).update(t("setup.no_timebooks"))
        self._details()
        self._items(setup)
        if self.last_change and self.last_change.affected:
            self.query_one("#setup-affected", Static).update(
                "\n".join(
                    [tn("setup.affected", len(self.last_change.affected))]
                    + [f"  {x}" for x in affected_lines(self.last_change)]
                    + [t("setup.affected_hint")]
                )
            )
        self.restore_view()

    def _items(self, setup: OfficeSetup) -> None:
        """The closed days and the campaigns, one a row, to pick with Tab and ↑/↓ for E «Endre» or X «Fjern»."""
        # A closure of one timebook names it; one of the whole office does not.
        names = {f"Schedule/{b.id}": timebook_label(b) for b in setup.timebooks}
        self.item_refs = []
        rows = []
        for c in setup.closures:
            rows.append(closure_text(c, names))
            self.item_refs.append((c, None))
        for book in setup.timebooks:
            for campaign in book.campaigns:
                rows.append(
                    t(
                        "setup.campaign_item",
                        name=campaign.name,
                        first=show_date(campaign.first),
                        last=show_date(campaign.last),
                        timebook=names[f"Schedule/{book.id}"],
                    )
                )
                self.item_refs.append((campaign, book))
        self.query_one("#setup-items-title", Static).update(t("setup.items") if rows else t("setup.no_items"))
        items = self.query_one("#setup-items", OptionList)
        highlighted = items.highlighted
        items.clear_options()
        items.add_options(rows)
        items.display = bool(rows)
        if rows:
            items.highlighted = min(highlighted or 0, len(rows) - 1)

    def picked(self) -> tuple[OfficeSetup, Closure, None] | tuple[OfficeSetup, Campaign, SetupTimebook] | None:
        """The setup shown, and the row picked in it: a closure (no timebook) or a campaign and its timebook."""
        items = self.query_one("#setup-items", OptionList)
        if self.setup is None or items.highlighted is None or items.highlighted >= len(self.item_refs):
            return None
        return (self.setup, *self.item_refs[items.highlighted])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        in_items = self.focused is not None and self.focused.id == "setup-items"
        if action in ("edit_item", "remove_item"):
            # Only while the list of closed days and campaigns has focus: they act on its row.
            return in_items and self.picked() is not None
        if action in ("pattern", "campaign") and in_items:
            # They act on the highlighted timebook, in the list above (Shift+Tab): not offered from this one, which
            # keeps the footer within 80 columns with F1 and Ctrl+Q.
            return False
        return super().check_action(action, parameters)

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def on_descendant_blur(self) -> None:
        self.refresh_bindings()

    def action_edit_item(self) -> None:
        picked = self.picked()
        if picked is None:
            self.app.notify(t("setup.pick_item"), severity="warning")
            return
        match picked:
            case (setup, Closure() as closure, None):
                self._open(closure_form(setup, closure.day, None, t("setup.edit_closure_title"), existing=closure))
            case (setup, Campaign() as campaign, SetupTimebook() as book):
                self._open(campaign_form(setup, book, existing=campaign))

    def action_remove_item(self) -> None:
        """The setup without the picked closed day or campaign: previewed (its times come back), then saved on L."""
        picked = self.picked()
        if picked is None:
            self.app.notify(t("setup.pick_item"), severity="warning")
            return
        document = copy.deepcopy(picked[0])
        match picked:
            case (setup, Closure() as closure, None):
                document.closures = [c for c in document.closures if c.id != closure.id]
                names = {f"Schedule/{b.id}": timebook_label(b) for b in setup.timebooks}
                what = t("setup.what_remove_closure", closure=closure_text(closure, names))
            case (_, Campaign() as campaign, SetupTimebook() as book):
                same = same_timebook(document, book)
                same.campaigns = [c for c in same.campaigns if c.id != campaign.id]
                what = t(
                    "setup.what_remove_campaign",
                    name=campaign.name,
                    first=show_date(campaign.first),
                    last=show_date(campaign.last),
                    timebook=timebook_label(book),
                )
        self._toggle(document, what)

    def current(self) -> SetupTimebook | None:
        """The timebook highlighted."""
        highlighted = self._highlighted()
        return highlighted[1] if highlighted is not None else None

    def _highlighted(self) -> tuple[OfficeSetup, SetupTimebook] | None:
        """The setup shown, and the timebook highlighted in it."""
        books = self.query_one("#timebooks", OptionList)
        if self.setup is None or books.highlighted is None or not self.setup.timebooks:
            return None
        return self.setup, self.setup.timebooks[books.highlighted]

    @on(OptionList.OptionHighlighted, "#timebooks")
    def _details(self) -> None:
        book = self.current()
        if book is None:
            return
        lines = [
            week_grid(book.weekly) if book.weekly else t("setup.no_pattern"),
            t(
                "setup.facts",
                minutes=book.slot_minutes,
                parallel=book.parallel,
                horizon=book.horizon_days,
                lead=book.lead_minutes,
            ),
        ]
        lines.append(rules_line(book))
        lines.append(notices_line(book))
        if book.ahead is not None:
            lines.append(t("setup.ahead", free=book.ahead.free, total=book.ahead.total))
        for campaign in book.campaigns:
            lines.append(
                t(
                    "setup.campaign_row",
                    name=campaign.name,
                    first=show_date(campaign.first),
                    last=show_date(campaign.last),
                    days=format_days(days_of(campaign.weekly)),
                    ranges=format_ranges(campaign.weekly),
                )
            )
        self.query_one("#setup-details", Static).update("\n".join(lines))

    def _open(self, form: SetupForm) -> None:
        self.app.push_screen(form, lambda change: self._setup_saved(change, form))

    def _setup_saved(self, change: SetupChange | None, form: SetupForm | None = None) -> None:
        if change is None:
            if form is not None and form.reloaded:  # left after fetching another desk's change: show it here too
                self.setup = form.setup
                self.show(form.setup)
            return
        self.last_change = change
        self.setup = change.setup
        self.app.notify(t("setup.saved", created=change.created, removed=change.removed), timeout=6)
        self.show(change.setup)

    def action_pattern(self) -> None:
        current = self._highlighted()
        if current is None:
            self.action_new_timebook()
            return
        setup, book = current

        def apply(values: dict[str, str], document: OfficeSetup) -> None:
            apply_pattern(same_timebook(document, book), values)

        def fields_of(setup: OfficeSetup) -> list[tuple[str, str, str]]:
            now = next((b for b in setup.timebooks if b.id == book.id), book)
            return pattern_fields(now)

        self._open(
            SetupForm(
                t("setup.pattern_title", name=book.name),
                setup,
                pattern_fields(book),
                apply,
                t("setup.pattern_intro"),
                fields_of=fields_of,
            )
        )

    def action_rules(self) -> None:
        """«Frister»: hold minutes, the citizen's deadline (and the Monday rule), the office's answer time."""
        self._timebook_form("rules", rules_fields, apply_rules)

    def action_notices(self) -> None:
        """«Varsler»: the reminder's hours before a booked time (or none), and how long a short-notice offer is held."""
        self._timebook_form("notices", notices_fields, apply_notices)

    def _timebook_form(
        self,
        part: str,
        fields: Callable[[SetupTimebook], list[tuple[str, str, str]]],
        apply_to: Callable[[SetupTimebook, dict[str, str]], None],
    ) -> None:
        """A form of the highlighted timebook's own settings (`setup.<part>_title`, `_intro`, `what_<part>`), its
        fields read again from the document as it is when the form is checked."""
        current = self._highlighted()
        if current is None:
            return
        setup, book = current

        def apply(values: dict[str, str], document: OfficeSetup) -> None:
            apply_to(same_timebook(document, book), values)

        def fields_of(setup: OfficeSetup) -> list[tuple[str, str, str]]:
            return fields(next((b for b in setup.timebooks if b.id == book.id), book))

        self._open(
            SetupForm(
                t(f"setup.{part}_title", name=book.name),
                setup,
                fields(book),
                apply,
                t(f"setup.{part}_intro"),
                fields_of=fields_of,
                describe=lambda values: t(f"setup.what_{part}", timebook=book.name),
            )
        )

    def action_new_timebook(self) -> None:
        if self.setup is None:
            return
        places = self.setup.locations

        def apply(values: dict[str, str], document: OfficeSetup) -> None:
            code = next(
                (
                    c
                    for c in TIMETYPE_CODES
                    if c.casefold() == values["type"].strip().casefold()
                    or time_type_name(c).casefold() == values["type"].strip().casefold()
                ),
                None,
            )
            if code is None:
                raise FormProblem("type", "setup.problem.type")
            number = parse_number(values["place"], "place")
            if not 1 <= number <= len(places):
                raise FormProblem("place", "setup.problem.place")
            if not values["name"].strip():
                raise FormProblem("name", "setup.problem.required")
            book = SetupTimebook(
                type=code, location=places[number - 1].id, name=values["name"].strip(), slot_minutes=0, weekly=[]
            )
            apply_pattern(book, values)  # the pattern and its rules, from the fields below the name
            document.timebooks.append(book)
            for service in document.services:
                if service.type == code:
                    service.active = True

        fields = [
            ("type", "setup.field.type", "Vaksine"),
            ("place", "setup.field.place", "1"),
            ("name", "setup.field.name", t("setup.default_name")),
        ] + pattern_fields(None)
        intro = t("setup.new_intro", places=", ".join(f"{i}: {p.name}" for i, p in enumerate(places, 1)))
        self._open(SetupForm(t("setup.new_title"), self.setup, fields, apply, intro))

    def action_campaign(self) -> None:
        current = self._highlighted()
        if current is not None:
            self._open(campaign_form(*current))

    def action_close_day(self) -> None:
        from timebok.domain.clock import today

        if self.setup is not None:
            self._open(closure_form(self.setup, today(), None, t("setup.close_title")))

    def action_toggle_type(self) -> None:
        current = self._highlighted()
        if current is None:
            return
        setup, book = current
        services = [Service(s.type, not s.active) if s.type == book.type else s for s in setup.services]
        self._toggle(replace(setup, services=services))

    def _toggle_refused(self, error: BookingError) -> None:
        if error.kind is ErrorKind.STALE:  # nothing typed to keep: say so and show the setup as it is now
            self.app.notify(t("setup.stale_reloaded"), severity="warning", timeout=10)
            self.reload()
        else:
            self.timebok.report(error)

    @work(exclusive=True, group="setup-toggle")
    async def _toggle(self, document: OfficeSetup, what: str = "") -> None:
        try:
            change = await self.client.change_setup(document, preview=True)
        except BookingError as error:
            self._toggle_refused(error)
            return

        async def save(yes: bool | None) -> None:
            if yes:
                try:
                    self._setup_saved(await self.client.change_setup(document))
                except BookingError as error:
                    self._toggle_refused(error)

        self.app.push_screen(PreviewDialog(change, what), save)
