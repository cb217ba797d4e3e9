"""The support desk and the demo's user picker in the real app, against the real backend: act as a citizen, trace, audit."""

from __future__ import annotations

import asyncio
import json
import re
import threading

from sqlalchemy import select

from tests.conftest import FJORD_STAFF, KARI, OLA, SUPPORT
from tests.sqlite_lock import hold_write_lock
from tests.tui_helpers import TIMEOUT, footer_keys, make_app, screen_text, settle
from timebok.backend import schema
from timebok.backend.server import open_database
from timebok.screens.appointments import AppointmentsScreen
from timebok.screens.demo_users import DemoUserScreen
from timebok.screens.staff_home import StaffHomeScreen
from timebok.screens.start import StartScreen
from timebok.screens.trace import TraceScreen
from timebok.screens.trace_detail import TraceDetailScreen
from timebok.tui.run import demo_user

SIZE = (100, 32)
IDENTITY_NUMBER = re.compile(r"(?<!\d)\d{11}(?!\d)")


async def _pick(pilot, label: str) -> None:
    """Open the demo's user picker and choose the entry with this label."""
    await pilot.press("u")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, DemoUserScreen)
    options = screen.query_one("#demo-users")
    labels = [str(options.get_option_at_index(i).prompt).strip() for i in range(options.option_count)]
    target = labels.index(label)
    while options.highlighted != target:
        await pilot.press("down" if options.highlighted < target else "up")
    await pilot.press("enter")
    await settle(pilot)


