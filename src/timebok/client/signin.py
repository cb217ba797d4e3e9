"""Signs in with OpenID Connect: authorization code + PKCE on a loopback redirect (RFC 8252), and refresh before expiry."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from timebok.domain.clock import now

REFRESH_MARGIN = 60  # seconds before expiry that the access token is renewed, so no request goes with a dying one


class SignInError(Exception):
    """Signing in (or renewing) failed; the message is one line in English for logs, and never holds a token.

    `reason` says what failed for the app's own words (ui texts «signin.error.<reason>»): unreachable (the sign-in
    service does not answer), listen (the redirect's port is taken), timeout, mismatch, refused (by the sign-in page),
    rejected (by the token endpoint), expired, cancelled, config."""

    def __init__(self, message: str, *, reason: str = "rejected", detail: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail  # a port or the like, safe to show
        self.service = ""  # the sign-in service's name (ID-porten, HelseID), where the caller knows it


class SignInCancelled(SignInError):
    """The user gave up waiting for the sign-in page (Esc in the app)."""


@dataclass(frozen=True)
class Tokens:
    """What the provider handed us. Never printed: repr hides the secrets (a traceback's locals stay clean)."""

    issuer: str
    client_id: str
    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float = 0.0  # epoch seconds on the process's clock

    def expiring(self, margin: float = REFRESH_MARGIN) -> bool:
        return now().timestamp() >= self.expires_at - margin

    def as_dict(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
        }


def endpoints(issuer: str, http: httpx.Client) -> dict[str, Any]:
    """The provider's discovery document (authorization and token endpoints)."""
    try:
        response = http.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document
    except (httpx.HTTPError, ValueError) as error:
        raise SignInError(f"cannot reach the sign-in service at {issuer}: {type(error).__name__}", reason="unreachable") from None


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")
    return verifier, challenge


class _Redirect:
    """A one-shot HTTP listener on 127.0.0.1 that catches the provider's redirect with the code."""

    def __init__(self, port: int) -> None:
        result: dict[str, str] = {}
        done = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                query = parse_qs(urlsplit(self.path).query)
                if urlsplit(self.path).path != "/callback" or not ("code" in query or "error" in query):
                    self.send_error(404)
                    return
                result.update({k: v[0] for k, v in query.items()})
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(b"<p>timebok: innlogget / signed in. Du kan lukke denne fanen.</p>")
                done.set()

            def log_message(self, *_args: object) -> None:  # the query holds the code: never on stderr
                pass

        try:
            self.server = HTTPServer(("127.0.0.1", port), Handler)
        except OSError as error:
            raise SignInError(
                f"cannot listen for the sign-in answer on 127.0.0.1:{port}: {error.strerror}", reason="listen", detail=str(port)
            ) from None
        self.uri = f"http://127.0.0.1:{self.server.server_port}/callback"
        self.result, self.done = result, done
        self._thread = threading.Thread(target=self.server.serve_forever, name="timebok-signin", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sign_in(
    issuer: str,
    client_id: str,
    scopes: str = "openid",
    *,
    redirect_port: int = 0,
    open_browser: Callable[[str], bool] = webbrowser.open,
    show_url: Callable[[str], None] = print,
    timeout: float = 300.0,
    http: httpx.Client | None = None,
    cancelled: threading.Event | None = None,
    prompt: str | None = None,
) -> Tokens:
    """The authorization code flow with PKCE: open the browser (or show the URL to open on this machine) and wait.

    `cancelled`, when set by another thread, stops the wait (SignInCancelled). `prompt="login"` asks the provider
    for the login form even when its browser session still knows someone (signing in as someone else)."""
    own = http is None
    http = http or httpx.Client(timeout=10)
    try:
        config = endpoints(issuer, http)
        verifier, challenge = _pkce()
        state = secrets.token_urlsafe(16)
        redirect = _Redirect(redirect_port)
        try:
            url = f"{config['authorization_endpoint']}?" + urlencode(
                {
                    "response_type": "code",
                    "client_id": client_id,
                    "redirect_uri": redirect.uri,
                    "scope": scopes,
                    "state": state,
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                    **({"prompt": prompt} if prompt else {}),
                }
            )
            opened = False
            try:
                opened = bool(open_browser(url))
            except Exception:  # noqa: BLE001 - no browser (SSH): the URL is shown instead
                opened = False
            if not opened:
                show_url(url)
            deadline = time.monotonic() + timeout
            while not redirect.done.wait(0.2):
                if cancelled is not None and cancelled.is_set():
                    raise SignInCancelled("the sign-in was cancelled", reason="cancelled")
                if time.monotonic() >= deadline:
                    raise SignInError("no answer from the sign-in page in time; try again", reason="timeout")
        finally:
            redirect.close()
        answer = redirect.result
        if answer.get("state") != state:
            raise SignInError("the sign-in answer does not belong to this sign-in; try again", reason="mismatch")
        if "error" in answer:
            raise SignInError(f"the sign-in was refused: {answer.get('error_description') or answer['error']}", reason="refused")
        return _token_request(
            http,
            config["token_endpoint"],
            issuer,
            client_id,
            {
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": redirect.uri,
                "client_id": client_id,
                "code_verifier": verifier,
            },
        )
    finally:
        if own:
            http.close()


def pkce() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge, for a sign-in whose redirect another program receives (timebok web)."""
    return _pkce()


def authorization_url(
    config: dict[str, Any], client_id: str, redirect_uri: str, scopes: str, state: str, challenge: str, prompt: str | None = None
) -> str:
    """The provider's authorization endpoint with an authorization-code + PKCE (S256) request."""
    return f"{config['authorization_endpoint']}?" + urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scopes,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **({"prompt": prompt} if prompt else {}),
        }
    )


def redeem_code(
    http: httpx.Client, config: dict[str, Any], issuer: str, client_id: str, code: str, redirect_uri: str, verifier: str
) -> Tokens:
    """The tokens for an authorization code (the provider checks the PKCE verifier), or SignInError."""
    return _token_request(
        http,
        config["token_endpoint"],
        issuer,
        client_id,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )


def refresh(tokens: Tokens, *, http: httpx.Client | None = None) -> Tokens:
    """New tokens from the refresh token, or SignInError: then the user signs in again."""
    if not tokens.refresh_token:
        raise SignInError("the sign-in has expired; sign in again", reason="expired")
    own = http is None
    http = http or httpx.Client(timeout=10)
    try:
        config = endpoints(tokens.issuer, http)
        renewed = _token_request(
            http,
            config["token_endpoint"],
            tokens.issuer,
            tokens.client_id,
            {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token, "client_id": tokens.client_id},
        )
        return renewed if renewed.refresh_token else replace(renewed, refresh_token=tokens.refresh_token)
    finally:
        if own:
            http.close()


def _token_request(http: httpx.Client, url: str, issuer: str, client_id: str, form: dict[str, str | None]) -> Tokens:
    # The response holds the tokens: it goes to no trace and no log, and its text is never quoted in an error.
    try:
        response = http.post(url, data=form)
    except httpx.HTTPError as error:
        raise SignInError(f"cannot reach the sign-in service: {type(error).__name__}", reason="unreachable") from None
    if response.status_code != 200:
        try:
            reason = str(response.json().get("error", response.status_code))
        except ValueError:
            reason = str(response.status_code)
        # A 5xx is a service that is down or overloaded: the user hears «svarer ikke», not «refused».
        raise SignInError(
            f"the sign-in service refused ({reason[:60]}); sign in again",
            reason="unreachable" if response.status_code >= 500 else "rejected",
        )
    body = response.json()
    return Tokens(
        issuer=issuer,
        client_id=client_id,
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token"),
        expires_at=now().timestamp() + float(body.get("expires_in", 300)),
    )


class TokenSource:
    """The current access token of one sign-in, renewed before it expires.

    When the refresh token fails too, it takes a newer sign-in from `stored` (e.g. `timebok login` run in another
    window), else asks `sign_in_again` (the browser flow), else raises SignInError; `on_change` keeps what it got.
    `name` and `scopes` say how to sign in again from inside the app (the kept sign-in's name, the scopes asked)."""

    def __init__(
        self,
        tokens: Tokens,
        *,
        on_change: Callable[[Tokens], None] | None = None,
        stored: Callable[[], Tokens | None] | None = None,
        sign_in_again: Callable[[], Tokens] | None = None,
        name: str = "default",
        scopes: str | None = None,
        service: str = "",
    ) -> None:
        self.tokens = tokens
        self.name = name
        self.service = service  # the sign-in service's name for the user (ID-porten, HelseID); empty when unknown
        self.scopes = scopes
        self._on_change = on_change
        self._stored = stored
        self.sign_in_again = sign_in_again
        self._lock = threading.Lock()

    def bearer(self) -> str:
        """The access token to send now (renewed first when it is about to expire); SignInError when it cannot be."""
        with self._lock:
            if self.tokens.expiring():
                self._renew()
            return self.tokens.access_token

    def _renew(self) -> None:
        try:
            self._use(refresh(self.tokens))
            return
        except SignInError:
            if (
                self._stored is not None
                and (newer := self._stored()) is not None
                and not newer.expiring()
                and newer.access_token != self.tokens.access_token
            ):
                self.tokens = newer
                return
            if self.sign_in_again is None:
                raise
        self._use(self.sign_in_again())

    def signed_in(self, tokens: Tokens) -> None:
        """A new sign-in made elsewhere (the app's «Logg inn på nytt»): use it from the next request on, and keep it."""
        with self._lock:
            self._use(tokens)

    def sign_out(self) -> None:
        """Forget the tokens in memory (issuer and client kept, to sign in again): no request is signed with them."""
        with self._lock:
            self.tokens = Tokens(issuer=self.tokens.issuer, client_id=self.tokens.client_id, access_token="")

    def _use(self, tokens: Tokens) -> None:
        self.tokens = tokens
        if self._on_change is not None:
            self._on_change(tokens)
