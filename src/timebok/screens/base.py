"""What every screen shares: the top line with the step («Steg N av 8») and title, Esc for back, the footer; and
what every step of a booking shares: its draft."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum, auto
from functools import partial
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen

from timebok.ui.contract import TimebokAppContract, UsesApp
from timebok.ui.i18n import has_text, t
from timebok.ui.keys import key
from timebok.ui.widgets.footer import TimebokFooter
from timebok.ui.widgets.plain import Static
from timebok.ui.workers import StopsWorkersFirst

if TYPE_CHECKING:  # the client and its models load after the first paint
    from timebok.client.api import BookingClient
    from timebok.client.models import Patient
    from timebok.ui.draft import BookingDraft

STEPS = 8


class Outcome(Enum):
    """What a screen answers the one it was opened from when it closes with more to say than «back» (None)."""

    TIME_GONE = auto()  # review: the chosen time was taken or has passed; the calendar shows fresh times
    CHANGED = auto()  # review: the desk moved a time («Endre time»); back to where the change started


class NotSignedIn(RuntimeError):
    """A screen asked for the client or the signed-in citizen before the app had them: a bug, as the screens that
    need them are opened only once the app has connected and the backend has said who is signed in."""


def connected(app: TimebokAppContract) -> BookingClient:
    """The app's client, once connected (the one place a screen's None check for it is made)."""
    client = app.client
    if client is None:
        raise NotSignedIn("the app is not connected to the backend yet")
    return client


class Body(VerticalScroll):
    """The screen's body: a Tab stop only when it has something to scroll (else Tab landed on nothing visible, and
    the next key typed was lost)."""

    def allow_focus(self) -> bool:
        return super().allow_focus() and (self.max_scroll_y > 0 or self.max_scroll_x > 0)


class FlowScreen(StopsWorkersFirst, UsesApp, Screen[Outcome | None]):
    """A screen with a step number (or none), a title and a body; `self.timebok` is the app (ui.contract), and
    `self.client` its client once connected."""

    STEP: int | None = None
    TITLE_KEY = "app.title"
    KEYS_IN_PALETTE = False  # the desk's screens: every key's action is also in the command palette
    # A screen with a key that writes (send, cancel, change): a read-only support agent is offered F2 «Skriv som»
    # there, beside the greyed-out key; elsewhere it is in the palette, and 80 columns keep room for F1 and Ctrl+Q.
    WRITES = False
    BINDINGS = [key("escape", "back", "flow.back")]

    def __init__(self) -> None:
        super().__init__()
        # After a language switch: what the user had highlighted, typed and focused on the screen this one replaces
        # (view_state), put back as each widget is there and filled (restore_view). Empty otherwise.
        self.kept_view: dict[str, tuple[str, object]] = {}

    @property
    def client(self) -> BookingClient:
        """The app's client: a screen that fetches is opened only once the app has connected."""
        return connected(self.timebok)

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static(self.heading(), id="heading")
            yield Static(self.who(), id="who")
        with Body(id="body"):
            yield from self.compose_body()
        yield TimebokFooter()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def heading(self) -> str:
        step = self.step()
        title = t(self.TITLE_KEY)
        return f"{t('flow.step', n=step, of=STEPS)} · {title}" if step else title

    def step(self) -> int | None:
        return self.STEP

    def on_resize(self) -> None:
        self.fit_top_line()

    def fit_top_line(self) -> None:
        """Name who is looking in full when it fits beside the title, else in short («for Kari Nordmann»)."""
        who = self.who()
        room = self.size.width - 2 - len(self.query_one("#heading", Static).render_str(self.heading()).plain) - 3
        if len(who) > room:
            who = self.who(short=True)
        line = self.query_one("#who", Static)
        if line.content != who:  # an update lays the screen out again; most resizes change nothing here
            line.update(who)

    def who(self, *, short: bool = False) -> str:
        user = self.timebok.user
        if user is None:
            return ""
        patient = self.patient()
        if user.is_staff and patient is not None:
            from timebok.ui.daylist import shown_name

            name = shown_name(patient, patient.id, hidden=self.timebok.hide_names)  # «Skjul navn»: initials and year
            # Short, the desk's own name goes; the patient never does.
            return t("flow.for_patient", patient=name) if short else t("flow.on_behalf", staff=user.name, patient=name)
        if user.is_support and not self.timebok.read_only:
            return (
                t("flow.writing_as_short", citizen=user.name)
                if short
                else t("flow.writing_as", agent=user.agent, citizen=user.name)
            )
        # A citizen booking for someone they may act for (a child, a fullmakt): «Kari Nordmann · for Emma Lie».
        other = patient if patient is not None and user.patient is not None and patient.id != user.patient.id else None
        if user.is_support:
            # Short, the agent's own name goes; the citizen whose view this is never does.
            if other is not None:
                if short:  # given names only: «som Kari på vegne av Emma» fits beside the longest title at 80 columns
                    given = user.patient.given if user.patient is not None else user.name
                    return t("flow.as_citizen_short", citizen=t("flow.on_behalf_of", citizen=given, patient=other.given))
                citizen = t("flow.on_behalf_of", citizen=user.name, patient=other.name)
                return t("flow.as_citizen", agent=user.agent, citizen=citizen)
            return (
                t("flow.as_citizen_short", citizen=user.name)
                if short
                else t("flow.as_citizen", agent=user.agent, citizen=user.name)
            )
        if other is not None:
            return (
                t("flow.for_patient", patient=other.name) if short else t("flow.on_behalf", staff=user.name, patient=other.name)
            )
        return user.name

    def names_changed(self) -> None:
        """«Skjul navn» was switched: the top line names the patient anew; a screen that lists names shows them again."""
        if self.is_mounted:
            self.fit_top_line()

    def palette_commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        """Every action this screen has a key for, for the command palette: (title, help, run), in the language in use."""
        from timebok.ui.keys import description

        if not self.KEYS_IN_PALETTE:
            return []
        found: list[tuple[str, str, Callable[[], object]]] = []
        own = [b for cls in type(self).__mro__ for b in cls.__dict__.get("BINDINGS", ())]  # a base's keys (attendance) too
        for binding in own:
            if not isinstance(binding, Binding) or not binding.id or binding.action in ("back",):
                continue
            if self.check_action(binding.action.partition("(")[0], ()) is False:
                continue
            found.append(
                (
                    description(binding, screen=self),
                    f"{t('palette.screen_key')} {binding.key_display or binding.key}",
                    partial(self.call_later, self.run_action, binding.action),
                )
            )
        return found

    def say(self, key: str, **values: object) -> str:
        """The text `key`; when the front desk acts for a patient, its wording about the patient («forpatient.<key>»)."""
        staff_key = f"forpatient.{key}"
        if self.patient() is not None and self.timebok.user is not None and self.timebok.user.is_staff and has_text(staff_key):
            return t(staff_key, **values)
        return t(key, **values)

    def patient(self) -> Patient | None:
        """The patient this screen is about (a booking's, see BookingStep), or none: the top line then names nobody."""
        return None

    def own_patient(self) -> Patient:
        """The signed-in citizen's own patient record («Innboks» and «Timeavtaler» without a patient of the desk's)."""
        user = self.timebok.user
        if user is None or user.patient is None:
            raise NotSignedIn("no citizen with a patient record is signed in")
        return user.patient

    def view_state(self) -> dict[str, tuple[str, object]]:
        """What the user highlighted, typed or focused here without choosing it yet, by widget id."""
        from textual.widgets import DataTable, Input, ListView, OptionList

        state: dict[str, tuple[str, object]] = {}
        for widget in self.query("*"):
            if not widget.id:
                continue
            if isinstance(widget, OptionList) and widget.highlighted is not None:
                state[widget.id] = ("highlighted", widget.highlighted)
            elif isinstance(widget, DataTable) and widget.row_count:
                state[widget.id] = ("cursor_row", widget.cursor_row)
            elif isinstance(widget, ListView) and widget.index is not None:
                state[widget.id] = ("index", widget.index)
            elif isinstance(widget, Input):
                state[widget.id] = ("value", widget.value)
        if self.focused is not None and self.focused.id:
            state["focus"] = ("focus", self.focused.id)
        return state

    def on_mount(self) -> None:
        # Runs after the screen's own on_mount (Textual calls each class's, the subclass first): what it filled at once.
        self.restore_view()

    def restore_view(self) -> None:
        """Put back what `kept_view` holds for the widgets that are there and filled now; a screen that fills a list
        later (from the backend) calls this again when it has."""
        if not self.kept_view:
            return
        from textual.widgets import DataTable, Input, ListView, OptionList

        for widget_id, (_kind, value) in list(self.kept_view.items()):
            found = self.query(f"#{widget_id}") if widget_id != "focus" else None
            if not found:
                continue
            widget = found.first()
            # The value is what view_state read from the same kind of widget: a row or an index, or an Input's text.
            if isinstance(widget, OptionList) and isinstance(value, int) and value < widget.option_count:
                widget.highlighted = value
            elif isinstance(widget, DataTable) and isinstance(value, int) and value < widget.row_count:
                widget.move_cursor(row=value)
            elif isinstance(widget, ListView) and isinstance(value, int) and value < len(widget.children):
                widget.index = value
            elif isinstance(widget, Input) and isinstance(value, str):
                if widget.value != value:
                    widget.value = value
            else:
                continue  # not filled yet
            del self.kept_view[widget_id]
        focus = self.kept_view.get("focus")
        if focus is not None and focus[1] not in self.kept_view:  # its widget is back as it was: focus it again
            found = self.query(f"#{focus[1]}")
            if found and found.first().focusable:
                found.first().focus()
                del self.kept_view["focus"]

    def action_back(self) -> None:
        self.dismiss()  # a home screen has no Esc (HomeScreen.check_action): there is always one below

    def open_next(self, screen: FlowScreen) -> None:
        """Open `screen` from this one; when it closes, its answer comes to `next_closed`.

        The app opens rebuilt screens this way after a language switch, so each answers to the one below it again."""
        self.app.push_screen(screen, self.next_closed)

    def next_closed(self, outcome: Outcome | None) -> None:
        """The screen opened from this one has closed, answering `outcome` (None: the user went back)."""

    def rebuilt(self) -> FlowScreen | None:
        """This screen built again in the current language (after a language switch); None if it cannot be."""
        try:
            return type(self)()
        except TypeError:  # it needs what it was built with; the screen class must say how (override this)
            return None

    def reload(self) -> None:
        """Fetch again what this screen shows (Ctrl+R after a failure)."""


class BookingStep(FlowScreen):
    """A step of a booking: it has the booking's draft from the start, the one its steps share.

    A draft lives exactly as long as its steps: a new booking starts a new one (app.start_booking)."""

    def __init__(self, draft: BookingDraft) -> None:
        super().__init__()
        self.draft = draft

    def patient(self) -> Patient | None:
        return self.draft.patient

    def rebuilt(self) -> FlowScreen | None:
        try:
            # Rebuilt on the same draft: the same booking, the same patient.
            return type(self)(self.draft)
        except TypeError:  # it needs more than its draft; the screen class must say how (override this)
            return None
