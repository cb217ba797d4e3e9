"""`timebok web` over HTTP, without a browser: headers, cookies, sign-in rules, the cap on tabs and idle tabs."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest

from tests.conftest import KARI, SUPPORT
from tests.web_helpers import web_process

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _jar() -> aiohttp.CookieJar:
    return aiohttp.CookieJar(unsafe=True)  # the server is on 127.0.0.1: keep its cookies anyway


async def _sign_in(http: aiohttp.ClientSession, web: str, user: str) -> None:
    page = await (await http.get(web + "/", headers={"Accept-Language": "nb"})).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    answer = await http.post(web + "/signin/demo", data={"csrf": csrf, "user": user}, allow_redirects=False)
    assert answer.status == 303 and answer.headers["Location"] == "/app"


async def _first_frame(ws) -> None:
    message = await asyncio.wait_for(ws.receive(), 30)
    assert message.type == aiohttp.WSMsgType.BINARY


async def test_the_pages_allow_only_their_own_origin_and_hold_no_token(live_server):
    with web_process("--backend", live_server.url, "--demo") as (web, _server):
        async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
            first = await http.get(web + "/")
            csp = first.headers["Content-Security-Policy"]
            assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert "http" not in csp.replace(web.replace("http", "ws", 1), "")  # no other origin is named
            assert "HttpOnly" in first.headers["Set-Cookie"] and "Secure" not in first.headers["Set-Cookie"]
            await _sign_in(http, web, "support:0:2")  # Kundesenter, NHN as Kari Nordmann
            app = await http.get(web + "/app")
            html = await app.text()
            assert "Kundesenter, NHN som Kari Nordmann" in html
            assert KARI not in html and SUPPORT not in html and "fonts.googleapis" not in html and "<script>" not in html
            cookies = {c.key: c for c in http.cookie_jar}
            assert cookies["timebok_session"]["httponly"] and KARI not in cookies["timebok_session"].value


async def test_demo_users_only_with_demo_and_no_form_without_its_browser(live_server):
    with web_process("--backend", live_server.url) as (web, _server):
        async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
            page = await (await http.get(web + "/")).text()
            assert "Kari Nordmann" not in page
            refused = await http.post(web + "/signin/demo", data={"csrf": "x", "user": "citizen:2"}, allow_redirects=False)
            assert refused.status == 403
            assert (await http.get(web + "/app", allow_redirects=False)).status == 302  # not signed in: to sign-in
    with web_process("--backend", live_server.url, "--demo") as (web, _server):
        async with aiohttp.ClientSession() as stranger:  # another site's form: no browser cookie, no valid csrf
            refused = await stranger.post(web + "/signin/demo", data={"csrf": "x", "user": "citizen:2"}, allow_redirects=False)
            assert refused.status == 403


async def test_a_cap_on_tabs_another_sites_websocket_is_refused_and_an_idle_tab_closes(live_server):
    with web_process("--backend", live_server.url, "--demo", "--max-tabs", "1", "--idle-minutes", "0.05") as (web, _server):
        async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
            await _sign_in(http, web, "citizen:2")
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(web + "/ws", origin="http://evil.example")
            async with http.ws_connect(web + "/ws?width=80&height=24", origin=web) as first:
                await _first_frame(first)
                full = await http.get(web + "/app")
                assert full.status == 503 and "Alle 1 plassene er i bruk" in await full.text()
                async with http.ws_connect(web + "/ws", origin=web) as second:
                    closing = await asyncio.wait_for(second.receive(), 10)
                    assert closing.type == aiohttp.WSMsgType.CLOSE and second.close_code == 1013
                # No key for 3 s: the tab is closed, and its place is free again.
                while not first.closed:
                    message = await asyncio.wait_for(first.receive(), 20)
                    if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                        break
                assert first.close_code == 4000
            for _ in range(50):
                if (await http.get(web + "/app")).status == 200:
                    break
                await asyncio.sleep(0.2)
            assert (await http.get(web + "/app")).status == 200


async def test_a_tabs_app_leaves_when_the_web_server_is_killed(live_server):
    import os
    import signal
    from pathlib import Path

    with web_process("--backend", live_server.url, "--demo") as (web, server):
        async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
            await _sign_in(http, web, "citizen:2")
            async with http.ws_connect(web + "/ws?width=80&height=24", origin=web) as ws:
                await _first_frame(ws)
                tabs = [
                    int(p.parent.name)
                    for p in Path("/proc").glob("[0-9]*/cmdline")
                    if b"timebok.tui.cli import main" in p.read_bytes()
                    and int((p.parent / "stat").read_text().rsplit(")", 1)[1].split()[1]) == server.pid
                ]
                assert len(tabs) == 1
                os.kill(server.pid, signal.SIGKILL)  # no «quit» can be said: the app must notice by itself
                for _ in range(100):
                    if not Path(f"/proc/{tabs[0]}").exists() or "Z" in Path(f"/proc/{tabs[0]}/stat").read_text().split()[2]:
                        break
                    await asyncio.sleep(0.1)
                assert not Path(f"/proc/{tabs[0]}").exists() or "Z" in Path(f"/proc/{tabs[0]}/stat").read_text().split()[2]
