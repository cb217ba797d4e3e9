"""The app signed in with OpenID Connect against the local provider: sign-in, renewal while a screen is open,
a failed renewal that keeps what was typed, and logout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.oidc_helpers import follow_login
from tests.test_oidc import AUDIENCE, _identity_number
from tests.test_tui_citizen import SIZE
from tests.tui_helpers import TIMEOUT, footer_keys, screen_text, settle, to_review, until, wait_for
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
    settings = Settings(
        backend=BackendSettings(url=oidc_server.url, timeout=TIMEOUT),
        auth=AuthSettings(issuer=idp.issuer("idporten"), client_id="timebok"),
    )
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
    signed_in_settings, idp, db_path
):
    from timebok.backend import schema
    from timebok.backend.server import open_database
    from timebok.screens.confirmation import ConfirmationScreen
    from timebok.screens.review import ReviewScreen

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
        assert _footer_key(app, "sign_in_again") in SIGN_IN_KEY  # the key is in the footer, not cut, while needed
        assert "Logg inn på nytt" in [c.title for c in app.get_system_commands(app.screen)]  # and in the palette
        await pilot.press("ctrl+l")  # the browser opens; the test's "browser" follows the provider's login form
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmationScreen))
        assert isinstance(app.screen, ConfirmationScreen), screen_text(app)
        await settle(pilot)
        assert _footer_key(app, "help") == "Hjelp" and _footer_key(app, "sign_in_again") is None  # the key goes once signed in
    assert len(opened) == 2  # the start's sign-in and the one from inside the app
    renewed = signin.token_store().load()
    assert (
        renewed.access_token == connection.token_source.tokens.access_token != first.access_token
    )  # kept, as `timebok login` does
    database = open_database(db_path, demo=False)
    with database.reading() as session:
        reasons = [
            r
            for (r,) in session.execute(
                schema.Appointment.__table__.select().with_only_columns(schema.Appointment.__table__.c.description)
            )
            if r
        ]
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
        await wait_for(pilot, lambda: "Åpne lenken under" in screen_text(app))
        assert isinstance(app.screen, SignInAgainDialog)
        assert "Åpne lenken under" in screen_text(app) and "på denne maskinen" in screen_text(app)
        url = app.screen.url
        assert url.startswith(idp.issuer("idporten")) and "prompt=login" in url
        # On lines of its own, outside the box: what the terminal shows of it is the address and nothing else.
        shown = app.screen.query_one("#signin-url")
        assert shown.region.width == 80 and shown.parent is app.screen
        assert _footer_key(app, "copy_link") == "Kopier lenken"
        await pilot.press("c")
        await pilot.pause(0.2)
        assert app.clipboard == url and "Lenken er kopiert" in _toasts(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert isinstance(app.screen, ReviewScreen) and "influensa" in app.draft.reason
        assert _footer_key(app, "sign_in_again") in SIGN_IN_KEY  # still offered


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
    said = capsys.readouterr().err
    assert "Logger inn hos ID-porten" in said and "Logget inn." in said  # in Norwegian, the default
    assert "Advarsel: ingen nøkkelring" in said  # said where the tokens went
    assert signin.token_store().load() is not None
    assert cli.main(["logout"]) == 0
    assert signin.token_store().load() is None and "Logget ut." in capsys.readouterr().err


def test_the_command_line_sign_in_speaks_the_configured_language_and_names_a_service_that_is_down(
    signed_in_settings, capsys, tmp_path, monkeypatch
):
    import socket

    from timebok.ui import i18n

    settings, _opened = signed_in_settings
    config = tmp_path / "config.toml"
    config.write_text(
        f'[app]\nlanguage = "en"\n[backend]\nurl = "{settings.backend.url}"\n'
        f'[auth]\nissuer = "{settings.auth.issuer}"\nclient_id = "timebok"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n, "_language", i18n.language())  # the test leaves the language as it found it
    assert cli.main(["--config", str(config), "login"]) == 0
    said = capsys.readouterr().err
    assert "Signing in at ID-porten" in said and "Signed in." in said and "Logget" not in said
    assert cli.main(["--config", str(config), "logout"]) == 0
    assert "Signed out." in capsys.readouterr().err
    i18n.set_language("nb")
    # The sign-in service is down: its name, in the user's words, not «ConnectError».
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    down = Settings(backend=settings.backend, auth=AuthSettings(issuer=f"http://127.0.0.1:{port}/idporten", client_id="timebok"))
    assert signin.login(down) == 1
    said = capsys.readouterr().err
    assert "Innloggingstjenesten (ID-porten) svarer ikke" in said and "ConnectError" not in said


async def test_a_support_agent_signs_in_with_helseid_then_as_the_test_citizen_and_reads_as_them(
    tmp_path, monkeypatch, idp, oidc_server, db_path
):
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
    settings = Settings(
        backend=BackendSettings(url=oidc_server.url, timeout=TIMEOUT),
        role="support",
        auth=AuthSettings(issuer=idp.issuer("helseid"), scopes=f"openid {SUPPORT_SCOPE}", citizen_issuer=idp.issuer("idporten")),
    )
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
        await settle(pilot)  # who is signed in is checked, then the screen reads again
        assert app.sign_in_needed is None and not connection.agent_source.tokens.expiring()
        assert "Du er logget inn igjen." in _toasts(app)  # the same agent: carries on where they were
        assert signin.token_store().load(signin.OWN).access_token == connection.agent_source.tokens.access_token
        assert connection.token_source.tokens.access_token != citizen_before  # renewed by its refresh token, no browser
    database = open_database(db_path, demo=False)
    with database.reading() as session:
        actors = {a for (a,) in session.execute(schema.AuditEvent.__table__.select().with_only_columns(schema.AuditEvent.actor))}
    database.dispose()
    assert actors and all(
        a.startswith("support:Kundesenter Kari [sub=") and "as citizen:Kari Nordmann [sub=" in a for a in actors
    )


@pytest.fixture
def browser_as(signed_in_settings, monkeypatch, db_path):
    """The browser signs in as whoever `identity` names at that moment (Kari first): to hand the terminal on."""
    import threading

    import httpx

    from timebok.backend.server import open_database

    settings, _opened = signed_in_settings
    database = open_database(db_path, demo=False)
    people = {"kari": _identity_number(database, 1), "ola": _identity_number(database, 2)}
    database.dispose()
    identity = {"pid": people["kari"], "acr": "idporten-loa-substantial"}

    def browser(url: str) -> bool:
        chosen = dict(identity)
        threading.Thread(target=lambda: httpx.get(follow_login(url, chosen), timeout=10), daemon=True).start()
        return True

    monkeypatch.setattr(signin, "_open_browser", browser)
    return settings, identity, people


async def _expire_and_ask_to_sign_in(pilot, app, idp) -> None:
    """Kari's session runs out: the refresh token is revoked, the access token dies, the next read asks for Ctrl+L."""
    idp.provider.realms["idporten"].refresh.clear()
    clock.set_now(clock.now() + timedelta(seconds=idp.provider.access_lifetime + 60))
    await pilot.press("ctrl+r")
    await settle(pilot, rounds=10)
    assert app.sign_in_needed is not None and _footer_key(app, "sign_in_again") in SIGN_IN_KEY


