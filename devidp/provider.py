"""The local provider: discovery, JWKS with key rotation, authorize (PKCE, a login form taking a test identity), token and refresh."""

from __future__ import annotations

import base64
import hashlib
import html
import ipaddress
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from timebok.domain.clock import now

# Each realm mimics one national issuer: the claims its access tokens carry and what its login form asks for.
REALMS = ("idporten", "helseid")
ACCESS_LIFETIME = 300  # seconds, like ID-porten's default for access tokens
CODE_LIFETIME = 60
HELSEID_PREFIX = "helseid://claims/"


@dataclass
class Realm:
    """One issuer: its signing keys (RSA and EC; the previous pair stays published after a rotation), codes and refresh tokens."""

    name: str
    audience: str
    keys: list[Any] = field(default_factory=list)
    retired: list[Any] = field(default_factory=list)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh: dict[str, dict[str, Any]] = field(default_factory=dict)
    generation: int = 0

    def __post_init__(self) -> None:
        self.rotate()

    def rotate(self) -> None:
        """New signing keys with new kids; the old ones stay in the JWKS one round, as a real issuer does."""
        self.generation += 1
        tag = f"{self.name}-{self.generation}-{secrets.token_hex(3)}"
        self.retired = self.keys
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": f"{tag}-rs", "use": "sig", "alg": "RS256"}),
                     ECKey.generate_key("P-256", parameters={"kid": f"{tag}-es", "use": "sig", "alg": "ES256"})]

    def key_for(self, alg: str):
        return next(key for key in self.keys if key.alg == alg)

    def jwks(self) -> dict[str, Any]:
        return KeySet(self.keys + self.retired).as_dict(private=False)

    def sign(self, issuer: str, claims: dict[str, Any], alg: str = "RS256") -> str:
        key = self.key_for(alg)
        return jwt.encode({"alg": alg, "kid": key.kid, "typ": "at+jwt"}, {"iss": issuer, **claims}, key)


def _loopback_redirect(uri: str) -> bool:
    # RFC 8252: a native app's redirect is http on a loopback address, any port.
    parts = urlsplit(uri)
    if parts.scheme != "http" or not parts.hostname:
        return False
    try:
        return parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


async def _form_body(request: Request) -> dict[str, str]:
    # A urlencoded form parsed by hand (parse_qsl), so the provider needs no multipart package.
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))


def _error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


_FIELDS = {
    "idporten": [("pid", "Fødselsnummer (pid)", ""), ("acr", "Level (acr)", "idporten-loa-substantial")],
    "helseid": [("name", "Name", "Helsesekretær Test"), ("hpr_number", "HPR number", "565501872"),
                ("orgnr", "Office orgnr (orgnr_child)", ""), ("security_level", "Security level", "4")],
}


def _form(realm: str, params: dict[str, str]) -> str:
    hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items())
    shown = "".join(f'<p><label>{html.escape(label)} <input name="{name}" value="{html.escape(default)}"></label></p>'
                    for name, label, default in _FIELDS[realm])
    return (f"<!doctype html><title>{realm} (local test provider)</title><h1>Sign in to {realm} (test identity)</h1>"
            f'<form method="post">{hidden}{shown}<p><label>Signing algorithm <input name="alg" value="RS256"></label></p>'
            f'<button type="submit">Sign in</button></form>')


