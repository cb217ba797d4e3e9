"""The web server: sign-in pages, then one textual-serve app process per tab, signed in as its browser's user.

The tokens never reach the browser: it holds a random session id in an httpOnly cookie, and each tab's app process
gets the tokens in its environment (readable by this server's user alone). textual-serve's own page is replaced by
ours (pages.py): no Google font, no inline script, and a Content-Security-Policy that allows this origin alone."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import textual_serve
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from timebok.client import signin
from timebok.web import pages
from timebok.web.sessions import Pending, Sessions, SignedIn

log = logging.getLogger("timebok.web")

SESSION_COOKIE = "timebok_session"
BROWSER_COOKIE = "timebok_browser"  # binds a sign-in under way to the browser that started it
TEXTUAL_SERVE_STATIC = Path(textual_serve.__file__).parent / "static"
OWN_STATIC = Path(__file__).parent / "static"
# Where each sign-in button leads: (path, the issuer role it uses, scopes, its label's text id).
REALMS = {
    "staff": ("staff", "openid", "web.helseid"),
    "support": ("support", "openid nhn:timebok/support", "web.helseid_support"),
    "citizen": ("citizen", "openid", "web.idporten"),
}


@dataclass
class WebConfig:
    backend_url: str  # the FHIR base, e.g. http://127.0.0.1:8787/fhir
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None  # https://… behind a TLS proxy; else http://host:port
    demo: bool = False  # offer the backend's demo users
    issuers: dict[str, str] = field(default_factory=dict)  # role (citizen, staff, support) → issuer URL
    client_id: str = "timebok"
    max_tabs: int = 20
    idle_seconds: float = 15 * 60
    command: str = ""  # the app's command line; default: this Python running timebok

    @property
    def origin(self) -> str:
        parts = urlsplit(self.public_url or f"http://{self.host}:{self.port}")
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def secure(self) -> bool:
        return self.origin.startswith("https:")

    def issuer_for(self, realm: str) -> str | None:
        role = REALMS[realm][0]
        if role == "support":
            return self.issuers.get("support") or self.issuers.get("staff")
        return self.issuers.get(role)


class TabService(AppService):
    """One tab's app process: textual-serve's, with the tab's user (tokens) and its own folders in its environment."""

    def __init__(self, command: str, extra_env: dict[str, str], **options: Any) -> None:
        super().__init__(command, **options)
        self._extra_env = extra_env

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width=width, height=height)
        for name in ("TIMEBOK_TOKEN", "TIMEBOK_AGENT_TOKEN", "TIMEBOK_CONFIG"):
            environment.pop(name, None)  # the server's own, if any, are never a tab's
        environment.update(self._extra_env)
        return environment


