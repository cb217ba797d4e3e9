"""The app signed in with OpenID Connect against the local provider: sign-in, renewal while a screen is open,
a failed renewal that keeps what was typed, and logout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.oidc_helpers import follow_login
from tests.test_oidc import AUDIENCE, _identity_number
from tests.test_tui_citizen import SIZE
from tests.tui_helpers import TIMEOUT, footer_keys, screen_text, settle, to_review, wait_for
from timebok.backend.oidc import Verifier
from timebok.backend.server import EmbeddedServer
from timebok.devidp.server import ProviderServer
from timebok.domain import clock
from timebok.tui import cli, signin
from timebok.tui.app import TimebokApp
from timebok.tui.run import _connection
from timebok.tui.settings import AuthSettings, BackendSettings, Settings


@pytest.fixture(scope="module")
def idp() -> Iterator[ProviderServer]:
    server = ProviderServer(0, audience=AUDIENCE).start()
    yield server
    server.stop()


@pytest.fixture
def oidc_server(db_path, idp) -> Iterator[EmbeddedServer]:
    """The backend on loopback, not a demo: only tokens from the local provider get in."""
    verifier = Verifier({"citizen": idp.issuer("idporten"), "staff": idp.issuer("helseid")}, AUDIENCE).start()
    server = EmbeddedServer(db_path, demo=False, oidc=verifier).start()
    server.ready.wait(30)
    yield server
    server.stop()


@pytest.fixture
def signed_in_settings(tmp_path, monkeypatch, idp, oidc_server, db_path):
    """Settings as a user writes them ([backend] url, [auth] issuer); the browser is an HTTP client following the login form."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("TIMEBOK_NO_KEYRING", "1")
    from timebok.backend.server import open_database

    database = open_database(db_path, demo=False)
    pid = _identity_number(database, 1)
    database.dispose()
    opened: list[str] = []

    def browser(url: str) -> bool:
        import threading

        import httpx

        def walk() -> None:
            httpx.get(follow_login(url, {"pid": pid, "acr": "idporten-loa-substantial"}), timeout=10)

        opened.append(url)
        threading.Thread(target=walk, daemon=True).start()
        return True

    monkeypatch.setattr(signin, "_open_browser", browser)
    settings = Settings(backend=BackendSettings(url=oidc_server.url, timeout=TIMEOUT),
                        auth=AuthSettings(issuer=idp.issuer("idporten"), client_id="timebok"))
    return settings, opened


async def test_the_app_signs_in_in_the_browser_and_renews_the_token_while_a_screen_is_open(signed_in_settings, idp):
    settings, opened = signed_in_settings
    connection = _connection(settings)
    assert len(opened) == 1 and signin.token_store().load() is not None  # signed in once, kept for the next start
    first = connection.token_source.tokens.access_token
    app = TimebokApp(connection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.user is not None and app.user.name == "Kari Nordmann"
        await pilot.press("t")
        await settle(pilot)
        clock.set_now(clock.now() + timedelta(seconds=idp.provider.access_lifetime + 60))  # the first token is dead
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "Kommende timer" in screen_text(app) and "Innloggingen" not in screen_text(app)
    assert connection.token_source.tokens.access_token != first
    assert signin.token_store().load().access_token == connection.token_source.tokens.access_token  # the renewed one is kept
    assert len(opened) == 1  # renewed without the browser
    # A second start uses the kept sign-in: no browser.
    again = _connection(settings)
    assert len(opened) == 1 and again.token_source.tokens.access_token == connection.token_source.tokens.access_token


async def test_a_failed_renewal_keeps_the_typed_reason_and_a_new_sign_in_sends_it(signed_in_settings, idp):
    from timebok.screens.confirmation import ConfirmationScreen
    from timebok.screens.review import ReviewScreen

    settings, _opened = signed_in_settings
    connection = _connection(settings)
    app = TimebokApp(connection)
    async with app.run_test(size=SIZE) as pilot:
        await to_review(pilot, "influensa")
        idp.provider.realms["idporten"].refresh.clear()  # the provider forgot every refresh token
        clock.set_now(clock.now() + timedelta(seconds=idp.provider.access_lifetime + 60))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        message = str(list(app._notifications)[-1].message)
        assert "Innloggingen er utløpt" in message and "Det du har skrevet er tatt vare på" in message
        assert "influensa" in app.draft.reason
        assert signin.login(settings) == 0  # `timebok login` in another window
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmationScreen)



async def test_a_failed_renewal_offers_signing_in_again_inside_the_app_and_then_sends_the_typed_reason(
        signed_in_settings, idp, db_path):
    from timebok.backend import schema
    from timebok.backend.server import open_database
    from timebok.screens.confirmation import ConfirmationScreen
    from timebok.screens.review import ReviewScreen
    from timebok.screens.sign_in_again import SignInAgainDialog

    settings, opened = signed_in_settings
    connection = _connection(settings)
    first = connection.token_source.tokens
    app = TimebokApp(connection)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_review(pilot, "influensa")
        idp.provider.realms["idporten"].refresh.clear()  # the refresh token is revoked: renewal will fail
        clock.set_now(clock.now() + timedelta(seconds=idp.provider.access_lifetime + 60))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        message = str(list(app._notifications)[-1].message)
        assert "Innloggingen er utløpt" in message and "Ctrl+L" in message and "Det du har skrevet er tatt vare på" in message
        assert _footer_key(app, "sign_in_again") == "Logg inn på nytt"  # the key is in the footer, whole, while needed
        assert "Logg inn på nytt" in [c.title for c in app.get_system_commands(app.screen)]  # and in the palette
        await pilot.press("ctrl+l")  # the browser opens; the test's "browser" follows the provider's login form
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmationScreen))
        assert isinstance(app.screen, ConfirmationScreen), screen_text(app)
        await settle(pilot)
        assert _footer_key(app, "help") == "Hjelp" and _footer_key(app, "sign_in_again") is None  # the key goes once signed in
    assert len(opened) == 2  # the start's sign-in and the one from inside the app
    renewed = signin.token_store().load()
    assert renewed.access_token == connection.token_source.tokens.access_token != first.access_token  # kept, as `timebok login` does
    database = open_database(db_path, demo=False)
    with database.reading() as session:
        reasons = [r for (r,) in session.execute(schema.Appointment.__table__.select().with_only_columns(
            schema.Appointment.__table__.c.description)) if r]
    database.dispose()
    assert any("influensa" in r for r in reasons)  # the typed reason reached the office


