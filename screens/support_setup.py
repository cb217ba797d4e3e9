"""«Oppsett for legekontor» (NHN kundesenter): what the citizen sees of an office's timebooks, and why not."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input

from timebok.client.errors import BookingError
from timebok.client.models import Office, OfficeSetup
from timebok.screens.base import FlowScreen
from timebok.screens.labels import time_type_name
from timebok.screens.setup import TYPES
from timebok.ui.i18n import t
from timebok.ui.widgets.load_state import LoadState
from timebok.ui.widgets.plain import Label, Static


def explain(setup: OfficeSetup, office: Office, citizen: str, gp: Office | None) -> list[str]:
    """One line per time type: what the citizen sees, or the reason they see nothing (the commonest support call)."""
    if gp is not None and gp.id != office.id:
        # Not the citizen's GP office: what follows is that office's setup, which the citizen does not see at all.
        lines = [t("support.setup_heading_other", office=office.name),
                 t("support.why_other_office", citizen=citizen, gp=gp.name, office=office.name)]
    else:
        lines = [t("support.setup_heading", citizen=citizen, office=office.name)]
    services = {s["type"]: s["active"] for s in setup.data["services"]}
    for code in TYPES:
        name = time_type_name(code)
        books = [b for b in setup.timebooks if b["type"] == code and b["active"]]
        if not services.get(code):
            lines.append(t("support.why_off", type=name))
        elif not books:
            lines.append(t("support.why_no_timebook", type=name))
        else:
            free = sum(b["ahead"]["free"] for b in books)
            total = sum(b["ahead"]["total"] for b in books)
            if free:
                lines.append(t("support.why_ok", type=name, free=free))
            elif total:
                lines.append(t("support.why_all_taken", type=name, total=total))
            else:
                lines.append(t("support.why_no_times", type=name, days=max(b["horizonDays"] for b in books)))
    return lines


class SupportSetupScreen(FlowScreen):
    TITLE_KEY = "support.setup_title"

    def compose_body(self) -> ComposeResult:
        office = self.timebok.user.office if self.timebok.user else None
        with Horizontal(classes="setup-row"):
            yield Label(t("support.setup_office"), classes="setup-label")
            yield Input(value=(office.her_id or "") if office else "", id="office-her")
        yield LoadState(id="support-setup-load")
        yield Static("", id="support-setup-why")

    def on_mount(self) -> None:
        self.restore_view()  # after a language switch: the HER-id typed, before it is looked up
        self.query_one("#office-her", Input).focus()  # as the help says: type another HER-id and press Enter
        self.reload()

    @on(Input.Submitted, "#office-her")
    def reload(self) -> None:
        self._load(self.query_one("#office-her", Input).value.strip())

    @work(exclusive=True)
    async def _load(self, her_id: str) -> None:
        load = self.query_one("#support-setup-load", LoadState)
        load.loading()
        user = self.timebok.user
        try:
            office = await self.timebok.client.find_office(her_id) if her_id else user.office
            if office is None:
                load.loaded()
                self.query_one("#support-setup-why", Static).update(t("support.office_not_found", her=her_id))
                return
            setup = await self.timebok.client.office_setup(office.id)
        except BookingError as error:
            load.failed(error)
            return
        load.loaded()
        self.query_one("#support-setup-why", Static).update("\n".join(explain(setup, office, user.name, user.office)))
