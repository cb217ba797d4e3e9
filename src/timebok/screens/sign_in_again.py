"""«Logg inn på nytt»: the browser sign-in run from inside the app when a renewal failed; Esc cancels."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from timebok.client.signin import SignInCancelled, SignInError, TokenSource
from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.problems import explain
from timebok.ui.widgets.footer import TimebokFooter
from timebok.ui.workers import StopsWorkersFirst


class SignsInAgain(Protocol):
    """The browser sign-in for `source` (tui.signin.sign_in_again, its settings bound): blocks until signed in, shows
    the sign-in page's address through `show_url`, and raises SignInCancelled once `cancelled` is set."""

    def __call__(self, source: TokenSource, *, show_url: Callable[[str], None], cancelled: threading.Event) -> None: ...


class SignInAgainDialog(StopsWorkersFirst, ModalScreen[bool]):
    """Waits for the provider's answer on the loopback redirect; True once signed in, False when cancelled."""

    BINDINGS = [
        key("escape", "cancel", "signin.cancel"),
        key("c", "copy_link", "signin.copy"),  # only while the address is shown (check_action)
        key("left", "app.focus_previous", "dialog.left", show=False),
        key("right", "app.focus_next", "dialog.right", show=False),
    ]

    def __init__(self, source: TokenSource, sign_in_again: SignsInAgain, *, reason: str | None = None) -> None:
        super().__init__()
        self.source = source
        self.reason = reason  # why the sign-in is asked for when not because it expired (refused, signed out)
        self._sign_in_again = sign_in_again
        self._cancelled = threading.Event()
        self.url = ""  # the sign-in page's address, once shown

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(t("signin.title" if self.reason is None else "signin.title_other"), id="signin-title")
            # A support agent has two sign-ins: say which one is asked for.
            who = "signin.who_citizen" if self.source.name == "citizen" else "signin.who_own"
            yield Static(t(who) if self.reason is None else self.reason, id="signin-who", markup=False)
            yield Static(t("signin.browser"), id="signin-text")
            with Horizontal(id="dialog-buttons"):
                yield Button(t("signin.retry"), id="again", variant="primary", disabled=True)
                yield Button(t("signin.cancel"), id="cancel")
        # Outside the box, with no border beside it: a terminal selection of it copies the address and nothing else.
        yield Static("", id="signin-url", markup=False)
        yield TimebokFooter()  # its own keys (Esc, C), not those of the screen below

    def on_mount(self) -> None:
        self.query_one("#signin-url").display = False
        self.run()

    def show_url(self, url: str) -> None:
        """No browser here: the address to open in a browser on this machine (the answer comes to 127.0.0.1 here)."""
        self.url = url
        self.query_one("#signin-text", Static).update(t("signin.no_browser"))
        shown = self.query_one("#signin-url", Static)
        shown.update(url)
        shown.display = True
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy_link":
            return bool(self.url) and self.query_one("#signin-url").display
        return True

    def action_copy_link(self) -> None:
        """«Kopier lenken»: to the clipboard through the terminal (OSC 52), which works over SSH too."""
        if self.url:
            self.app.copy_to_clipboard(self.url)
            self.app.notify(t("signin.copied"), timeout=5)

    @work(exclusive=True, group="sign-in-again")
    async def run(self) -> None:
        again = self.query_one("#again", Button)
        again.disabled, again.display = True, False  # shown only once a sign-in failed
        self.query_one("#cancel", Button).focus()
        self._cancelled.clear()

        def show_url(url: str) -> None:  # called on the worker's thread
            self.app.call_from_thread(self.show_url, url)

        try:
            await asyncio.to_thread(self._sign_in_again, self.source, show_url=show_url, cancelled=self._cancelled)
        except SignInCancelled:
            return
        except SignInError as error:
            # The provider's own words stay out of the screen: why, in ours, and Enter tries again.
            why = explain(error, getattr(self.source, "service", ""))
            self.query_one("#signin-text", Static).update(t("signin.failed", reason=why))
            self.query_one("#signin-url").display = False
            self.url = ""
            self.refresh_bindings()
            again = self.query_one("#again", Button)
            again.disabled, again.display = False, True
            again.focus()
            return
        self.dismiss(True)

    @on(Button.Pressed, "#again")
    def action_again(self) -> None:
        self.query_one("#signin-text", Static).update(t("signin.browser"))
        self.run()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self._cancelled.set()  # the waiting thread gives up within a fraction of a second
        self.dismiss(False)
