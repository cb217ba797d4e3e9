"""«Oppsett for legekontor» (NHN kundesenter): what the citizen sees of an office's timebooks, and why not."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input

from timebok.client.errors import BookingError, ErrorKind
from timebok.client.models import Office, OfficeSetup, RepresentationReason
from timebok.domain.timetypes import TIMETYPE_CODES
from timebok.domain.weekdays import in_week_order
from timebok.screens.base import FlowScreen
from timebok.screens.live import LiveMixin
from timebok.ui.i18n import has_text, t, tn
from timebok.ui.keys import key
from timebok.ui.labels import time_type_name
from timebok.ui.setup_text import format_days, format_ranges, show_date
from timebok.ui.widgets.load_state import LoadState
from timebok.ui.widgets.plain import Label, Static


def explain(setup: OfficeSetup, office: Office, citizen: str, gp: Office | None) -> list[str]:
    """One line per time type: what the citizen sees, or the reason they see nothing (the commonest support call)."""
    if gp is not None and gp.id != office.id:
        # Not the citizen's GP office: what follows is that office's setup, which the citizen does not see at all.
        lines = [
            t("support.setup_heading_other", office=office.name),
            t("support.why_other_office", citizen=citizen, gp=gp.name, office=office.name),
        ]
    else:
        lines = [t("support.setup_heading", citizen=citizen, office=office.name)]
    services = {s.type: s.active for s in setup.services}
    for code in TIMETYPE_CODES:
        name = time_type_name(code)
        books = [b for b in setup.timebooks if b.type == code and b.active]
        if not services.get(code):
            lines.append(t("support.why_off", type=name))
            continue
        if not books:
            lines.append(t("support.why_no_timebook", type=name))
            continue
        free = sum(b.ahead.free for b in books if b.ahead is not None)
        total = sum(b.ahead.total for b in books if b.ahead is not None)
        if free:
            line = t("support.why_ok", type=name, free=free)
        elif total:
            line = t("support.why_all_taken", type=name, total=total)
        else:
            line = t("support.why_no_times", type=name, days=max(b.horizon_days for b in books))
        # The lead time: «why can't I get tomorrow morning?» is often this.
        leads = sorted({b.lead_minutes for b in books})
        lines.append(line + t("support.lead", lead=" / ".join(lead_text(m) for m in leads)))
    return lines + closure_lines(setup)


def lead_text(minutes: int) -> str:
    """120 → «2 timer», 1440 → «1 døgn», 45 → «45 minutter»."""
    if minutes and minutes % (24 * 60) == 0:
        return tn("support.lead_days", minutes // (24 * 60))
    if minutes and minutes % 60 == 0:
        return tn("support.lead_hours", minutes // 60)
    return tn("support.lead_minutes", minutes)


def closure_lines(setup: OfficeSetup) -> list[str]:
    """The closed days and campaigns from today on («why can't I get the 15th?»): read-only, as the office set them."""
    from timebok.domain.clock import today

    now = today()
    names = {f"Schedule/{b.id}": f"{time_type_name(b.type)} · {b.name}" for b in setup.timebooks}
    closures = [c for c in setup.closures if c.day >= now]
    lines = [""]
    if closures:
        lines.append(t("support.closures"))
        for c in closures:
            only = " · " + t("setup.closure_only", timebook=names.get(c.timebook, c.timebook)) if c.timebook else ""
            lines.append(
                "  "
                + t(
                    "support.closure_row",
                    date=show_date(c.day),
                    times=f" {c.start}-{c.end}" if c.start else "",
                    reason=c.reason,
                    only=only,
                )
            )
    else:
        lines.append(t("support.no_closures"))
    campaigns = [(b, c) for b in setup.timebooks if b.active for c in b.campaigns if c.last >= now]
    if campaigns:
        lines.append(t("support.campaigns"))
        for book, campaign in campaigns:
            days = format_days(in_week_order({d for i in campaign.weekly for d in i.days}))
            lines.append(
                "  "
                + t(
                    "support.campaign_row",
                    name=campaign.name,
                    first=show_date(campaign.first),
                    last=show_date(campaign.last),
                    timebook=names[f"Schedule/{book.id}"],
                    days=days,
                    ranges=format_ranges(campaign.weekly),
                )
            )
    return lines


def people_lines(people: list[RepresentationReason] | None) -> list[str]:
    """«Jonas Lie (14 år, barn): kan se timene, ikke bestille – barnet er mellom 12 og 16 år …»: the rule that said no,
    for «why can't she book for her son?»."""
    if people is None:
        return []
    lines = ["", t("support.people_heading")]
    if not people:
        return [*lines, t("support.people_none")]
    for person in people:
        lines.append(
            t(
                "support.person",
                name=person.name,
                age=person.age,
                relation=t(f"support.relation.{person.relation}"),
                verdict=t(f"support.access.{person.access}"),
                why=t(f"rule.{person.rule}") if has_text(f"rule.{person.rule}") else person.rule,
            )
        )
    return lines


class HerIdInput(Input):
    """A HER-id is digits: letters are left to the screen's keys, so R «Oppdater» works from the field too."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return super().check_consume_key(key, character) and not (character or "").isalpha()


class SupportSetupScreen(LiveMixin, FlowScreen):
    TITLE_KEY = "support.setup_title"
    # R refreshes even from the HER-id field (priority: before the field sees the key; an id is digits, never «r»).
    BINDINGS = [key("r", "refresh", "live.refresh", priority=True)]

    def compose_body(self) -> ComposeResult:
        office = self.timebok.user.office if self.timebok.user else None
        with Horizontal(classes="setup-row"):
            yield Label(t("support.setup_office"), classes="setup-label")
            yield HerIdInput(value=(office.her_id or "") if office else "", id="office-her")
        yield LoadState(id="support-setup-load")
        yield self.updated_line()
        yield Static("", id="support-setup-why")

    def on_mount(self) -> None:
        self.restore_view()  # after a language switch: the HER-id typed, before it is looked up
        self.query_one("#office-her", Input).focus()  # as the help says: type another HER-id and press Enter
        self.reload()
        self.start_polling()

    def on_screen_resume(self) -> None:
        # Back from help or a dialog: what the office changed meanwhile shows now, not at the next poll.
        if self.is_mounted and self.timebok.user is not None:
            self.reload(quiet=True)

    @on(Input.Submitted, "#office-her")
    def _submitted(self) -> None:
        self.reload()

    def reload(self, quiet: bool = False) -> None:
        self._load(self.query_one("#office-her", Input).value.strip(), quiet)

    @work(exclusive=True)
    async def _load(self, her_id: str, quiet: bool = False) -> None:
        load = self.query_one("#support-setup-load", LoadState)
        if not quiet:
            load.busy()
        user = self.signed_in
        try:
            office = await self.client.find_office(her_id) if her_id else user.office
            if office is None:
                load.loaded()
                self.query_one("#support-setup-why", Static).update(t("support.office_not_found", her=her_id))
                return
            setup = await self.client.office_setup(office.id)
            people = await self._reasons()
        except BookingError as error:
            if quiet:
                self.fetch_failed(error, quiet=True)
            else:
                load.failed(error)
            return
        load.loaded()
        lines = explain(setup, office, user.name, user.office) + people_lines(people)
        self.query_one("#support-setup-why", Static).update("\n".join(lines))
        self.fetched()

    async def _reasons(self) -> list[RepresentationReason] | None:
        """Whom the citizen may book for and why not; None from a backend that cannot say (older than issue 27)."""
        try:
            return await self.client.representation_reasons()
        except BookingError as error:
            if error.kind in (ErrorKind.NOT_FOUND, ErrorKind.FORBIDDEN):
                return None
            raise
