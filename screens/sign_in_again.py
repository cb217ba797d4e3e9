"""«Logg inn på nytt»: the browser sign-in run from inside the app when a renewal failed; Esc cancels."""

from __future__ import annotations

import asyncio
import threading

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from timebok.client.signin import SignInCancelled, SignInError
from timebok.ui.i18n import t
from timebok.ui.keys import key
from timebok.ui.workers import StopsWorkersFirst


class SignInAgainDialog(StopsWorkersFirst, ModalScreen[bool]):
    """Waits for the provider's answer on the loopback redirect; True once signed in, False when cancelled."""

    BINDINGS = [
        key("escape", "cancel", "signin.cancel"),
        key("left", "app.focus_previous", "dialog.left", show=False),
        key("right", "app.focus_next", "dialog.right", show=False),
    ]

    def __init__(self, source, sign_in_again) -> None:
        super().__init__()
        self.source = source
        self._sign_in_again = sign_in_again
        self._cancelled = threading.Event()

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(t("signin.title"), id="signin-title")
            # A support agent has two sign-ins: say which one is asked for.
            who = "signin.who_citizen" if self.source.name == "citizen" else "signin.who_own"
            yield Static(t(who), id="signin-who")
            yield Static(t("signin.browser"), id="signin-text")
            yield Static("", id="signin-url", markup=False)
            with Horizontal(id="dialog-buttons"):
                yield Button(t("signin.retry"), id="again", variant="primary", disabled=True)
                yield Button(t("signin.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#signin-url").display = False
        self.run()

    def show_url(self, url: str) -> None:
        """No browser here (SSH): the address to open on any machine."""
        self.query_one("#signin-text", Static).update(t("signin.no_browser"))
        shown = self.query_one("#signin-url", Static)
        shown.update(url)
        shown.display = True

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
        except SignInError:
            # The provider's own words stay out of the screen: one plain line, and Enter tries again.
            self.query_one("#signin-text", Static).update(t("signin.failed"))
            self.query_one("#signin-url").display = False
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