async def test_the_demo_start_screen_lets_you_be_staff_a_citizen_or_an_agent_and_remembers(live_server):
    remembered: list[tuple[str, str]] = []
    app = make_app(live_server, KARI, embedded=True, on_demo_user_change=lambda role, token: remembered.append((role, token)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Demo: du er logget inn som Kari Nordmann. Trykk U for å bytte demobruker." in screen_text(app)

        await _pick(pilot, "Helsesekretær, Fjordsiden")
        assert isinstance(app.screen, StaffHomeScreen) and app.user.is_staff
        assert "Forespørsler (2)" in str(app.screen.query_one("#requests").label)

        await _pick(pilot, "Kundesenter, NHN som Ola Nordmann")
        assert isinstance(app.screen, StartScreen)
        assert (app.user.name, app.user.agent) == ("Ola Nordmann", "Kundesenter, NHN")
        assert app.screen.who() == "Kundesenter, NHN · som Ola Nordmann"

        await _pick(pilot, "Kari Nordmann")
        assert app.user.name == "Kari Nordmann" and not app.user.is_support
    assert remembered == [("staff", FJORD_STAFF), ("support", OLA), ("citizen", KARI)]


async def test_a_real_backend_offers_no_demo_user_picker(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, StartScreen)
        assert "Demo:" not in screen_text(app)


def test_the_demo_starts_as_the_last_user_picked_or_the_configured_role():
    from timebok.tui.settings import BackendSettings, Settings

    assert demo_user(Settings()) == ("demo-citizen-kari", "")
    assert demo_user(Settings(role="staff")) == ("demo-staff-fjordsiden", "")
    assert demo_user(Settings(role="support")) == ("demo-citizen-kari", "demo-support-nhn")
    assert demo_user(Settings(last_demo_role="support", last_demo_token=OLA)) == (OLA, "demo-support-nhn")
    assert demo_user(Settings(last_demo_role="staff", last_demo_token="demo-staff-bakkebyen")) == ("demo-staff-bakkebyen", "")
    assert demo_user(Settings(backend=BackendSettings(token=OLA))) == (OLA, "")


def _without_who(app) -> str:
    who = str(app.screen.query_one("#who").render())
    lines = screen_text(app).splitlines()
    lines.remove(who)
    # The agent's own tool, named on the start screen only (issue 15), is not the citizen's screen; nor is the line
    # saying why «Avbestill» is greyed out for an agent (read-only until «Skriv som», tests/test_tui_support_write.py).
    return "\n".join(line for line in lines if not line.startswith(("O: oppsett for legekontor", "Kun lesing:")))


async def test_an_agent_sees_exactly_the_citizens_screens(live_server):
    seen = {}
    for who, agent in (("citizen", ""), ("agent", SUPPORT)):
        app = make_app(live_server, KARI, agent_token=agent)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            start = _without_who(app)
            await pilot.press("t")
            await settle(pilot)
            assert isinstance(app.screen, AppointmentsScreen)
            seen[who] = (start, _without_who(app), app.screen.who())
    citizen, agent = seen["citizen"], seen["agent"]
    assert agent[2] == "Kundesenter, NHN · som Kari Nordmann" and citizen[2] == "Kari Nordmann"
    assert agent[:2] == citizen[:2]  # everything but the top line naming who is looking


async def test_the_agents_reads_are_in_the_backends_audit_log(live_server, db_path):
    app = make_app(live_server, KARI, agent_token=SUPPORT)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("escape", "i")
        await settle(pilot)
    database = open_database(db_path, demo=False)
    with database.reading() as session:
        events = session.execute(select(schema.AuditEvent.actor, schema.AuditEvent.patient_id, schema.AuditEvent.detail)).all()
    database.dispose()
    actor = "support:Kundesenter, NHN as citizen:Kari Nordmann"
    # Kari, and the people the sign-in listed her as acting for (Emma, Jonas, her mother): the agent saw their names.
    assert {(a, p) for a, p, _ in events} == {(actor, 1), (actor, 6), (actor, 7), (actor, 9)}
    assert {d for _, _, d in events} >= {"Patient/1", "Appointment search", "Communication search"}


async def test_the_trace_key_is_the_support_desks_alone(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert not isinstance(app.screen, TraceScreen)
        assert app.check_action("toggle_trace", ()) is False  # and so not in the footer either


async def test_the_trace_panel_shows_every_request_its_bodies_masked_and_exports_them(live_server, tmp_path):
    app = make_app(live_server, KARI, agent_token=SUPPORT, trace_dir=tmp_path / "traces")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")  # Timeavtaler: a few more requests on the wire
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, TraceScreen)
        table = app.screen.query_one("#trace")
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert len(rows) == len(app.trace.exchanges) >= 4
        assert ["GET", "200", "/fhir/Patient/1"] in [[row[1], row[2], row[4]] for row in rows]
        assert any(row[4].startswith("/fhir/Appointment?") for row in rows)
        assert all(row[3].isdigit() for row in rows)  # the duration in ms

        patient_row = next(i for i, row in enumerate(rows) if row[4] == "/fhir/Patient/1")
        table.move_cursor(row=patient_row)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TraceDetailScreen)
        body = screen_text(app)
        assert '"resourceType": "Patient"' in body and "148385 *****" in body
        assert not IDENTITY_NUMBER.search(body)
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("e")
        await settle(pilot)
        exported = sorted((tmp_path / "traces").glob("timebok-trace-*.json"))
        assert len(exported) == 1
        assert str(exported[0]) in screen_text(app).replace("\n", "")  # the path is shown, to attach to a case
        assert [str(n.message) for n in app._notifications][-1] == "Sporingen er lagret. Stien står nederst i panelet."
        await pilot.press("e")
        await settle(pilot)
        assert len(sorted((tmp_path / "traces").glob("timebok-trace-*.json"))) == 2  # a second export never overwrites

        await pilot.press("ctrl+t")  # the same key closes it
        await settle(pilot)
        assert not isinstance(app.screen, TraceScreen)

    text = exported[0].read_text(encoding="utf-8")
    saved = json.loads(text)["exchanges"]
    assert [e["path"] for e in saved][:3] == ["/auth/userinfo", "/fhir/Patient/1", "/fhir/Organization/1"]
    assert {"method", "path", "status", "duration_ms", "request_body", "response_body"} <= set(saved[0])
    assert not IDENTITY_NUMBER.search(text) and SUPPORT not in text and KARI not in text  # no numbers, no tokens


async def test_after_switching_to_english_the_trace_panel_and_an_exchange_name_their_keys_in_english(live_server, tmp_path):
    from timebok.ui import i18n

    def footer_words() -> set[str]:
        return {key.description for key in footer_keys(app)}

    app = make_app(live_server, KARI, agent_token=SUPPORT, trace_dir=tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.action_switch_language()
            await settle(pilot)
            await pilot.press("ctrl+t")
            await settle(pilot)
            assert isinstance(app.screen, TraceScreen)
            assert {"Close", "Show bodies", "Export"} <= footer_words() and not {"Lukk", "Eksporter"} & footer_words()
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, TraceDetailScreen)
            assert "Close" in footer_words() and "Lukk" not in footer_words()
    finally:
        i18n.set_language("nb")


def test_against_a_real_backend_an_agent_sends_both_tokens_from_the_config(tmp_path, monkeypatch):
    from timebok.tui.config import load_settings
    from timebok.tui.run import _connection

    monkeypatch.delenv("TIMEBOK_TOKEN", raising=False)
    monkeypatch.delenv("TIMEBOK_AGENT_TOKEN", raising=False)
    config = tmp_path / "config.toml"
    config.write_text(
        '[backend]\nurl = "https://timebok.example.no/fhir"\ntoken = "test-citizen"\n'
        'agent_token = "agent-007"\n\n[app]\nrole = "support"\n',
        encoding="utf-8",
    )
    connection = _connection(load_settings(str(config)))
    assert (connection.url, connection.token, connection.agent_token) == (
        "https://timebok.example.no/fhir",
        "test-citizen",
        "agent-007",
    )
    assert not connection.embedded


async def test_the_trace_never_holds_a_token_and_a_new_user_starts_a_new_one(live_server, tmp_path):
    """13.2: the demo users' list (every token) is traced without them; an export as Kari holds no staff traffic."""
    app = make_app(live_server, FJORD_STAFF, embedded=True, trace_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("b", *"khan", "enter")  # a staff search: names and birth dates on the wire
        await settle(pilot)
        await pilot.press("escape", "escape")
        await settle(pilot)
        await _pick(pilot, "Kundesenter, NHN som Kari Nordmann")
        assert app.user.is_support
        await pilot.press("u")  # the picker again, as the agent: the list of users is fetched and traced
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert any(e.path == "/auth/demo-users" for e in app.trace.exchanges)
        await pilot.press("ctrl+t")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)

    [exported] = sorted(tmp_path.glob("timebok-trace-*.json"))
    assert exported.stat().st_mode & 0o777 == 0o600
    text = exported.read_text(encoding="utf-8")
    for secret in ("demo-staff-fjordsiden", "demo-citizen-kari", "demo-citizen-ola", SUPPORT, "Bearer"):
        assert secret not in text
    assert "Patient/_search" not in text
    saved = json.loads(text)
    header = saved["header"]
    assert header["signed_in"] == {"role": "support", "name": "Kundesenter, NHN", "office": None}
    assert header["on_behalf_of"] == "Kari Nordmann" and header["backend"] == live_server.url
    assert header["version"] and header["exported"].startswith("2026-11-25T")
    assert saved["exchanges"][0]["path"] == "/auth/userinfo"  # the agent's session from its first request
    assert {e["method"] for e in saved["exchanges"]} == {"GET"}  # the staff session's search (a POST) is not in Kari's case
    users = next(e for e in saved["exchanges"] if e["path"] == "/auth/demo-users")
    assert '"token": "***"' in users["response_body"]


async def test_each_trace_entry_carries_the_headers_that_matter(live_server, tmp_path):
    """13.2: an ETag answered, an If-Match sent (cancelling), and the server's request id when it sends one."""
    from timebok.client.models import AppointmentState

    app = make_app(live_server, OLA, agent_token=SUPPORT)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.client.write_as_citizen("Sak 13.2: avbestiller for Ola")  # an agent writes only after «Skriv som»
        await app.client.cancel(next(a for a in await app.client.appointments() if a.state is AppointmentState.WAITING))
        patched = next(e for e in app.trace.exchanges if e.method == "PATCH")
        assert patched.request_headers["if-match"].startswith('W/"')
        assert patched.request_headers["content-type"] == "application/json-patch+json"
        assert patched.response_headers["etag"] == f'W/"{int(patched.request_headers["if-match"][3:-1]) + 1}"'
        read = next(e for e in app.trace.exchanges if e.path == "/fhir/Patient/2")
        assert "authorization" not in read.request_headers and "x-support-agent" not in read.request_headers
        # The backend's X-Request-ID (issue 11) is kept when the backend sends it.
        assert read.request_id == read.response_headers.get("x-request-id")


async def test_u_pressed_before_the_demo_backend_answers_does_not_crash(live_server):
    """Seen in tmux: the start screen paints first, and U right away met a client not yet made."""
    import time

    from timebok.tui.app import TimebokApp
    from timebok.tui.connection import Connection

    slow = Connection(live_server.url, KARI, timeout=TIMEOUT, embedded=True, wait_until_ready=lambda: time.sleep(1.0))
    app = TimebokApp(slow)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("u")  # before the connection is made
        await settle(pilot)
        assert not isinstance(app.screen, DemoUserScreen) and app.user is not None
        await _pick(pilot, "Kari Nordmann")  # and once connected, U works
        assert app.user.name == "Kari Nordmann"


async def test_a_trace_entry_is_matched_to_the_servers_log_line_by_its_request_id(db_url, tmp_path):
    """13.2 with issue 11: a support case names the request id; the server's access log has the same id."""
    from tests.serve_process import ServeProcess

    server = ServeProcess(str(db_url), tmp_path / "serve.log").wait_until_serving()
    try:
        app = _app_on(server.url)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("t")
            await settle(pilot)
            read = next(e for e in app.trace.exchanges if e.path.startswith("/fhir/Appointment?"))
        assert re.fullmatch(r"[a-z2-7]{16}", read.request_id or "")
        # The access line is written just after the answer goes out: on a loaded machine, give it a moment.
        for _ in range(100):
            if read.request_id in server.log.read_text(errors="replace"):
                break
            await asyncio.sleep(0.1)
    finally:
        server.stop()
    log = server.log.read_text(errors="replace").splitlines()
    [line] = [line for line in log if read.request_id in line]
    assert "GET /fhir/Appointment" in line and " 200 " in line
    assert KARI not in "\n".join(log) and SUPPORT not in "\n".join(log)


def _app_on(url: str):
    """The real app on a backend in another process, acting as Kari with the support token."""
    from timebok.tui.app import TimebokApp
    from timebok.tui.connection import Connection

    return TimebokApp(Connection(url, KARI, agent_token=SUPPORT, timeout=TIMEOUT))


async def test_the_support_start_screen_fits_80x24_with_the_setup_hint_and_the_demo_line(live_server):
    app = make_app(live_server, KARI, agent_token=SUPPORT, embedded=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, StartScreen)
        body = app.screen.query_one("#body")
        assert body.max_scroll_y == 0  # nothing below the fold, no scrollbar
        for name in ("#support-hint", "#demo-line"):
            widget = app.screen.query_one(name)
            assert widget.display and widget.region.bottom <= body.region.bottom, name
        text = " ".join(screen_text(app).split())
        assert "O: oppsett for legekontor" in text and "Trykk U for å bytte demobruker." in text


async def test_leaving_a_screen_that_is_still_loading_stops_the_load_before_its_widgets_go(live_server, db_path):
    """Esc while «Timeavtaler» waits on a slow backend. Textual takes a screen's widgets down before it cancels the
    screen's workers; a load answered in between found no widgets and ended the app with a traceback (seen in CI
    once). Ours stop first: when the first of the screen's lists goes, its load is already cancelled."""
    from textual import events
    from textual.widgets import ListView
    from textual.worker import WorkerState

    # For each widget taken down while the screen closes: is its list still there, and is its load still live?
    seen: list[tuple[bool, bool]] = []
    watched: dict = {}

    def watch(message) -> None:
        if isinstance(message, events.Unmount) and watched:
            live = [
                w for w in app.workers if w.node is watched["screen"] and w.state is WorkerState.RUNNING and not w.is_cancelled
            ]
            seen.append((watched["list"].is_attached, bool(live)))

    app = make_app(live_server, KARI, agent_token=SUPPORT)
    async with app.run_test(size=SIZE, message_hook=watch) as pilot:
        await settle(pilot)
        release = threading.Event()
        holder = hold_write_lock(db_path, release=release)
        await pilot.press("t")
        await pilot.pause(0.05)  # the load is waiting on the backend
        assert isinstance(app.screen, AppointmentsScreen)
        watched.update(screen=app.screen, list=app.screen.query_one("#upcoming", ListView))
        await pilot.press("escape")
        await settle(pilot)
        release.set()
        holder.join(5)
        assert app.screen is app.home
        after_the_list_went = [load_live for list_there, load_live in seen if not list_there]
        assert after_the_list_went and not any(after_the_list_went)
        await pilot.press("t")  # and the screen works as before
        await settle(pilot)
        assert "Kommende timer" in screen_text(app)


async def test_the_trace_panel_follows_new_requests_while_the_agent_is_on_the_latest(live_server):
    app = make_app(live_server, KARI, agent_token=SUPPORT)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        table = app.screen.query_one("#trace")
        before = table.row_count
        assert table.cursor_row == before - 1
        for _ in range(12):  # requests made while the panel is open (the app's live refreshes do the same)
            await app.client.appointments(app.user.patient.id)
        await settle(pilot)
        assert table.row_count == before + 12 and table.cursor_row == table.row_count - 1  # the latest, in view
        assert table.scroll_y == table.max_scroll_y > 0
        table.move_cursor(row=0)  # looking at an old one: it stays there
        await app.client.appointments(app.user.patient.id)
        await settle(pilot)
        assert table.cursor_row == 0
