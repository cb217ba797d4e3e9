"""`timebok web` in real Chromium: sign in (demo and OpenID Connect), a support agent's read-only booking, «Skriv som»,
the trace export, two tabs as two users; no token in the page, and nothing asked of another origin."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import KARI, SUPPORT
from tests.test_oidc import AUDIENCE, _identity_number
from tests.web_helpers import Terminal, app_processes, chromium_or_skip, web_process
from timebok.backend import schema
from timebok.backend.oidc import Verifier
from timebok.backend.server import EmbeddedServer, open_database
from timebok.devidp.server import ProviderServer

# Each screen as the browser showed it: in a temporary folder, or where TIMEBOK_WEB_SCREENS says (tests/web_screens
# holds the ones looked at and committed, to see what the tests walk).
SHOTS = Path(os.environ.get("TIMEBOK_WEB_SCREENS") or Path(tempfile.gettempdir()) / "timebok-web-screens")
SHOTS.mkdir(parents=True, exist_ok=True)
VIEW = {"width": 1000, "height": 640}
TOKENS = (KARI, SUPPORT, "demo-staff-fjordsiden", "demo-citizen-ola")


@pytest.fixture(scope="module")
def chromium():
    path = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path)
        yield browser
        browser.close()


def _count(db_path, table, *where) -> int:
    database = open_database(db_path, demo=False)
    try:
        with database.reading() as session:
            return session.scalar(select(func.count()).select_from(table).where(*where)) or 0
    finally:
        database.dispose()


def _wait(terminal: Terminal, condition, what: str, seconds: float = 20) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        terminal.page.wait_for_timeout(100)
    raise AssertionError(f"not seen in {seconds} s: {what}")


def _sign_in_as(page, web: str, label: str) -> Terminal:
    terminal = Terminal(page)
    page.goto(web)
    page.get_by_role("button", name=label, exact=True).click()
    page.wait_for_url(f"{web}/app")
    terminal.open()
    page.click("#terminal")
    return terminal


def _no_secret_in(page, requests: list) -> None:
    html, url = page.content(), page.url
    cookies = page.context.cookies()
    for token in TOKENS:
        assert token not in html and token not in url
        assert all(token not in c["value"] for c in cookies)
        assert all(token not in r.url and token not in json.dumps(r.headers) for r in requests)
    assert cookies and all(c["httpOnly"] for c in cookies)


def test_a_support_agent_reproduces_a_booking_read_only_then_writes_as_kari_and_exports_the_trace(
    chromium, live_server, db_path, tmp_path
):
    with web_process("--backend", live_server.url, "--demo") as (web, _server):
        context = chromium.new_context(viewport=VIEW, locale="nb-NO", accept_downloads=True)
        page = context.new_page()
        requests: list = []
        page.on("request", lambda request: requests.append(request))
        page.goto(web)
        assert "Kundesenter, NHN som Kari Nordmann" in page.content()
        page.screenshot(path=SHOTS / "1-sign-in.png")
        terminal = _sign_in_as(page, web, "Kundesenter, NHN som Kari Nordmann")
        page.screenshot(path=SHOTS / "2-support-start.png")

        booked = _count(db_path, schema.Appointment)
        terminal.press("b", "ArrowDown", "ArrowDown", "Enter", "Enter", quiet=1.0)  # Lab, its first date
        terminal.press("Enter")  # its first time: the review, whose text field blinks
        terminal.type("influensavaksine")
        terminal.press("Control+s", "Enter")  # greyed out: nothing is sent
        page.screenshot(path=SHOTS / "3-review-read-only.png")
        assert _count(db_path, schema.Appointment) == booked

        terminal.press("F2")
        terminal.type("Sak 4711: Kari ber oss bestille")
        page.screenshot(path=SHOTS / "4-skriv-som.png")
        terminal.press("Enter")
        _wait(
            terminal, lambda: _count(db_path, schema.AuditEvent, schema.AuditEvent.action == "support-write") == 1, "«Skriv som»"
        )
        terminal.settle()
        page.screenshot(path=SHOTS / "5-review-writing.png")
        terminal.press("Control+s")
        _wait(terminal, lambda: _count(db_path, schema.Appointment) == booked + 1, "the booking")
        terminal.settle()
        page.screenshot(path=SHOTS / "6-confirmation.png")

        terminal.press("Control+t")
        page.screenshot(path=SHOTS / "7-trace.png")
        saved = _export_trace(page, tmp_path)
        export = json.loads(saved.read_text(encoding="utf-8"))
        assert export["header"]["signed_in"]["role"] == "support" and export["header"]["on_behalf_of"] == "Kari Nordmann"
        text = saved.read_text(encoding="utf-8")
        assert any(e["method"] == "POST" and e["path"] == "/auth/support-write" for e in export["exchanges"]), text[:500]
        assert not re.search(r"(?<!\d)\d{11}(?!\d)", text) and all(token not in text for token in TOKENS)

        _no_secret_in(page, requests)
        origin = web.rstrip("/")
        assert requests and all(r.url.startswith((origin + "/", origin.replace("http", "ws", 1) + "/")) for r in requests)
        context.close()


def test_two_tabs_as_two_users_are_two_apps_each_on_its_own_first_screen(chromium, live_server):
    with web_process("--backend", live_server.url, "--demo") as (web, server):
        staff = chromium.new_context(viewport=VIEW, locale="nb-NO")
        citizen = chromium.new_context(viewport=VIEW, locale="nb-NO")
        desk = _sign_in_as(staff.new_page(), web, "Helsesekretær, Fjordsiden")
        ola = _sign_in_as(citizen.new_page(), web, "Ola Nordmann")
        assert app_processes(server) == 2
        desk.page.screenshot(path=SHOTS / "8-staff-ekspedisjonen.png")
        ola.page.screenshot(path=SHOTS / "9-citizen-ola.png")
        assert "Helsesekretær, Fjordsiden" in desk.page.content() and "Ola Nordmann" in ola.page.content()
        staff.close()
        _wait(ola, lambda: app_processes(server) == 1, "the closed tab's app process ending")
        citizen.close()


@pytest.fixture
def idp():
    server = ProviderServer(0, audience=AUDIENCE).start()
    yield server
    server.stop()


def test_a_citizen_signs_in_through_the_local_openid_provider_and_demo_users_are_not_offered(chromium, db_path, idp):
    verifier = Verifier({"citizen": idp.issuer("idporten"), "staff": idp.issuer("helseid")}, AUDIENCE).start()
    backend = EmbeddedServer(db_path, demo=False, oidc=verifier).start()
    backend.ready.wait(30)
    database = open_database(db_path, demo=False)
    kari = _identity_number(database, 1)
    database.dispose()
    try:
        with web_process(
            "--backend",
            backend.url,
            "--oidc-issuer",
            f"citizen={idp.issuer('idporten')}",
            "--oidc-issuer",
            f"staff={idp.issuer('helseid')}",
        ) as (web, _server):
            context = chromium.new_context(viewport=VIEW, locale="nb-NO")
            page = context.new_page()
            requests: list = []
            page.on("request", lambda request: requests.append(request))
            page.goto(web)
            assert "Demobrukere" not in page.content()
            page.get_by_role("link", name="Logg inn med ID-porten (innbygger)").click()
            page.fill("input[name=pid]", kari)
            page.screenshot(path=SHOTS / "10-id-porten-form.png")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
            assert page.url == f"{web}/app", (page.url, page.content()[:800])
            terminal = Terminal(page)
            terminal.open()
            assert "Kari Nordmann" in page.content()
            page.screenshot(path=SHOTS / "11-oidc-citizen.png")
            for request in requests:  # the access token never passes through the browser: only the code does
                assert "access_token" not in request.url
            assert kari not in page.content() and kari not in page.url
            context.close()
    finally:
        backend.stop()


def _export_trace(page, folder: Path) -> Path:
    """E in the trace panel, and the file the browser saves. Chromium has cancelled the first download now and then
    (1 run in 3 on the loaded 2-core machine, «Download.save_as: canceled», cause not found): E a second time, as a
    person would, and that one must arrive."""
    from playwright.sync_api import Error as PlaywrightError

    for attempt in range(2):
        with page.expect_download() as download:
            page.keyboard.press("e")
        saved = folder / download.value.suggested_filename
        try:
            download.value.save_as(saved)
            return saved
        except PlaywrightError as error:
            if "canceled" not in str(error) or attempt:
                raise
    raise AssertionError("unreachable")