class DevProvider:
    """The provider's state and its FastAPI app; the issuer of realm R is `{base_url}/R`."""

    def __init__(self, base_url: str, *, audience: str = "timebok") -> None:
        self.base_url = base_url.rstrip("/")
        self.realms = {name: Realm(name, audience) for name in REALMS}
        self.access_lifetime = ACCESS_LIFETIME
        self._lock = threading.Lock()
        self.app = self._build()

    def issuer(self, realm: str) -> str:
        return f"{self.base_url}/{realm}"

    def rotate(self, realm: str) -> None:
        with self._lock:
            self.realms[realm].rotate()

    def _claims(self, realm: str, identity: dict[str, str], scope: str, client_id: str) -> dict[str, Any]:
        at = int(now().timestamp())
        base = {"aud": self.realms[realm].audience, "iat": at, "nbf": at, "exp": at + self.access_lifetime,
                "client_id": client_id, "scope": scope, "jti": secrets.token_hex(8)}
        if realm == "idporten":
            # ID-porten's sub is a pairwise pseudonym; pid is the identity number.
            sub = base64.urlsafe_b64encode(hashlib.sha256(f"sub:{identity['pid']}".encode()).digest()[:18]).decode()
            return {**base, "sub": sub, "pid": identity["pid"], "acr": identity["acr"]}
        sub = base64.urlsafe_b64encode(hashlib.sha256(f"sub:{identity['hpr_number']}".encode()).digest()[:18]).decode()
        claims = {**base, "sub": sub, "name": identity["name"],
                  f"{HELSEID_PREFIX}identity/security_level": identity["security_level"],
                  f"{HELSEID_PREFIX}hpr/hpr_number": identity["hpr_number"]}
        if identity.get("orgnr"):
            claims[f"{HELSEID_PREFIX}client/claims/orgnr_child"] = identity["orgnr"]
        return claims

    def _tokens(self, realm: str, grant: dict[str, Any]) -> dict[str, Any]:
        state = self.realms[realm]
        access = state.sign(self.issuer(realm), self._claims(realm, grant["identity"], grant["scope"], grant["client_id"]), grant["alg"])
        refresh = secrets.token_urlsafe(32)
        state.refresh[refresh] = grant
        return {"access_token": access, "token_type": "Bearer", "expires_in": self.access_lifetime,
                "refresh_token": refresh, "scope": grant["scope"]}

    def _build(self) -> FastAPI:
        app = FastAPI(title="timebok local OpenID provider", docs_url=None, redoc_url=None, openapi_url=None)

        def realm_of(name: str) -> Realm | None:
            return self.realms.get(name)

        @app.get("/{realm}/.well-known/openid-configuration")
        def discovery(realm: str):
            if realm_of(realm) is None:
                return _error("not_found", "no such realm", 404)
            issuer = self.issuer(realm)
            return {"issuer": issuer, "authorization_endpoint": f"{issuer}/authorize", "token_endpoint": f"{issuer}/token",
                    "jwks_uri": f"{issuer}/jwks", "response_types_supported": ["code"],
                    "grant_types_supported": ["authorization_code", "refresh_token"],
                    "code_challenge_methods_supported": ["S256"], "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                    "token_endpoint_auth_methods_supported": ["none"], "subject_types_supported": ["pairwise"]}

        @app.get("/{realm}/jwks")
        def jwks(realm: str):
            state = realm_of(realm)
            return state.jwks() if state else _error("not_found", "no such realm", 404)

        @app.get("/{realm}/authorize")
        def authorize_form(realm: str, request: Request):
            params = dict(request.query_params)
            problem = self._check_authorize(realm, params)
            if problem:
                return HTMLResponse(f"<p>{html.escape(problem)}</p>", status_code=400)
            keep = ("client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "nonce")
            return HTMLResponse(_form(realm, {k: params[k] for k in keep if k in params}))

        @app.post("/{realm}/authorize")
        async def authorize_submit(realm: str, request: Request):
            params = await _form_body(request)
            problem = self._check_authorize(realm, params)
            if problem:
                return HTMLResponse(f"<p>{html.escape(problem)}</p>", status_code=400)
            identity = {name: params.get(name, "").strip() for name, _label, _default in _FIELDS[realm]}
            alg = params.get("alg", "RS256")
            if alg not in ("RS256", "ES256"):
                return HTMLResponse("<p>alg must be RS256 or ES256</p>", status_code=400)
            code = secrets.token_urlsafe(24)
            self.realms[realm].codes[code] = {
                "identity": identity, "scope": params.get("scope", "openid"), "client_id": params["client_id"], "alg": alg,
                "redirect_uri": params["redirect_uri"], "challenge": params["code_challenge"],
                "expires": now().timestamp() + CODE_LIFETIME}
            query = urlencode({"code": code, **({"state": params["state"]} if "state" in params else {})})
            return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=303)

        @app.post("/{realm}/token")
        async def token(realm: str, request: Request):
            form = await _form_body(request)
            grant_type, code, redirect_uri = form.get("grant_type", ""), form.get("code", ""), form.get("redirect_uri", "")
            client_id, code_verifier, refresh_token = form.get("client_id", ""), form.get("code_verifier", ""), form.get("refresh_token", "")
            state = realm_of(realm)
            if state is None:
                return _error("invalid_request", "no such realm", 404)
            with self._lock:
                if grant_type == "authorization_code":
                    grant = state.codes.pop(code, None)  # one use only
                    if grant is None or grant["expires"] < now().timestamp():
                        return _error("invalid_grant", "unknown, used or expired code")
                    if grant["redirect_uri"] != redirect_uri or grant["client_id"] != client_id:
                        return _error("invalid_grant", "redirect_uri or client_id differs from the authorize request")
                    if not code_verifier or _s256(code_verifier) != grant["challenge"]:
                        return _error("invalid_grant", "PKCE verification failed")
                    return self._tokens(realm, grant)
                if grant_type == "refresh_token":
                    grant = state.refresh.pop(refresh_token, None)  # rotated on every use
                    if grant is None or (client_id and grant["client_id"] != client_id):
                        return _error("invalid_grant", "unknown or used refresh token")
                    return self._tokens(realm, grant)
            return _error("unsupported_grant_type", "use authorization_code or refresh_token")

        return app

    def _check_authorize(self, realm: str, params: dict[str, str]) -> str | None:
        if realm not in self.realms:
            return "no such realm"
        if params.get("response_type", "code") != "code":
            return "response_type must be code"
        if not params.get("client_id"):
            return "client_id is missing"
        if not _loopback_redirect(params.get("redirect_uri", "")):
            return "redirect_uri must be http on a loopback address (RFC 8252)"
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "PKCE with S256 is required"
        return None
