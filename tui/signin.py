"""Sign-in glue for the command line and the app: `timebok login`/`logout`, and the token sources the app's client uses."""

from __future__ import annotations

import sys
import threading
import webbrowser
from collections.abc import Callable

from timebok.client.signin import SignInError, Tokens, TokenSource, sign_in
from timebok.client.token_store import TokenStore
from timebok.tui.locations import state_dir

OWN, CITIZEN = "default", "citizen"  # the store's names: your own sign-in, and the test citizen a support agent acts as


def token_store() -> TokenStore:
    return TokenStore(state_dir())


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _show_url(url: str) -> None:
    _say("No browser here: open this address in a browser on any machine to sign in, then come back:")
    _say(url)


def browser_sign_in(issuer: str, settings, *, scopes: str | None = None) -> Tokens:
    """The browser flow from a terminal: opens the browser, or shows the address when there is none (SSH), and waits."""
    auth = settings.auth
    _say(f"Signing in at {issuer} …")
    return sign_in(issuer, auth.client_id, scopes or auth.scopes, redirect_port=auth.redirect_port,
                   open_browser=_open_browser, show_url=_show_url)


def _open_browser(url: str) -> bool:
    # webbrowser falls back to a text browser (lynx, w3m) inside the terminal, which would take over our screen.
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    if type(browser).__name__ in {"GenericBrowser"} and getattr(browser, "name", "") in {"lynx", "w3m", "links", "elinks", "www-browser"}:
        return False
    return browser.open(url)


def _citizen_scopes(settings) -> str:
    return "openid"  # ID-porten: the citizen's identity (pid) is all the backend needs


def login(settings, *, citizen: bool = False) -> int:
    """`timebok login`: sign in now and keep the tokens; an exit code."""
    auth = settings.auth
    issuer = auth.citizen_issuer if citizen else auth.issuer
    if not issuer:
        key = "auth.citizen_issuer" if citizen else "auth.issuer"
        _say(f"timebok login: set {key} in the config first (see config.example.toml)")
        return 2
    store = token_store()
    try:
        tokens = browser_sign_in(issuer, settings, scopes=_citizen_scopes(settings) if citizen else None)
    except SignInError as error:
        _say(f"timebok login: {error}")
        return 1
    store.save(tokens, CITIZEN if citizen else OWN)
    if store.warning:
        _say(f"Warning: {store.warning}")
    _say("Signed in.")
    return 0


def logout() -> int:
    """`timebok logout`: forget every kept sign-in; an exit code."""
    removed = token_store().forget(None)
    _say("Signed out." if removed else "Not signed in.")
    return 0


def sources(settings) -> tuple[TokenSource, TokenSource | None]:
    """The bearer's token source and, for a support agent, the agent's own; signs in first where nothing is kept."""
    store = token_store()
    auth = settings.auth

    def source(name: str, issuer: str, scopes: str | None) -> TokenSource:
        tokens = store.load(name)
        if tokens is None or tokens.issuer != issuer:
            tokens = browser_sign_in(issuer, settings, scopes=scopes)
            store.save(tokens, name)
        return TokenSource(tokens, on_change=lambda t: store.save(t, name), stored=lambda: store.load(name),
                           name=name, scopes=scopes or auth.scopes)

    own = source(OWN, auth.issuer, None)
    if settings.role == "support":
        if not auth.citizen_issuer:
            raise SignInError("role support needs auth.citizen_issuer: where the test citizen you act as signs in")
        return source(CITIZEN, auth.citizen_issuer, _citizen_scopes(settings)), own
    return own, None


def sign_in_again(settings, source: TokenSource, *, show_url: Callable[[str], None],
                  cancelled: threading.Event) -> None:
    """The app's «Logg inn på nytt»: the same browser flow as `timebok login`, for the sign-in whose renewal failed.

    Runs off the event loop (it waits for the browser); the tokens are kept as `timebok login` keeps them."""
    tokens = sign_in(source.tokens.issuer, source.tokens.client_id, source.scopes or settings.auth.scopes,
                     redirect_port=settings.auth.redirect_port, open_browser=lambda url: _open_browser(url),
                     show_url=show_url, cancelled=cancelled)
    source.signed_in(tokens)  # on_change saves it under the source's name, as `timebok login` does
