"""One line that says where a screen's data stands: loading, loaded (or explicitly empty), or failed and how to retry."""

from __future__ import annotations

from textual.widgets import Static

from timebok.client.errors import BookingError
from timebok.ui.contract import UsesApp
from timebok.ui.i18n import t
from timebok.ui.problems import describe, sign_in_text


class LoadState(UsesApp, Static):
    """Put it above the list a screen fills; call `busy()`, then `loaded(...)` or `failed(error)`.

    Not `loading()`: that name is Textual's own reactive on every widget (a loading indicator over it), and a method
    in its place made Textual read this line as always loading (it took no mouse events, and counted as disabled)."""

    DEFAULT_CSS = """
    LoadState { height: auto; color: $text-muted; }
    LoadState.-failed { color: $error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, classes="hint", markup=False)  # the problem may quote the server or the user
        self.state = "idle"

    def busy(self, text: str | None = None) -> None:
        """Loading (or sending): `text` says what is under way, «Henter …» unless given."""
        self.state = "loading"
        self.remove_class("-failed")
        self.display = True
        self.update(text or t("load.loading"))

    def loaded(self, text: str | None = None) -> None:
        """Loaded: `text` says what there is (or that there is nothing); None hides the line."""
        self.state = "loaded"
        self.remove_class("-failed")
        self.display = bool(text)
        self.update(text or "")

    def failed(self, error: BookingError) -> None:
        """Failed: what happened and how to try again, where the data would be."""
        self.state = "failed"
        self.add_class("-failed")
        self.display = True
        if self.timebok.offer_sign_in(error):  # signing in again is done here in the app (Ctrl+L)
            self.update(sign_in_text(error))
            return
        self.update(f"{describe(error)}\n{t('load.retry')}")
