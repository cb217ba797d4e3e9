"""Sign-in glue for the command line and the app: `timebok login`/`logout`, and the token sources the app's client uses."""

from __future__ import annotations

import sys
import threading
import webbrowser
from collections.abc import Callable
from typing import TYPE_CHECKING

from timebok.client.signin import SignInError, Tokens, TokenSource, sign_in
from timebok.client.token_store import TokenStore
from timebok.tui.locations import state_dir
from timebok.ui.i18n import t
from timebok.ui.problems import explain

if TYPE_CHECKING:
    from timebok.tui.settings import Settings

OWN, CITIZEN = "default", "citizen"  # the store's names: your own sign-in, and the test citizen a support agent acts as


def token_store() -> TokenStore:
    return TokenStore(state_dir())


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def service_name(issuer: str, settings: Settings) -> str:
    """The sign-in service by the name users know: ID-porten for citizens, HelseID for staff and support agents."""
    lowered = issuer.lower()
    if "helseid" in lowered:
        return "HelseID"
    if "idporten" in lowered or "id-porten" in lowered or issuer == settings.auth.citizen_issuer:
        return "ID-porten"
    return "HelseID" if settings.role in ("staff", "support") else "ID-porten"


def _show_url(url: str) -> None:
    # The redirect comes back to 127.0.0.1 on THIS machine: a browser elsewhere cannot deliver it (README: SSH).
    _say(t("signin.cli.no_browser"))
    _say(url)


def browser_sign_in(issuer: str, settings: Settings, *, scopes: str | None = None) -> Tokens:
    """The browser flow from a terminal: opens the browser, or shows the address when there is none (SSH), and waits."""
    auth = settings.auth
    _say(t("signin.cli.signing_in", service=service_name(issuer, settings), issuer=issuer))
    return sign_in(
        issuer,
        auth.client_id,
        scopes or auth.scopes,
        redirect_port=auth.redirect_port,
        open_browser=_open_browser,
        show_url=_show_url,
    )


def _open_browser(url: str) -> bool:
    # webbrowser falls back to a text browser (lynx, w3m) inside the terminal, which would take over our screen.
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    if type(browser).__name__ in {"GenericBrowser"} and getattr(browser, "name", "") in {
        "lynx",
        "w3m",
        "links",
        "elinks",
        "www-browser",
    }:
        return False
    return browser.open(url)


def _citizen_scopes(settings: Settings) -> str:
    return "openid"  # ID-porten: the citizen's identity (pid) is all the backend needs


def login(settings: Settings, *, citizen: bool = False) -> int:
    """`timebok login`: sign in now and keep the tokens; an exit code."""
    auth = settings.auth
    issuer = auth.citizen_issuer if citizen else auth.issuer
    if not issuer:
        key = "auth.citizen_issuer" if citizen else "auth.issuer"
        _say(t("signin.cli.no_issuer", key=key))
        return 2
    store = token_store()
    try:
        tokens = browser_sign_in(issuer, settings, scopes=_citizen_scopes(settings) if citizen else None)
    except SignInError as error:
        _say(t("signin.cli.failed", reason=explain(error, service_name(issuer, settings))))
        return 1
    store.save(tokens, CITIZEN if citizen else OWN)
    if not store.in_keyring:
        _say(t("signin.cli.no_keyring", path=str(store.path)))
    _say(t("signin.cli.signed_in"))
    return 0


def logout() -> int:
    """`timebok logout`: forget every kept sign-in; an exit code."""
    removed = token_store().forget(None)
    _say(t("signin.cli.signed_out" if removed else "signin.cli.not_signed_in"))
    return 0


def forget_kept() -> None:
    """The app's «Logg ut»: forget every kept sign-in, as `timebok logout` does."""
    token_store().forget(None)


def sources(settings: Settings, issuer: str) -> tuple[TokenSource, TokenSource | None]:
    """The bearer's token source and, for a support agent, the agent's own; signs in first where nothing is kept.

    `issuer` is the configured auth.issuer (the caller has checked there is one)."""
    store = token_store()
    auth = settings.auth

    def source(name: str, issuer: str, scopes: str | None) -> TokenSource:
        tokens = store.load(name)
        if tokens is None or tokens.issuer != issuer:
            try:
                tokens = browser_sign_in(issuer, settings, scopes=scopes)
            except SignInError as error:
                error.service = service_name(issuer, settings)  # run_app names it when it says why
                raise
            store.save(tokens, name)
        return TokenSource(
            tokens,
            on_change=lambda kept: store.save(kept, name),
            stored=lambda: store.load(name),
            name=name,
            scopes=scopes or auth.scopes,
            service=service_name(issuer, settings),
        )

    own = source(OWN, issuer, None)
    if settings.role == "support":
        if not auth.citizen_issuer:
            raise SignInError(
                "role support needs auth.citizen_issuer: where the test citizen you act as signs in", reason="config"
            )
        return source(CITIZEN, auth.citizen_issuer, _citizen_scopes(settings)), own
    return own, None


def sign_in_again(
    settings: Settings, source: TokenSource, *, show_url: Callable[[str], None], cancelled: threading.Event
) -> None:
    """The app's «Logg inn på nytt»: the same browser flow as `timebok login`, for the sign-in whose renewal failed.

    Runs off the event loop (it waits for the browser); the tokens are kept as `timebok login` keeps them."""
    tokens = sign_in(
        source.tokens.issuer,
        source.tokens.client_id,
        source.scopes or settings.auth.scopes,
        redirect_port=settings.auth.redirect_port,
        open_browser=lambda url: _open_browser(url),
        show_url=show_url,
        cancelled=cancelled,
        prompt="login",
    )
    source.signed_in(tokens)  # on_change saves it under the source's name, as `timebok login` does
