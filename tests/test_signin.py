"""Signing in from the app's side: code + PKCE on a loopback redirect against the local provider, refresh, the token store."""

from __future__ import annotations

import stat
import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from tests.oidc_helpers import follow_login
from tests.test_oidc import AUDIENCE, _identity_number, _orgnr
from timebok.backend.app import create_app
from timebok.backend.oidc import Verifier
from timebok.client.api import BookingClient
from timebok.client.errors import BookingError, ErrorKind
from timebok.client.signin import SignInError, TokenSource, sign_in
from timebok.client.token_store import TokenStore
from timebok.devidp.server import ProviderServer
from timebok.domain import clock


@pytest.fixture(scope="module")
def idp() -> Iterator[ProviderServer]:
    server = ProviderServer(0, audience=AUDIENCE).start()
    yield server
    server.stop()


def browser(identity: dict[str, str], seen: list[str] | None = None):
    """A stand-in for the system browser: follows the login form with an HTTP client, then the redirect to our listener."""

    def open_browser(url: str) -> bool:
        def walk() -> None:
            location = follow_login(url, identity)
            (seen if seen is not None else []).append(location)
            httpx.get(location, timeout=10)  # the loopback listener catches the code

        threading.Thread(target=walk, daemon=True).start()
        return True

    return open_browser


def kari(database) -> dict[str, str]:
    return {"pid": _identity_number(database, 1), "acr": "idporten-loa-high"}


def client_for(database, idp, **kwargs) -> BookingClient:
    verifier = Verifier({"citizen": idp.issuer("idporten"), "staff": idp.issuer("helseid")}, AUDIENCE).start()
    app = create_app(database, demo=False, oidc=verifier)
    return BookingClient("http://testserver/fhir", "", transport=httpx.ASGITransport(app=app), **kwargs)


async def test_a_citizen_signs_in_in_the_browser_and_the_app_knows_who_they_are(idp, database):
    seen: list[str] = []
    tokens = sign_in(
        idp.issuer("idporten"),
        "timebok",
        "openid",
        open_browser=browser(kari(database), seen),
        show_url=lambda url: pytest.fail("a browser was there: no address to show"),
        timeout=20,
    )
    assert seen[0].startswith("http://127.0.0.1:") and "/callback?code=" in seen[0]  # RFC 8252 loopback redirect
    assert tokens.refresh_token and "access_token" not in repr(tokens) and tokens.access_token not in repr(tokens)
    async with client_for(database, idp, token_source=TokenSource(tokens)) as client:
        user = await client.whoami()
    assert (user.name, user.patient.id) == ("Kari Nordmann", "1")


async def test_with_no_browser_the_address_is_shown_and_the_sign_in_waits_for_it(idp, database):
    shown: list[str] = []

    def show(url: str) -> None:
        shown.append(url)
        browser({"name": "Helsesekretær Hansen", "hpr_number": "565501872", "orgnr": _orgnr(database, 1), "security_level": "4"})(
            url
        )  # the user opens it on another machine

    tokens = sign_in(idp.issuer("helseid"), "timebok", "openid", open_browser=lambda url: False, show_url=show, timeout=20)
    assert shown and "code_challenge_method=S256" in shown[0] and "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in shown[0]
    async with client_for(database, idp, token_source=TokenSource(tokens)) as client:
        user = await client.whoami()
    assert user.role == "staff"


async def test_the_token_is_renewed_before_it_expires_while_the_user_works(idp, database):
    stored = []
    tokens = sign_in(idp.issuer("idporten"), "timebok", open_browser=browser(kari(database)), show_url=print, timeout=20)
    source = TokenSource(tokens, on_change=stored.append)
    async with client_for(database, idp, token_source=source) as client:
        assert (await client.whoami()).patient.id == "1"
        clock.set_now(clock.now() + timedelta(seconds=idp.provider.access_lifetime - 30))  # inside the renewal margin
        assert (await client.whoami()).patient.id == "1"
        assert source.tokens.access_token != tokens.access_token and stored == [source.tokens]
        clock.set_now(clock.now() + timedelta(hours=1))  # long past the first token's life: the renewed one is used
        assert (await client.whoami()).patient.id == "1"


async def test_when_renewal_fails_the_app_hears_sign_in_and_a_new_sign_in_elsewhere_is_taken_up(idp, database):
    tokens = sign_in(idp.issuer("idporten"), "timebok", open_browser=browser(kari(database)), show_url=print, timeout=20)
    later: list = []
    source = TokenSource(tokens, stored=lambda: later[0] if later else None)
    idp.provider.realms["idporten"].refresh.pop(tokens.refresh_token)  # the provider revoked it
    async with client_for(database, idp, token_source=source) as client:
        clock.set_now(clock.now() + timedelta(minutes=10))
        with pytest.raises(BookingError) as refused:
            await client.whoami()
        assert refused.value.kind is ErrorKind.SIGN_IN and tokens.access_token not in str(refused.value)
        # `timebok login` in another window: the next try (Ctrl+R) takes it up.
        later.append(sign_in(idp.issuer("idporten"), "timebok", open_browser=browser(kari(database)), show_url=print, timeout=20))
        assert (await client.whoami()).patient.id == "1"


def test_tokens_fall_back_to_a_file_only_the_user_can_read_and_logout_forgets_them(tmp_path, monkeypatch, idp, database):
    monkeypatch.setenv("TIMEBOK_NO_KEYRING", "1")
    store = TokenStore(tmp_path / "state")
    assert "no keyring" in store.warning and str(store.path) in store.warning
    tokens = sign_in(idp.issuer("idporten"), "timebok", open_browser=browser(kari(database)), show_url=print, timeout=20)
    store.save(tokens)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert TokenStore(tmp_path / "state").load() == tokens
    assert store.forget() is True and TokenStore(tmp_path / "state").load() is None
    assert tokens.access_token not in store.path.read_text()


def test_a_refused_code_exchange_is_one_line_without_the_token(idp, database):
    def tamper(url: str) -> bool:  # a redirect whose state is not ours
        def walk() -> None:
            location = follow_login(url, kari(database))
            httpx.get(location.replace("state=", "state=x"), timeout=10)

        threading.Thread(target=walk, daemon=True).start()
        return True

    with pytest.raises(SignInError, match="does not belong to this sign-in"):
        sign_in(idp.issuer("idporten"), "timebok", open_browser=tamper, show_url=print, timeout=20)