class WebServer:
    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self.sessions = Sessions(max_tabs=config.max_tabs, idle_seconds=config.idle_seconds)
        self.downloads = DownloadManager()
        self.folder = Path(tempfile.mkdtemp(prefix="timebok-web-"))  # 0700: the tabs' configs and folders
        self._services: dict[str, set[str]] = {}  # sign-in id → its tabs' app service ids (for their downloads)
        self.command = config.command or (
            # exec: the app is this server's own child (no shell between), so it notices when the server is gone.
            f"exec {shlex.quote(sys.executable)} -c 'import sys; from timebok.tui.cli import main; sys.exit(main())'"
        )

    # -- the web application ------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._headers])
        app.add_routes(
            [
                web.get("/", self.index),
                web.get("/signin/callback", self.callback),
                web.get("/signin/{realm}", self.start_sign_in),
                web.post("/signin/demo", self.demo_sign_in),
                web.post("/signout", self.sign_out),
                web.get("/app", self.app_page),
                web.get("/ws", self.websocket),
                web.get("/download/{key}", self.download),
                web.static("/static", TEXTUAL_SERVE_STATIC),
                web.static("/web", OWN_STATIC),
            ]
        )
        app.on_cleanup.append(self._cleanup)
        return app

    async def _cleanup(self, _app: web.Application) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    @web.middleware
    async def _headers(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        response = await handler(request)
        websocket = ("wss://" if self.config.secure else "ws://") + urlsplit(self.config.origin).netloc
        response.headers["Content-Security-Policy"] = pages.content_security_policy(websocket)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.path.startswith(("/static/", "/web/")):
            response.headers["Cache-Control"] = "no-store"
        if self.config.secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    # -- cookies -----------------------------------------------------------------------------------------

    def _set_cookie(self, response: web.StreamResponse, name: str, value: str) -> None:
        # Lax, not Strict: the sign-in comes back from the provider's site, and the cookie must come along.
        response.set_cookie(name, value, httponly=True, secure=self.config.secure, samesite="Lax", path="/")

    def _browser(self, request: web.Request, response: web.StreamResponse | None = None) -> str:
        """This browser's random id (set on its first visit); sign-ins under way and forms are bound to it."""
        known = request.cookies.get(BROWSER_COOKIE)
        if known:
            return known
        fresh = secrets.token_urlsafe(24)
        if response is not None:
            self._set_cookie(response, BROWSER_COOKIE, fresh)
        return fresh

    @staticmethod
    def _csrf(browser: str) -> str:
        return hashlib.sha256(f"timebok-form:{browser}".encode()).hexdigest()[:32]

    def _form_ok(self, request: web.Request, form: Any) -> bool:
        browser = request.cookies.get(BROWSER_COOKIE, "")
        return bool(browser) and hmac.compare_digest(str(form.get("csrf", "")), self._csrf(browser))

    def _who(self, request: web.Request) -> SignedIn | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE))

    def _lang(self, request: web.Request) -> str:
        return pages.language(request.headers.get("Accept-Language", ""))

    # -- sign-in -----------------------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        if self._who(request) is not None:
            raise web.HTTPFound("/app")
        return await self._sign_in_page(request)

    async def _sign_in_page(self, request: web.Request, *, error: str = "", note: str = "", status: int = 200) -> web.Response:
        lang = self._lang(request)
        response = web.Response(content_type="text/html", status=status)
        browser = self._browser(request, response)
        realms = [(path, label) for path, (_role, _scopes, label) in REALMS.items() if self.config.issuer_for(path)]
        users = [(key, label) for key, label, _t, _a in await self._demo_users(lang)] if self.config.demo else []
        response.text = pages.sign_in_page(
            lang, realms=realms, demo_users=users, csrf=self._csrf(browser), error=error, note=note
        )
        return response

    async def _demo_users(self, lang: str) -> list[tuple[str, str, str, str]]:
        """The demo backend's people: (form key, label, bearer token, agent token); tokens stay on this server."""
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(self._root + "/auth/demo-users")
            response.raise_for_status()
            rows = response.json()
        citizens = [r for r in rows if r["role"] == "citizen"]
        staff = [r for r in rows if r["role"] == "staff"]
        agents = [r for r in rows if r["role"] == "support"]
        users = [(f"citizen:{i}", r["name"], r["token"], "") for i, r in enumerate(citizens)]
        users += [(f"staff:{i}", r["name"], r["token"], "") for i, r in enumerate(staff)]
        users += [
            (
                f"support:{a}:{c}",
                pages.text(lang, "web.as_citizen", agent=agent["name"], citizen=citizen["name"]),
                citizen["token"],
                agent["token"],
            )
            for a, agent in enumerate(agents)
            for c, citizen in enumerate(citizens)
        ]
        return users

    @property
    def _root(self) -> str:
        return self.config.backend_url.rstrip("/").removesuffix("/fhir")

    async def _userinfo(self, token: str, agent_token: str = "") -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} | ({"X-Support-Agent": agent_token} if agent_token else {})
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(self._root + "/auth/userinfo", headers=headers)
        if response.status_code != 200:
            try:
                why = response.json()["issue"][0]["diagnostics"]
            except (ValueError, KeyError, IndexError, TypeError):
                why = f"HTTP {response.status_code}"
            raise signin.SignInError(str(why), reason="refused")
        info: dict[str, Any] = response.json()
        return info

    def _signed_in(self, role: str, name: str, token: str, agent_token: str = "") -> web.HTTPSeeOther:
        who = self.sessions.add(role, name, token, agent_token)
        response = web.HTTPSeeOther("/app")
        self._set_cookie(response, SESSION_COOKIE, who.id)
        return response

    async def demo_sign_in(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        if not self.config.demo or not self._form_ok(request, form):
            raise web.HTTPForbidden(text="forbidden")
        lang = self._lang(request)
        chosen = next((u for u in await self._demo_users(lang) if u[0] == form.get("user")), None)
        if chosen is None:
            return await self._sign_in_page(request, status=400)
        _key, label, token, agent_token = chosen
        info = await self._userinfo(token, agent_token)
        role = "support" if info.get("agent") else str(info["role"])
        raise self._signed_in(role, label, token, agent_token)

    async def start_sign_in(self, request: web.Request, *, agent: tuple[str, str] | None = None) -> web.StreamResponse:
        realm = request.match_info.get("realm", "citizen") if agent is None else "citizen"
        issuer = self.config.issuer_for(realm) if realm in REALMS else None
        if issuer is None:
            raise web.HTTPNotFound(text="no such sign-in")
        browser = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(24)
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                found = await http.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
                found.raise_for_status()
                config = found.json()
        except (httpx.HTTPError, ValueError):
            return await self._sign_in_page(request, error=pages.text(self._lang(request), "web.failed", why=issuer), status=502)
        verifier, challenge = signin.pkce()
        state = secrets.token_urlsafe(24)
        self.sessions.start(
            state,
            Pending(
                browser, realm, issuer, verifier, agent_token=agent[0] if agent else "", agent_name=agent[1] if agent else ""
            ),
        )
        scopes = REALMS[realm][1]
        response = web.HTTPFound(
            signin.authorization_url(config, self.config.client_id, self._callback_url, scopes, state, challenge, prompt="login")
        )
        if request.cookies.get(BROWSER_COOKIE) != browser:
            self._set_cookie(response, BROWSER_COOKIE, browser)
        raise response

    @property
    def _callback_url(self) -> str:
        return f"{self.config.origin}/signin/callback"

    async def callback(self, request: web.Request) -> web.StreamResponse:
        lang = self._lang(request)
        pending = self.sessions.finish(request.query.get("state", ""), request.cookies.get(BROWSER_COOKIE))
        if pending is None or "code" not in request.query:
            why = request.query.get("error_description") or request.query.get("error") or "state"
            return await self._sign_in_page(request, error=pages.text(lang, "web.failed", why=why)[:300], status=400)
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                config = (await http.get(f"{pending.issuer.rstrip('/')}/.well-known/openid-configuration")).json()
            tokens = await asyncio.to_thread(self._redeem, config, pending, request.query["code"])
            info = await self._userinfo(tokens.access_token, pending.agent_token)
        except (signin.SignInError, httpx.HTTPError, ValueError, KeyError) as error:
            return await self._sign_in_page(request, error=pages.text(lang, "web.failed", why=str(error))[:300], status=403)
        if info.get("role") == "support" and not info.get("agent"):
            # A support agent acts as a test citizen: that citizen signs in next (ID-porten), the agent's token waits here.
            return await self.start_sign_in(request, agent=(tokens.access_token, str(info["name"])))
        if pending.agent_token:
            name = pages.text(lang, "web.as_citizen", agent=pending.agent_name, citizen=str(info["name"]))
            raise self._signed_in("support", name, tokens.access_token, pending.agent_token)
        raise self._signed_in(str(info["role"]), str(info["name"]), tokens.access_token)

    def _redeem(self, config: dict[str, Any], pending: Pending, code: str) -> signin.Tokens:
        with httpx.Client(timeout=10) as http:
            return signin.redeem_code(
                http, config, pending.issuer, self.config.client_id, code, self._callback_url, pending.verifier
            )

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        if not self._form_ok(request, await request.post()):
            raise web.HTTPForbidden(text="forbidden")
        self.sessions.drop(request.cookies.get(SESSION_COOKIE))
        response = web.HTTPSeeOther("/")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response

    # -- the app -----------------------------------------------------------------------------------------

    async def app_page(self, request: web.Request) -> web.StreamResponse:
        who = self._who(request)
        if who is None:
            raise web.HTTPFound("/")
        lang = self._lang(request)
        if self.sessions.full:
            return web.Response(text=pages.full_page(lang, self.config.max_tabs), content_type="text/html", status=503)
        response = web.Response(content_type="text/html")
        browser = self._browser(request, response)
        websocket = ("wss://" if self.config.secure else "ws://") + urlsplit(self.config.origin).netloc + "/ws"
        response.text = pages.app_page(lang, name=who.name, websocket_url=websocket, csrf=self._csrf(browser))
        return response

    def _tab_env(self, who: SignedIn, lang: str) -> tuple[dict[str, str], Path]:
        folder = Path(tempfile.mkdtemp(prefix="tab-", dir=self.folder))
        config = folder / "timebok.toml"
        config.write_text(f'[backend]\nurl = "{self.config.backend_url}"\n\n[app]\nlanguage = "{lang}"\n', encoding="utf-8")
        config.chmod(0o600)
        env = {
            "TIMEBOK_CONFIG": str(config),
            "TIMEBOK_WEB_SERVER_PID": str(os.getpid()),  # the app leaves when this process is gone (tui/app.py)
            "TIMEBOK_TOKEN": who.token,
            **({"TIMEBOK_AGENT_TOKEN": who.agent_token} if who.agent_token else {}),
            # Its own state, trace exports and downloads folder: nothing shared with another tab, removed when it closes.
            **{
                name: str(folder / part)
                for name, part in (
                    ("XDG_CONFIG_HOME", "c"),
                    ("XDG_DATA_HOME", "d"),
                    ("XDG_STATE_HOME", "s"),
                    ("XDG_CACHE_HOME", "k"),
                    ("HOME", "h"),
                )
            },
        }
        return env, folder

    def _same_origin(self, request: web.Request) -> bool:
        # A websocket is not bound by the same-origin policy: another site's page must not open one with our cookie.
        return request.headers.get("Origin", "") == self.config.origin

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        who = self._who(request)
        if who is None or not self._same_origin(request):
            raise web.HTTPForbidden(text="sign in first")
        ws = web.WebSocketResponse(heartbeat=15)
        await ws.prepare(request)
        if not self.sessions.open_tab(who):
            await ws.close(code=1013, message=b"full")
            return ws
        env, folder = self._tab_env(who, self._lang(request))
        service = TabService(
            self.command,
            env,
            write_bytes=ws.send_bytes,
            write_str=ws.send_str,
            close=ws.close,
            download_manager=self.downloads,
            debug=False,
        )
        self._services.setdefault(who.id, set()).add(service.app_service_id)
        last_input = [time.monotonic()]
        idle = asyncio.create_task(self._close_when_idle(ws, last_input))
        try:
            width = _int(request.query.get("width"), 80)
            height = _int(request.query.get("height"), 24)
            await service.start(width, height)
            await self._pump(ws, service, last_input)
        except Exception:  # noqa: BLE001 - one tab's failure is logged and closes that tab only
            log.exception("a tab failed")
        finally:
            idle.cancel()
            with contextlib.suppress(Exception):
                await service.stop()
            self._services.get(who.id, set()).discard(service.app_service_id)
            self.sessions.close_tab(who)
            shutil.rmtree(folder, ignore_errors=True)
        return ws

    async def _close_when_idle(self, ws: web.WebSocketResponse, last_input: list[float]) -> None:
        limit = self.config.idle_seconds
        while not ws.closed:
            await asyncio.sleep(min(30.0, max(limit / 4, 0.5)))
            if time.monotonic() - last_input[0] > limit:
                await ws.close(code=4000, message=b"idle")  # the page says «Økten er avsluttet»; the process stops
                return

    @staticmethod
    async def _pump(ws: web.WebSocketResponse, service: AppService, last_input: list[float]) -> None:
        """The browser's keys, mouse and size to the app (textual-serve's protocol); anything else is ignored."""
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = message.json()
                kind, data = envelope[0], envelope[1]
            except (ValueError, TypeError, IndexError, KeyError):
                continue
            if kind == "stdin" and isinstance(data, str):
                last_input[0] = time.monotonic()
                await service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await service.set_terminal_size(_int(data.get("width"), 80), _int(data.get("height"), 24))
            elif kind == "ping":
                await ws.send_json(["pong", data])
            elif kind == "blur":
                await service.blur()
            elif kind == "focus":
                await service.focus()

    async def download(self, request: web.Request) -> web.StreamResponse:
        """A file a tab delivers (the trace export): only to the browser signed in as that tab's user."""
        who = self._who(request)
        key = request.match_info["key"]
        try:
            meta = await self.downloads.get_download_metadata(key)
        except KeyError:
            raise web.HTTPNotFound(text="no such download") from None
        if who is None or meta.app_service.app_service_id not in self._services.get(who.id, set()):
            raise web.HTTPNotFound(text="no such download")
        response = web.StreamResponse()
        response.headers["Content-Type"] = meta.mime_type + (f"; charset={meta.encoding}" if meta.encoding else "")
        safe = "".join(c for c in meta.file_name if c.isalnum() or c in "-_.") or "download"
        response.headers["Content-Disposition"] = f'attachment; filename="{safe}"'
        await response.prepare(request)
        async for chunk in self.downloads.download(key):
            await response.write(chunk)
        await response.write_eof()
        return response


def _int(value: object, default: int) -> int:
    try:
        return max(1, min(int(str(value)), 1000))
    except ValueError:
        return default


def serve(config: WebConfig, *, on_ready: Callable[[str], None] | None = None) -> None:
    """Run until interrupted (Ctrl+C or SIGTERM); `on_ready` hears the address once the port is listening."""
    server = WebServer(config)

    async def run() -> None:
        runner = web.AppRunner(server.make_app(), access_log=None, handle_signals=True)
        await runner.setup()
        try:
            await web.TCPSite(runner, config.host, config.port).start()
            if on_ready is not None:
                on_ready(config.public_url or f"http://{config.host}:{config.port}")
            await asyncio.Event().wait()  # until a signal ends the loop
        finally:
            await runner.cleanup()  # each tab's app process is stopped with its websocket

    with contextlib.suppress(KeyboardInterrupt, web.GracefulExit):
        asyncio.run(run())
