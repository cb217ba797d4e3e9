"""«Varsler» (NHN kundesenter): each e-mail and SMS to the citizen support acts as — channel, state, why skipped,
and every try with its time — so «I never got the reminder» has its answer."""

from __future__ import annotations

from datetime import datetime

from textual import work
from textual.app import ComposeResult

from timebok.client.errors import BookingError
from timebok.client.models import Notice
from timebok.screens.live import LiveMixin
from timebok.ui.i18n import clock_time, day_month, has_text, t, tn
from timebok.ui.keys import key
from timebok.ui.widgets.load_state import LoadState
from timebok.ui.widgets.plain import Static


def _at(moment: datetime) -> str:
    return f"{day_month(moment.date())} {clock_time(moment)}"


def _word(prefix: str, code: str | None) -> str:
    # A code a newer backend sends that this app has no word for is shown as it is, not dropped.
    return t(f"{prefix}.{code}") if code and has_text(f"{prefix}.{code}") else code or ""


def notice_lines(notice: Notice) -> list[str]:
    """When, channel and what it was about; where it went and its state; its tries, if any."""
    head = " · ".join((_at(notice.created), _word("notice.channel", notice.channel), _word("notice.event", notice.event)))
    if notice.state == "pending":
        state = t("notice.state.pending", due=_at(notice.due))
    elif notice.state == "sent":
        state = t("notice.state.sent", sent=_at(notice.sent or notice.due))
    elif notice.state == "skipped":
        state = t("notice.state.skipped", reason=_word("notice.reason", notice.reason))
    else:
        state = _word("notice.state", notice.state)
    tries = [
        t("notice.attempt_ok", at=clock_time(a.at))
        if a.ok
        else t("notice.attempt_failed", at=clock_time(a.at), detail=a.detail or "?")
        for a in notice.attempts
    ]
    lines = [head, f"  {notice.recipient} · {state}"]
    if tries:  # a line of its own: a failed try's detail is long, and 80 columns are few
        lines.append("  " + tn("notice.attempts", len(tries), list=", ".join(tries)))
    return lines


class SupportNoticesScreen(LiveMixin):
    TITLE_KEY = "support.notices_title"
    BINDINGS = [key("r", "refresh", "live.refresh")]

    def compose_body(self) -> ComposeResult:
        yield LoadState(id="support-notices-load")
        yield self.updated_line()
        yield Static("", id="support-notices-list")

    def on_mount(self) -> None:
        self.reload()
        self.start_polling()

    def on_screen_resume(self) -> None:
        if self.is_mounted and self.timebok.user is not None:
            self.reload(quiet=True)

    def reload(self, quiet: bool = False) -> None:
        self._load(quiet)

    @work(exclusive=True)
    async def _load(self, quiet: bool = False) -> None:
        load = self.query_one("#support-notices-load", LoadState)
        if not quiet:
            load.busy()
        user = self.signed_in
        try:
            assert user.patient is not None  # support acts as a citizen, who is a patient
            notices = await self.client.notices(user.patient.id)
        except BookingError as error:
            if quiet:
                self.fetch_failed(error, quiet=True)
            else:
                load.failed(error)
            return
        load.loaded()
        if notices:
            lines = [t("support.notices_heading", citizen=user.name), ""]
            for notice in notices:
                lines += notice_lines(notice)
        else:
            lines = [t("support.notices_none", citizen=user.name)]
        self.query_one("#support-notices-list", Static).update("\n".join(lines))
        self.fetched()