async def test_signing_in_again_from_the_app_can_be_cancelled_and_keeps_the_screen(signed_in_settings, idp, monkeypatch):
    from timebok.screens.review import ReviewScreen
    from timebok.screens.sign_in_again import SignInAgainDialog

    settings, _opened = signed_in_settings
    connection = _connection(settings)
    monkeypatch.setattr(signin, "_open_browser", lambda url: False)  # no browser (SSH): the address is shown
    app = TimebokApp(connection)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_review(pilot, "influensa")
        idp.provider.realms["idporten"].refresh.clear()
        clock.set_now(clock.now() + timedelta(seconds=idp.provider.access_lifetime + 60))
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+l")
        # Not settle(): the sign-in's worker waits for the browser until cancelled.
        await wait_for(pilot, lambda: "Åpne denne adressen" in screen_text(app))
        assert isinstance(app.screen, SignInAgainDialog)
        assert "Åpne denne adressen" in screen_text(app) and idp.issuer("idporten") in screen_text(app).replace("\n", "")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert isinstance(app.screen, ReviewScreen) and "influensa" in app.draft.reason
        assert _footer_key(app, "sign_in_again") == "Logg inn på nytt"  # still offered

def _footer_key(app, action: str) -> str | None:
    """The footer's text for an action, when it shows whole within 80 columns; None when it is not there."""
    for found in footer_keys(app):
        if found.action.endswith(action):
            assert 0 < found.width and found.right <= 80
            return found.description
    return None


def test_logout_forgets_the_sign_in(signed_in_settings, capsys):
    settings, _opened = signed_in_settings
    assert signin.login(settings) == 0
    assert "Warning: no keyring" in capsys.readouterr().err  # said where the tokens went
    assert signin.token_store().load() is not None
    assert cli.main(["logout"]) == 0
    assert signin.token_store().load() is None and "Signed out." in capsys.readouterr().err


async def test_a_support_agent_signs_in_with_helseid_then_as_the_test_citizen_and_reads_as_them(
        tmp_path, monkeypatch, idp, oidc_server, db_path):
    import threading

    import httpx

    from timebok.backend import schema
    from timebok.backend.oidc import SUPPORT_SCOPE
    from timebok.backend.server import open_database

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("TIMEBOK_NO_KEYRING", "1")
    database = open_database(db_path, demo=False)
    pid = _identity_number(database, 1)
    database.dispose()
    agent = {"name": "Kundesenter Kari", "hpr_number": "100200300", "orgnr": "", "security_level": "4"}
    citizen = {"pid": pid, "acr": "idporten-loa-substantial"}

    def browser(url: str) -> bool:
        identity = agent if url.startswith(idp.issuer("helseid")) else citizen
        threading.Thread(target=lambda: httpx.get(follow_login(url, identity), timeout=10), daemon=True).start()
        return True

    monkeypatch.setattr(signin, "_open_browser", browser)
    settings = Settings(backend=BackendSettings(url=oidc_server.url, timeout=TIMEOUT), role="support",
                        auth=AuthSettings(issuer=idp.issuer("helseid"), scopes=f"openid {SUPPORT_SCOPE}",
                                          citizen_issuer=idp.issuer("idporten")))
    assert signin.login(settings) == 0 and signin.login(settings, citizen=True) == 0
    connection = _connection(settings)
    app = TimebokApp(connection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.user.name == "Kari Nordmann" and app.user.agent == "Kundesenter Kari"
        await pilot.press("t")
        await settle(pilot)
        # The agent's HelseID renewal fails (the citizen's still renews): the agent's sign-in is the one asked for.
        idp.provider.realms["helseid"].refresh.clear()
        clock.set_now(clock.now() + timedelta(seconds=idp.provider.access_lifetime + 60))
        citizen_before = connection.token_source.tokens.access_token
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.sign_in_needed is connection.agent_source
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: app.sign_in_needed is None)
        assert app.sign_in_needed is None and not connection.agent_source.tokens.expiring()
        assert signin.token_store().load(signin.OWN).access_token == connection.agent_source.tokens.access_token
        assert connection.token_source.tokens.access_token != citizen_before  # renewed by its refresh token, no browser
    database = open_database(db_path, demo=False)
    with database.reading() as session:
        actors = {a for (a,) in session.execute(schema.AuditEvent.__table__.select().with_only_columns(schema.AuditEvent.actor))}
    database.dispose()
    assert actors and all(a.startswith("support:Kundesenter Kari [sub=") and "as citizen:Kari Nordmann [sub=" in a for a in actors)
