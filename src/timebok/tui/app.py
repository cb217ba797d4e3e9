"""The Textual App: holds the connection and the signed-in user; screens do the rest (a booking's draft lives in its screens)."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from textual import work
from textual.app import App, SystemCommand
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen

from timebok.client.errors import BookingError
from timebok.client.trace import Trace
from timebok.tui.connection import Connection
from timebok.tui.locations import default_trace_dir
from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.workers import AwaitsItsWrite

if TYPE_CHECKING:  # the client, its models and the draft load after the first paint
    from timebok.client.api import BookingClient
    from timebok.client.models import Patient, Represented, User
    from timebok.client.signin import TokenSource
    from timebok.ui.contract import TimebokAppContract
    from timebok.ui.draft import BookingDraft

Choice = TypeVar("Choice")


def app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("timebok")
    except PackageNotFoundError:
        return "unknown"


def trace_header(backend_url: str, user: User) -> dict[str, object]:
    """What a support case needs to know about a trace before its first request."""
    return {
        "app": "timebok",
        "version": app_version(),
        "backend": backend_url,
        "signed_in": {
            "role": "support" if user.is_support else user.role,
            "name": user.agent if user.is_support else user.name,
            "office": user.office.name if user.office and user.is_staff else None,
        },
        # A support agent acts as a citizen: the bearer is the citizen's, the agent signs beside it.
        "on_behalf_of": user.name if user.is_support else None,
    }


class TimebokApp(App[None]):
    """Book a time in a GP office's ressurstimebok, step by step as the guide shows it."""

    CSS_PATH = Path(__file__).parent / "timebok.tcss"  # absolute, so subclasses elsewhere find it too
    LATER_CSS_PATH = Path(__file__).parent / "screens.tcss"  # the other screens' styles: read after the first paint
    TITLE = "timebok"
    ALLOW_IN_MAXIMIZED_VIEW = "TimebokFooter"  # a maximized widget keeps the keys in view, as Textual's footer would
    BINDINGS = [
        key("f1", "help", "app.help"),
        key("ctrl+t", "toggle_trace", "trace.toggle", key_display="^t"),
        # A support agent acting as a citizen is read-only until «Skriv som» (shown only then, check_action).
        key("f2", "write_as", "support.write_as"),
        key("ctrl+r", "retry", "app.retry", show=False),  # every failure message names Ctrl+R where it helps
        # Shown only while a sign-in has expired and could not be renewed (check_action).
        key("ctrl+l", "sign_in_again", "app.sign_in_again", key_display="^l"),
        # In the palette and F1 only: a shared terminal must not keep the last person signed in for the next.
        key("ctrl+o", "sign_out", "app.sign_out", key_display="^o", show=False),
        key("ctrl+q", "quit", "app.quit", priority=True),
        # «Skjul navn» (PatientSky's Alt+K): staff only (check_action); a priority key, so it works in a text field too.
        # Ctrl+N, not Ctrl+K: a text field's Ctrl+K deletes to the end of the line, and a priority key would take that.
        key("ctrl+n", "toggle_names", "app.hide_names", key_display="^n", priority=True, show=False),
    ]

    user: reactive[User | None] = reactive(None)
    connection_problem: reactive[str | None] = reactive(None)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast, shown as written: a notice may quote a name, a reason or what the user typed («[/]»)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def __init__(
        self,
        connection: Connection,
        *,
        theme: str = "textual-dark",
        keymap: dict[str, str] | None = None,
        on_theme_change: Callable[[str], object] | None = None,
        on_language_change: Callable[[str], object] | None = None,
        on_demo_user_change: Callable[[str, str], object] | None = None,
        trace_dir: Path | None = None,
        load_seen: Callable[[str], set[str]] | None = None,
        save_seen: Callable[[str, set[str]], None] | None = None,
        hide_names: bool = False,
        on_hide_names_change: Callable[[bool], object] | None = None,
    ) -> None:
        super().__init__()
        # Everything imported so far (Textual, Rich, our modules) lives as long as the app: move it out of the
        # collector's reach. Otherwise a full collection walks it all during the first paint (~20 ms here) and
        # again now and then while the user types.
        gc.freeze()
        self.connection = connection
        self.trace = Trace()
        self.client: BookingClient | None = None  # None until connected
        self.seen_messages: set[str] = set()
        # Whom the signed-in citizen may act for (their children, a fullmakt), as the backend decided at sign-in.
        self.people: list[Represented] = []
        self._initial_theme = theme
        self._keymap = keymap or {}
        self._on_theme_change = on_theme_change
        self._on_language_change = on_language_change
        self._on_demo_user_change = on_demo_user_change
        self.trace_dir = trace_dir or default_trace_dir()
        self._load_seen = load_seen
        self._save_seen = save_seen
        self._hide_names = hide_names
        self._on_hide_names_change = on_hide_names_change
        self.sign_in_needed: TokenSource | None = None  # the sign-in whose renewal failed, until the user signs in again
        self.sign_in_reason: str | None = None  # why that sign-in is asked for, when not because it expired
        self._announce_user = False  # after signing in as someone else: say whom, once connected
        self._pick_demo_user = False  # after «Logg ut» in the demo: open the user picker, once connected
        # A sign-in whose person could not be checked yet (the backend did not answer): (who was signed in before,).
        self._who_unchecked: tuple[User | None] | None = None
        # The signed-in role's first screen: every screen of ours sits above it, and «home» pops down to it.
        self.home: Screen[Any] | None = None
        # The screen whose write under way the user was warned about by a first Ctrl+Q (see action_quit).
        self._quit_warned: Screen[Any] | None = None
        # «Skriv som» was granted for the user signed in now (read_only then says False); reset by every sign-in.
        self._writing_granted = False
        self._server_pid = 0  # in a browser tab: the web server's process, which this app outlives by seconds at most

    def on_mount(self) -> None:
        self.theme = self._initial_theme
        if self._keymap:
            self.set_keymap(self._keymap)
        if (on_theme_change := self._on_theme_change) is not None:
            self.theme_changed_signal.subscribe(self, lambda theme: self._remember(on_theme_change, theme.name))
        from timebok.screens.start import StartScreen

        # Paint first, connect after: the start screen never waits for the backend, nor for the styles of screens
        # it does not show (parsing them is a tenth of the time to the first paint).
        self._make_home(StartScreen())
        self.call_after_refresh(self._read_later_styles)
        self.call_after_refresh(self.connect)
        if self.is_web:
            # In a browser tab (timebok web) stdin is the server's pipe, no terminal; a server that is gone (killed, so
            # it could not say «quit») leaves the tab's app with no one to talk to: it leaves too.
            # The server names itself: a server killed before this process got here must not be mistaken for init.
            self._server_pid = int(os.environ.get("TIMEBOK_WEB_SERVER_PID", "0") or 0) or os.getppid()
            self._exit_if_server_gone()
            self.set_interval(2, self._exit_if_server_gone)
        elif not self.is_headless:
            self.set_interval(2, self._exit_if_terminal_gone)

    def _read_later_styles(self) -> None:
        """The other screens' styles, after the first paint: parsed once, and given to what is on screen already."""
        self.stylesheet.read(self.LATER_CSS_PATH)
        self.stylesheet.parse()  # only the new file: Textual keeps what it parsed before
        for screen in self.screen_stack:
            self.stylesheet.update(screen)

    def _exit_if_server_gone(self) -> None:
        if os.getppid() != self._server_pid:  # re-parented: the web server that started this tab is gone
            self.exit()

    def _exit_if_terminal_gone(self) -> None:
        # A closed terminal window leaves the input thread spinning on a hung-up tty (about 40 % CPU
        # seen), and SIGHUP does not always reach us through `make run`: notice it and leave.
        try:
            if sys.__stdin__ is None:
                raise OSError("no terminal")
            os.tcgetpgrp(sys.__stdin__.fileno())
        except (OSError, AttributeError, ValueError):
            self.exit()

    @work(exclusive=True, group="connect")
    async def connect(self) -> None:
        self.connection_problem = None
        try:
            if self.connection.wait_until_ready is not None:
                await asyncio.to_thread(self.connection.wait_until_ready)
            if self.client is None:
                from timebok.client.api import BookingClient  # httpx loads after the first paint

                self.client = BookingClient(
                    self.connection.url,
                    self.connection.token,
                    agent_token=self.connection.agent_token or None,
                    timeout=self.connection.timeout,
                    page_size=self.connection.page_size,
                    trace=self.trace,
                    token_source=self.connection.token_source,
                    agent_source=self.connection.agent_source,
                )
            user = await self.client.whoami()
            self.people = await self._people_of(self.client, user)
            self._writing_granted = False
            self.trace.header = trace_header(self.connection.url, user)
            self.seen_messages = self._seen_for(user)
            self.user = user
            if self._announce_user:
                self._announce_user = False
                self.notify(t("signin.now_as", name=user.name), timeout=8)
            if self._pick_demo_user:
                self._pick_demo_user = False
                self.call_after_refresh(self._open_demo_users)
        except BookingError as error:
            self.report(error)  # first: it decides whether Ctrl+L is offered, which the start screen says
            self.connection_problem = self.describe(error)
        except Exception as error:  # the embedded backend failed to start
            self.connection_problem = t("error.backend_start", detail=str(error))
            self.notify(self.connection_problem, title=t("error.title"), severity="error", timeout=10)

    @staticmethod
    async def _people_of(client: BookingClient, user: User) -> list[Represented]:
        """Whom a citizen may act for; nobody for staff, or when the backend cannot say (an older one): the citizen
        then books for themself, as before."""
        if user.is_staff or user.patient is None:
            return []
        try:
            return await client.people()
        except BookingError:
            return []

    @staticmethod
    def _seen_key(user: User) -> str | None:
        if user.patient is None:
            return None
        # A support agent opening the citizen's messages keeps their own marks: the citizen's «Ny» stays as it was.
        return f"{user.agent} → Patient/{user.patient.id}" if user.is_support else f"Patient/{user.patient.id}"

    def _seen_for(self, user: User) -> set[str]:
        """The messages this user opened before, from the state file (a file we cannot read costs only the marks)."""
        key_ = self._seen_key(user)
        if key_ is None or self._load_seen is None:
            return set()
        try:
            return set(self._load_seen(key_))
        except Exception:
            return set()

    def mark_seen(self, message_id: str) -> None:
        """The user opened a message: it stops being «Ny», now and after a restart."""
        if message_id in self.seen_messages:
            return
        self.seen_messages.add(message_id)
        key_ = self._seen_key(self.user) if self.user is not None else None
        if key_ is not None and (save_seen := self._save_seen) is not None:
            self._remember(lambda ids: save_seen(key_, ids), set(self.seen_messages))

    def watch_user(self, user: User | None) -> None:
        """Each role has its own home: the citizen's «Bestill time», or the front desk's."""
        if user is None or self.home is None:
            return
        self.go_home()
        home = self._home_for_user()
        if type(self.home) is not type(home):
            self._make_home(home)

    def _home_for_user(self) -> Screen[Any]:
        from timebok.screens.staff_home import StaffHomeScreen
        from timebok.screens.start import StartScreen

        return StaffHomeScreen() if self.user is not None and self.user.is_staff else StartScreen()

    def _make_home(self, home: Screen[Any]) -> None:
        """`home` becomes the first of our screens: all above the old home close, and it takes the old one's place."""
        self.go_home()
        if self.home is None:
            self.push_screen(home)
        else:
            self.switch_screen(home)
        self.home = home

    def go_home(self) -> None:
        """Back to the role's home: every screen above it closes (a booking's steps, and the draft with them)."""
        while self.home is not None and self.home in self.screen_stack and self.screen is not self.home:
            self.pop_screen()

    def sign_in(self, token: str, agent_token: str = "", *, role: str | None = None) -> None:
        """Become someone else (the demo's user picker): a fresh session with the new token, and a new trace."""
        self._start_over()
        self.connection = replace(self.connection, token=token, agent_token=agent_token)
        if (on_demo_user_change := self._on_demo_user_change) is not None and role:
            self._remember(lambda value: on_demo_user_change(role, value), token)
        self.connect()

    def _start_over(self) -> None:
        """Forget the person signed in: their screens (and booking drafts), read marks, client caches and trace."""
        from timebok.screens.start import StartScreen

        old, self.client = self.client, None
        if old is not None:
            self.run_worker(old.aclose(), exit_on_error=False)
        # The trace is one user's: an export "as Kari" must not hold a staff session's patient searches.
        self.trace = Trace()
        self.user = None
        self.people = []
        self.connection_problem = None
        self.seen_messages.clear()
        self._make_home(StartScreen())

    @staticmethod
    def _same_person(before: User, after: User) -> bool:
        def who(user: User) -> tuple[object, ...]:
            return (
                user.role,
                user.name,
                user.patient.id if user.patient else None,
                user.office.id if user.office else None,
                user.agent,
            )

        return who(before) == who(after)

    @property
    def read_only(self) -> bool:
        """A support agent acting as a citizen who has not chosen «Skriv som»: the keys that would write are greyed out."""
        user = self.user
        return user is not None and user.is_support and user.read_only and not self._writing_granted

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "write_as":
            # Only where a key writes (FlowScreen.WRITES); elsewhere it is in the palette.
            return self.read_only and bool(getattr(self.screen, "WRITES", False))
        if action == "toggle_trace":
            # The wire view is the support desk's tool: hidden from citizens and front-desk staff.
            return self.user is not None and self.user.is_support
        if action == "sign_in_again":
            return self.sign_in_needed is not None
        if action == "sign_out":
            return self.user is not None and self._can_sign_out()
        if action == "toggle_names":
            return self.user is not None and self.user.is_staff
        if action == "command_palette" and isinstance(self.screen, AwaitsItsWrite) and self.screen.writing:
            return None  # its commands leave or rebuild the screen, dropping the answer of the write under way
        return True

    def action_toggle_trace(self) -> None:
        from timebok.screens.trace import TraceScreen

        if isinstance(self.screen, TraceScreen):
            self.screen.dismiss()
        elif self.user is not None and self.user.is_support:
            self.push_screen(TraceScreen())

    def action_write_as(self) -> None:
        """«Skriv som Kari»: ask for a reason, then the backend records it and lets this agent write as the citizen."""
        from timebok.screens.write_as_dialog import WriteAsDialog

        if not self.read_only or self.user is None:
            return
        citizen = self.user.name.split()[0]

        def answered(reason: str | None) -> None:
            if reason:
                self._write_as(reason, citizen)

        self.push_screen(WriteAsDialog(citizen), answered)

    @work(exclusive=True, group="write_as")
    async def _write_as(self, reason: str, citizen: str) -> None:
        client = self.client
        if client is None:
            return
        try:
            await client.write_as_citizen(reason)
        except BookingError as error:
            self.report(error)
            return
        self._writing_granted = True
        self.notify(t("support.writing_now", citizen=citizen), timeout=8)
        self.refresh_bindings()
        for screen in self.screen_stack:
            screen.refresh_bindings()
            fit = getattr(screen, "fit_top_line", None)
            if callable(fit):
                fit()  # «skriver som Kari» on every open screen
            note = getattr(screen, "writing_allowed", None)
            if callable(note):
                note()

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    def describe(self, error: BookingError) -> str:
        """The failure in plain words in the user's language (ui.problems maps each kind to a text)."""
        from timebok.ui.problems import describe

        return describe(error)

    def report(self, error: BookingError, *, typed: bool = False) -> None:
        """A toast for a failure; `typed` where the screen holds something the user typed (it is kept)."""
        from timebok.ui.problems import full_text, sign_in_text

        if self.offer_sign_in(error):
            self.notify(sign_in_text(error, typed=typed), title=t("error.title"), severity="error", timeout=20)
            return
        self.notify(full_text(error, typed=typed), title=t("error.title"), severity="error", timeout=10)

    def offer_sign_in(self, error: BookingError) -> bool:
        """A sign-in that could not be renewed, or that the backend refused (someone it does not know): offer Ctrl+L
        (sign in, as someone else if need be; then what failed is done again, or the app starts over as them)."""
        from timebok.client.errors import ErrorKind

        if self.connection.sign_in_again is None:
            return False
        if error.kind is ErrorKind.SIGN_IN and error.source is not None:
            self.sign_in_needed, self.sign_in_reason = error.source, None
        elif error.kind is ErrorKind.SIGN_IN_REFUSED and self.connection.token_source is not None:
            # HelseID's level is the support agent's own sign-in; every other refusal is the bearer's.
            agent = error.rule == "sign-in-level" and self.connection.agent_source is not None
            self.sign_in_needed = self.connection.agent_source if agent else self.connection.token_source
            self.sign_in_reason = self.describe(error)
        else:
            return False
        self.refresh_bindings()
        return True

    def action_sign_in_again(self) -> None:
        """The browser sign-in for the sign-in that expired, then what failed once more (Ctrl+R's work)."""
        from timebok.screens.sign_in_again import SignInAgainDialog

        source = self.sign_in_needed
        if source is None or self.connection.sign_in_again is None or isinstance(self.screen, SignInAgainDialog):
            return

        before = self.user

        def done(signed_in: bool | None) -> None:
            if not signed_in:
                return
            self.sign_in_needed, self.sign_in_reason = None, None
            self.refresh_bindings()
            self.clear_notifications()  # «Innloggingen er utløpt» no longer holds
            self._check_who(before)

        self.clear_notifications()  # the dialog says why itself; a toast over it would hide its address
        self.push_screen(SignInAgainDialog(source, self.connection.sign_in_again, reason=self.sign_in_reason), done)

    @work(exclusive=True, group="connect")
    async def _check_who(self, before: User | None) -> None:
        """After any sign-in: the same person carries on where they were; anyone else starts over, told whom they
        are now; a sign-in the backend refuses starts over too, saying why (the browser may have been handed on)."""
        from timebok.client.errors import ErrorKind

        self._who_unchecked = None
        if self.client is None:
            self._announce_user = True
            self.call_later(self.connect)
            return
        try:
            user = await self.client.whoami()
        except BookingError as error:
            if error.kind not in (ErrorKind.SIGN_IN_REFUSED, ErrorKind.UNAUTHORIZED, ErrorKind.FORBIDDEN):
                # The backend did not answer: keep the screens (and what was typed); Ctrl+R asks again first.
                self._who_unchecked = (before,)
                self.report(error)
                return
            self._start_over()
            self.report(error)
            self.connection_problem = self.describe(error)
            return
        if before is not None and self._same_person(before, user):
            self.notify(t("signin.done"), timeout=5)
            self.action_retry()
            return
        self._start_over()
        self._announce_user = True
        self.call_later(self.connect)  # its own worker: this one ends first (both are the "connect" group)

    def _open_demo_users(self) -> None:
        from timebok.screens.demo_users import DemoChoice, DemoUserScreen

        def chosen(choice: DemoChoice | None) -> None:
            if choice is not None:
                self.sign_in(choice.token, choice.agent_token, role=choice.role)

        self.push_screen(DemoUserScreen(), chosen)

    def _can_sign_out(self) -> bool:
        # A fixed token from the config ([backend] token) has no sign-in to leave.
        return self.connection.token_source is not None or bool(self.connection.embedded and self.connection.demo_default_token)

    def action_sign_out(self) -> None:
        """«Logg ut»: forget the tokens and start over at the sign-in; the demo starts over as its default citizen
        with the user picker open, so the next person chooses who to be."""
        if self.user is None or not self._can_sign_out():
            return
        if self.connection.token_source is None:
            self._pick_demo_user = True  # once connected as the default: the connect's home would close it earlier
            self.sign_in(self.connection.demo_default_token, role="citizen")
            return
        for source in (self.connection.token_source, self.connection.agent_source):
            if source is not None:
                source.sign_out()
        if self.connection.sign_out is not None:
            self.connection.sign_out()  # the kept tokens too: the next start signs in afresh
        self._start_over()
        self.sign_in_needed, self.sign_in_reason = self.connection.token_source, t("signin.signed_out")
        self.connection_problem = t("signin.signed_out")
        self.refresh_bindings()

    def action_retry(self) -> None:
        """Do again what failed: connect, or reload what the current screen shows."""
        from timebok.screens.base import FlowScreen

        if self._who_unchecked is not None:
            self._check_who(self._who_unchecked[0])  # who signed in comes first: nothing is sent as the wrong person
        elif self.user is None:
            self.connect()
        elif isinstance(self.screen, FlowScreen):  # a dialog or a panel on top has nothing to fetch again
            self.screen.reload()

    @property
    def hide_names(self) -> bool:
        """«Skjul navn»: staff screens show initials and birth year instead of names (a patient may see the screen)."""
        return self._hide_names

    def action_toggle_names(self) -> None:
        """Names on or off on every staff screen at once (those below the current one too), remembered for the next start."""
        self._hide_names = not self._hide_names
        if self._on_hide_names_change is not None:
            self._remember(self._on_hide_names_change, self._hide_names)
        for screen in self.screen_stack:
            names_changed = getattr(screen, "names_changed", None)
            if names_changed is not None:
                names_changed()
        self.notify(t("app.names_hidden" if self._hide_names else "app.names_shown"), title=t("app.hide_names"), timeout=3)

    def action_help(self) -> None:
        from timebok.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def start_booking(self, patient: Patient | None = None) -> None:
        """Begin the guide's steps for the signed-in citizen, or (front desk) for the patient found."""
        from timebok.screens.time_type import TimeTypeScreen
        from timebok.ui.draft import BookingDraft

        # Always a new draft: nothing of an earlier booking (its patient above all) may carry over.
        draft = BookingDraft(patient=patient or (self.user.patient if self.user else None))
        if patient is None and any(person.may_book for person in self.people):
            from timebok.screens.for_whom import ForWhomScreen

            self.push_screen(ForWhomScreen(draft))  # step 1: «Bestill for», only when there is someone to choose
            return
        self.push_screen(TimeTypeScreen(draft))

    @property
    def draft(self) -> BookingDraft | None:
        """The booking in progress: the draft of the topmost screen that is a step of one, else None."""
        from timebok.screens.base import BookingStep

        steps = (screen for screen in reversed(self.screen_stack) if isinstance(screen, BookingStep))
        return next((screen.draft for screen in steps), None)

    def open_inbox(self, *, from_flow: bool = False, patient: Patient | None = None) -> None:
        from timebok.screens.inbox import InboxScreen

        self.push_screen(InboxScreen(from_flow=from_flow, patient=patient))

    def open_appointments(self) -> None:
        from timebok.screens.appointments import AppointmentsScreen

        self.push_screen(AppointmentsScreen())

    def _staff_commands(self) -> Iterable[SystemCommand]:
        from timebok.screens.patient_search import PatientSearchScreen
        from timebok.screens.requests import RequestQueueScreen
        from timebok.screens.today import TodayScreen

        for screen, text_id in (
            (PatientSearchScreen, "staff.book"),
            (RequestQueueScreen, "staff.requests"),
            (TodayScreen, "staff.today"),
        ):
            yield SystemCommand(t(text_id), t(f"palette.{text_id}"), self._from_home(partial(self._push_new, screen)))

    def _push_new(self, screen: Callable[[], Screen[Any]]) -> None:
        self.push_screen(screen())

    def _from_home(self, open_: Callable[[], object]) -> Callable[[], None]:
        """A palette command that opens a screen over the role's home, closing what was above it first."""

        def command() -> None:
            self.go_home()
            open_()

        return command

    def _remember(self, save: Callable[[Choice], object], value: Choice) -> None:
        """Save a choice for the next start; failing to save must not stop the app."""
        try:
            save(value)
        except Exception as error:
            self.notify(t("error.save_state", detail=str(error)), severity="warning")

    def action_switch_language(self) -> None:
        """Norsk ↔ English: texts and key descriptions change; the user stays on the same step with every choice kept."""
        from timebok.ui import i18n

        unsaved = getattr(self.screen, "unsaved", None)
        if unsaved is not None and unsaved():
            # A form's typed values live in the form, which a rebuild would close: save or leave it first.
            self.notify(t("app.language_after_form"), severity="warning", timeout=8)
            return
        # Key descriptions need nothing here: the footer and F1 read them in the language in use (ui.keys.description).
        i18n.set_language("en" if i18n.language() == "nb" else "nb")
        if self._on_language_change is not None:
            self._remember(self._on_language_change, i18n.language())
        self._rebuild_screens()

    def _rebuild_screens(self) -> None:
        """Screens render their texts when built: build each one from the home up again, in the same order."""
        from timebok.screens.base import FlowScreen

        ours = self.screen_stack[self.screen_stack.index(self.home) :] if self.home in self.screen_stack else []
        fresh: list[FlowScreen] = []
        for screen in ours:
            if not isinstance(screen, FlowScreen) or (again := screen.rebuilt()) is None:
                break  # a dialog or a screen that cannot be rebuilt: stop at the one below it
            again.kept_view = screen.view_state()  # the highlight, text and focus not yet chosen go along
            fresh.append(again)
        if not fresh:
            self._make_home(self._home_for_user())
            return
        self._make_home(fresh[0])
        for below, screen in pairwise(fresh):
            below.open_next(screen)  # each answers to the one below it again (a review tells its calendar)

    def action_command_palette(self) -> None:
        """Textual's palette, with its own words (search prompt, «no matches») in the chosen language."""
        from textual.command import CommandPalette

        from timebok.ui.widgets.palette import Palette

        # Textual declares is_open for App[object] though App is invariant in its result: any app is meant.
        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(Palette(id="--command-palette"))

    def action_change_theme(self) -> None:
        """Textual's theme picker, with its search prompt in the chosen language."""
        from textual.theme import ThemeProvider

        from timebok.ui.widgets.palette import Palette

        self.push_screen(Palette(providers=[ThemeProvider], placeholder=t("palette.theme_search")))

    # Replaces Textual's (which returns the path as str and says «Failed to save screenshot» with no folder or
    # reason); only our palette command and tests call it, without arguments.
    def save_screenshot(self) -> Path | None:  # type: ignore[override]
        """«Skjermbilde»: the screen as SVG in the downloads folder (the home folder when there is none), said in the
        user's language either way; Textual's own delivery said «Failed to save screenshot» with no folder or reason."""
        from platformdirs import user_downloads_path

        from timebok.domain.clock import now

        downloads = user_downloads_path()
        folder = downloads if downloads.is_dir() else Path.home()
        path = folder / f"timebok_{now():%Y-%m-%dT%H_%M_%S}.svg"
        try:
            path.write_text(self.export_screenshot(), encoding="utf-8")
        except OSError as error:
            self.notify(
                t("palette.screenshot_failed", folder=str(folder), detail=error.strerror or type(error).__name__),
                title=t("palette.screenshot"),
                severity="error",
            )
            return None
        self.notify(t("palette.screenshot_saved", path=str(path)), title=t("palette.screenshot"))
        return path

    async def action_quit(self) -> None:
        """Quit, but not on the first press while a booking, cancel or save is awaiting its answer: the user would
        not learn whether it went through. A second press within a few seconds quits anyway (a hung backend must
        never hold the user in the app)."""
        screen = self.screen
        if isinstance(screen, AwaitsItsWrite) and screen.writing and self._quit_warned is not screen:
            self._quit_warned = screen
            self.set_timer(5, self._forget_quit_warning)
            self.notify(
                t("app.quit_while_writing", keys=self._quit_keys()),
                title=t("app.quit_while_writing_title"),
                severity="warning",
                timeout=5,
            )
            return
        loses = getattr(screen, "loses_on_quit", None)
        if loses is not None and loses():
            from timebok.ui.confirm_dialog import ConfirmDialog

            # Typed words not yet sent (step 5's reason) go only when the user says so; Ctrl+Q again in the
            # question quits at once, so nothing ever holds the user in the app.
            self.push_screen(
                ConfirmDialog(t("app.quit_unsent_question"), t("app.quit_unsent_yes")), lambda yes: self.exit() if yes else None
            )
            return
        self.exit()

    def _forget_quit_warning(self) -> None:
        self._quit_warned = None

    def _quit_keys(self) -> str:
        for active in self.active_bindings.values():
            if active.binding.action in ("quit", "app.quit"):
                return self.get_key_display(active.binding)
        return "^q"

    def action_help_quit(self) -> None:
        """Ctrl+C does not quit (it copies in a text field): say, in the user's language, which key does."""
        self.notify(t("app.quit_hint", keys=self._quit_keys()), title=t("app.quit_title"))

    def _builtin_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's own palette commands, named in the chosen language."""
        yield SystemCommand(t("palette.theme"), t("palette.theme_help"), self.action_change_theme)
        yield SystemCommand(t("app.quit"), t("palette.quit_help"), self.action_quit)
        if screen.maximized is not None:
            yield SystemCommand(t("palette.minimize"), t("palette.minimize_help"), screen.action_minimize)
        elif screen.focused is not None and screen.focused.allow_maximize:
            yield SystemCommand(t("palette.maximize"), t("palette.maximize_help"), screen.action_maximize)
        yield SystemCommand(
            t("palette.screenshot"), t("palette.screenshot_help"), lambda: self.set_timer(0.1, self.save_screenshot)
        )

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        if self.sign_in_needed is not None:
            yield SystemCommand(t("app.sign_in_again"), t("palette.sign_in_again"), self.action_sign_in_again)
        yield from self._builtin_commands(screen)
        if self.user is not None and self._can_sign_out():
            yield SystemCommand(t("app.sign_out"), t("palette.sign_out"), self.action_sign_out)
        if self.user is not None and self.user.is_staff:
            yield from self._staff_commands()
            names = "app.show_names" if self._hide_names else "app.hide_names"
            yield SystemCommand(t(names), t(f"palette.{names}"), self.action_toggle_names)
        elif self.user is not None:
            yield SystemCommand(t("start.book"), t("palette.book"), self._from_home(self.start_booking))
            yield SystemCommand(t("start.inbox"), t("palette.inbox"), self._from_home(self.open_inbox))
            yield SystemCommand(t("start.appointments"), t("palette.appointments"), self._from_home(self.open_appointments))
        # The desk's screens: every key's action too (a screen that has none to offer gives an empty list).
        commands = getattr(screen, "palette_commands", None)
        if commands is not None:
            yield from (SystemCommand(title, help_, run) for title, help_, run in commands())
        if self.user is not None and self.user.is_support:
            yield SystemCommand(t("trace.toggle"), t("palette.trace"), self.action_toggle_trace)
        if self.read_only and self.user is not None:
            yield SystemCommand(
                t("support.write_title", citizen=self.user.name.split()[0]), t("palette.support.write_as"), self.action_write_as
            )
        yield SystemCommand(t("app.help"), t("palette.help"), self.action_help)
        yield SystemCommand(t("palette.language"), t("palette.language_help"), self.action_switch_language)


if TYPE_CHECKING:
    # The screens' side of the contract, checked by mypy: the App must give them every member ui.contract declares,
    # with the same types, so a screen asking for something the App lacks fails the type check, not in front of a user.
    def _the_app_keeps_the_screens_contract(app: TimebokApp) -> TimebokAppContract:
        return app