SIGN_IN_KEY = ("Logg inn på nytt", "Logg inn")  # the footer shortens it where the screen's own keys need the room


def _toasts(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


async def test_signing_in_again_as_someone_else_starts_over_as_them(browser_as, idp):
    from timebok.screens.appointments import AppointmentsScreen
    from timebok.screens.start import StartScreen

    settings, identity, people = browser_as
    connection = _connection(settings)
    app = TimebokApp(connection)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.user.name == "Kari Nordmann"
        await pilot.press("t")  # «Timeavtaler»
        await settle(pilot)
        assert isinstance(app.screen, AppointmentsScreen) and "Kari Nordmann" in screen_text(app)
        kari_trace = app.trace
        await _expire_and_ask_to_sign_in(pilot, app, idp)
        identity["pid"] = people["ola"]  # Kari has left; Ola signs in at the terminal
        await pilot.press("ctrl+l")
        await until(pilot, lambda: app.user is not None and app.user.name == "Ola Nordmann", seconds=10)
        await settle(pilot)
        shown = screen_text(app)
        assert app.user.name == "Ola Nordmann" and "Ola Nordmann" in shown and "Kari" not in shown
        assert isinstance(app.screen, StartScreen) and app.screen_stack.count(app.screen) == 1  # her screens are gone
        assert "Du er nå logget inn som Ola Nordmann." in _toasts(app) and "logget inn igjen" not in _toasts(app)
        assert app.trace is not kari_trace and app.trace.header["signed_in"]["name"] == "Ola Nordmann"
        assert app.sign_in_needed is None and _footer_key(app, "sign_in_again") is None
        await pilot.press("t")
        await settle(pilot)
        shown = screen_text(app)
        assert isinstance(app.screen, AppointmentsScreen) and "Ola Nordmann" in shown and "Kari" not in shown
        assert "Fant det ikke" not in shown + _toasts(app)


async def test_a_refused_sign_in_says_why_and_offers_signing_in_as_someone_else(browser_as, idp):
    from timebok.screens.start import StartScreen

    settings, identity, people = browser_as
    connection = _connection(settings)
    app = TimebokApp(connection)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await _expire_and_ask_to_sign_in(pilot, app, idp)
        identity["pid"] = "01010112345"  # someone no office here knows
        await pilot.press("ctrl+l")
        await until(pilot, lambda: app.connection_problem is not None, seconds=10)
        await settle(pilot)
        shown = screen_text(app)
        assert isinstance(app.screen, StartScreen) and app.user is None and "Kari" not in shown
        assert "Du er ikke registrert som pasient hos et legekontor her" in shown
        assert "Trykk Ctrl+L for å logge inn som en annen" in _toasts(app)
        assert _footer_key(app, "sign_in_again") in SIGN_IN_KEY  # not a dead end
        await pilot.press("ctrl+r")  # trying again says the same, and still offers the way out
        await settle(pilot, rounds=10)
        assert "ikke registrert som pasient" in screen_text(app) and _footer_key(app, "sign_in_again") in SIGN_IN_KEY
        identity["pid"] = people["ola"]
        await pilot.press("ctrl+l")
        await until(pilot, lambda: app.user is not None, seconds=10)
        await settle(pilot)
        assert app.user.name == "Ola Nordmann" and "Ola Nordmann" in screen_text(app)
        assert "Du er nå logget inn som Ola Nordmann." in _toasts(app)


async def test_a_staff_sign_in_below_level_4_says_so_at_start_and_can_sign_in_again(
    tmp_path, monkeypatch, idp, oidc_server, db_path
):
    import threading

    import httpx

    from tests.test_oidc import _orgnr
    from timebok.backend.server import open_database
    from timebok.screens.staff_home import StaffHomeScreen

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("TIMEBOK_NO_KEYRING", "1")
    database = open_database(db_path, demo=False)
    orgnr = _orgnr(database, 1)
    database.dispose()
    identity = {"name": "Sekretær Siri", "hpr_number": "100200301", "orgnr": orgnr, "security_level": "3"}

    def browser(url: str) -> bool:
        chosen = dict(identity)
        threading.Thread(target=lambda: httpx.get(follow_login(url, chosen), timeout=10), daemon=True).start()
        return True

    monkeypatch.setattr(signin, "_open_browser", browser)
    settings = Settings(
        backend=BackendSettings(url=oidc_server.url, timeout=5.0),
        role="staff",
        auth=AuthSettings(issuer=idp.issuer("helseid"), client_id="timebok"),
    )
    app = TimebokApp(_connection(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, rounds=10)
        assert "Innloggingen krever høyere sikkerhetsnivå (nivå 4)" in screen_text(app)
        assert _footer_key(app, "sign_in_again") in SIGN_IN_KEY
        identity["security_level"] = "4"
        await pilot.press("ctrl+l")
        await until(pilot, lambda: isinstance(app.screen, StaffHomeScreen) and app.user is not None, seconds=10)
        assert app.user.is_staff and "sikkerhetsnivå" not in screen_text(app)


async def test_signing_out_forgets_the_sign_in_and_the_next_person_signs_in(browser_as, idp):
    from timebok.screens.help import HelpScreen
    from timebok.screens.start import StartScreen

    settings, identity, people = browser_as
    connection = _connection(settings)
    app = TimebokApp(connection)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen) and "Logg ut" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "Logg ut" in [c.title for c in app.get_system_commands(app.screen)]
        await pilot.press("t")
        await settle(pilot)
        kari_trace = app.trace
        await pilot.press("ctrl+o")  # «Logg ut»
        await settle(pilot)
        shown = screen_text(app)
        assert isinstance(app.screen, StartScreen) and app.user is None and "Kari" not in shown
        assert "Du er logget ut" in shown and app.trace is not kari_trace
        assert signin.token_store().load() is None  # the next start signs in afresh
        assert connection.token_source.tokens.access_token == ""  # nothing in memory signs a request either
        assert "Logg ut" not in [c.title for c in app.get_system_commands(app.screen)]
        identity["pid"] = people["ola"]
        await pilot.press("ctrl+l")
        await until(pilot, lambda: app.user is not None, seconds=10)
        await settle(pilot)
        assert app.user.name == "Ola Nordmann" and "Ola Nordmann" in screen_text(app)
        assert signin.token_store().load() is not None


async def test_a_sign_in_service_that_does_not_answer_is_named(browser_as, idp):
    import socket
    from dataclasses import replace

    from timebok.screens.appointments import AppointmentsScreen

    settings, _identity, _people = browser_as
    connection = _connection(settings)
    app = TimebokApp(connection)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        with socket.socket() as closed:  # nothing listens here: ID-porten is down
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        source = connection.token_source
        source.tokens = replace(source.tokens, issuer=f"http://127.0.0.1:{port}/idporten")
        clock.set_now(clock.now() + timedelta(seconds=idp.provider.access_lifetime + 60))
        await pilot.press("ctrl+r")
        await settle(pilot, rounds=10)
        shown = screen_text(app)
        assert isinstance(app.screen, AppointmentsScreen)
        assert "Innloggingstjenesten (ID-porten) svarer ikke" in shown and "ConnectError" not in shown + _toasts(app)
        assert "Ctrl+R" in shown  # it may answer again in a while


async def test_signing_out_of_the_demo_starts_over_as_its_default_citizen_with_the_user_picker_open(live_server):
    from tests.conftest import FJORD_STAFF, KARI
    from timebok.screens.demo_users import DemoUserScreen
    from timebok.screens.staff_home import StaffHomeScreen
    from timebok.tui.connection import Connection

    app = TimebokApp(Connection(live_server.url, FJORD_STAFF, timeout=5.0, embedded=True, demo_default_token=KARI))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, StaffHomeScreen) and app.user.is_staff
        await pilot.press("b")  # the desk had begun something: it goes with the sign-out
        await settle(pilot)
        kept_trace = app.trace
        assert "Logg ut" in [c.title for c in app.get_system_commands(app.screen)]
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, DemoUserScreen)  # the next person picks who to be
        assert app.user is not None and app.user.name == "Kari Nordmann" and app.trace is not kept_trace
        await pilot.press("escape")
        await settle(pilot)
        assert "Kari Nordmann" in screen_text(app) and "Helsesekretær" not in screen_text(app)


async def test_a_sign_in_whose_person_cannot_be_checked_keeps_the_screen_and_sends_nothing(browser_as, idp, oidc_server):
    from timebok.screens.review import ReviewScreen

    settings, _identity, _people = browser_as
    app = TimebokApp(_connection(settings))
    async with app.run_test(size=(80, 24)) as pilot:
        await to_review(pilot, "influensa")
        idp.provider.realms["idporten"].refresh.clear()
        clock.set_now(clock.now() + timedelta(seconds=idp.provider.access_lifetime + 60))
        await pilot.press("enter")
        await settle(pilot, rounds=10)
        oidc_server.stop()  # the backend goes away while the user signs in again
        await pilot.press("ctrl+l")
        await until(pilot, lambda: app.sign_in_needed is None and app._who_unchecked is not None, seconds=10)
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen) and "influensa" in app.draft.reason  # kept, not thrown away
        assert app.user.name == "Kari Nordmann" and "Får ikke kontakt" in _toasts(app)
        await pilot.press("ctrl+r")  # asks who is signed in first, never sends the booking unchecked
        await settle(pilot, rounds=10)
        assert isinstance(app.screen, ReviewScreen) and app._who_unchecked is not None
