"""The local provider's web side: discovery, JWKS with key rotation, and authlib's authorize (login form) and token endpoints."""

from __future__ import annotations

import threading
from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oidc.discovery import OpenIDProviderMetadata
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from timebok.devidp import login_form
from timebok.devidp.grants import ID_TOKEN_ALG
from timebok.devidp.models import SignedIn
from timebok.devidp.oauth import RealmServer, StarletteRequest, answered
from timebok.devidp.realm import ALGORITHMS, Realm

__all__ = ["DevProvider", "Realm"]  # Realm stays importable here: tests make an untrusted issuer's keys with it

# Each realm mimics one national issuer: the claims its access tokens carry and what its login form asks for.
REALMS = ("idporten", "helseid")
ACCESS_LIFETIME = 300  # seconds, like ID-porten's default for access tokens


def _not_found() -> JSONResponse:
    return JSONResponse({"error": "not_found", "error_description": "no such realm"}, status_code=404)


class DevProvider:
    """The provider's state and its FastAPI app; the issuer of realm R is `{base_url}/R`."""

    def __init__(self, base_url: str, *, audience: str = "timebok") -> None:
        self.base_url = base_url.rstrip("/")
        self.realms = {name: Realm(name, audience) for name in REALMS}
        self.access_lifetime = ACCESS_LIFETIME
        self.jwks_max_age = 300  # the JWKS's Cache-Control max-age: how long a verifier may keep the keys
        self.servers = {
            name: RealmServer(realm, self.issuer(name), lambda: self.access_lifetime) for name, realm in self.realms.items()
        }
        self._lock = threading.Lock()  # a rotation from a test's thread never meets a half-issued token
        self.app = self._build()

    def issuer(self, realm: str) -> str:
        return f"{self.base_url}/{realm}"

    def rotate(self, realm: str) -> None:
        with self._lock:
            self.realms[realm].rotate()

    def withdraw(self, realm: str) -> None:
        """New keys, and the current ones withdrawn at once (a leaked key): tokens they signed must stop verifying."""
        with self._lock:
            self.realms[realm].rotate()
            self.realms[realm].retired = []

    def discovery(self, realm: str) -> dict[str, Any]:
        issuer = self.issuer(realm)
        document = OpenIDProviderMetadata(
            issuer=issuer,
            authorization_endpoint=f"{issuer}/authorize",
            token_endpoint=f"{issuer}/token",
            jwks_uri=f"{issuer}/jwks",
            response_types_supported=["code"],
            grant_types_supported=["authorization_code", "refresh_token"],
            code_challenge_methods_supported=["S256"],
            id_token_signing_alg_values_supported=[ID_TOKEN_ALG],
            token_endpoint_auth_methods_supported=["none"],
            subject_types_supported=["pairwise"],
        )
        document.validate()  # authlib checks it against OpenID Connect Discovery
        return dict(document)

    def _authorize(self, realm: str, request: StarletteRequest, signed_in: SignedIn | None = None) -> Response:
        """The form (no one signed in yet) or the redirect with a code; a refusal goes back to the app when its redirect is valid."""
        server = self.servers[realm]
        try:
            grant = server.get_consent_grant(request, end_user=signed_in)  # type: ignore[no-untyped-call]  # unannotated in the stubs
        except OAuth2Error as error:
            if error.redirect_uri:
                return answered(server.handle_error_response(request, error))
            return HTMLResponse(login_form.problem_page(error.description or error.error or ""), status_code=400)
        if signed_in is None:
            return HTMLResponse(login_form.render(realm, request.payload.data))
        with self._lock:
            answer = answered(server.create_authorization_response(request, grant_user=signed_in, grant=grant))
        if answer.status_code == 302:
            answer.status_code = 303  # after a POST: the browser GETs the redirect (authlib answers 302)
        return answer

    def _build(self) -> FastAPI:
        app = FastAPI(title="timebok local OpenID provider", docs_url=None, redoc_url=None, openapi_url=None)

        # response_model=None: the answers are plain JSON or a Response, as FastAPI would make of an unannotated route.
        @app.get("/{realm}/.well-known/openid-configuration", response_model=None)
        def discovery(realm: str) -> dict[str, Any] | Response:
            return self.discovery(realm) if realm in self.realms else _not_found()

        @app.get("/{realm}/jwks")
        def jwks(realm: str) -> Response:
            if realm not in self.realms:
                return _not_found()
            return JSONResponse(self.realms[realm].jwks(), headers={"Cache-Control": f"max-age={self.jwks_max_age}"})

        @app.get("/{realm}/authorize")
        async def authorize_form(realm: str, request: Request) -> Response:
            if realm not in self.realms:
                return _not_found()
            return self._authorize(realm, await StarletteRequest.read(request))

        @app.post("/{realm}/authorize")
        async def authorize_submit(realm: str, request: Request) -> Response:
            if realm not in self.realms:
                return _not_found()
            read = await StarletteRequest.read(request)
            alg = read.form.get("alg", "RS256")
            if alg not in ALGORITHMS:
                return HTMLResponse(login_form.problem_page("alg must be RS256 or ES256"), status_code=400)
            return self._authorize(realm, read, SignedIn(login_form.identity(realm, read.form), alg))

        @app.post("/{realm}/token")
        async def token(realm: str, request: Request) -> Response:
            if realm not in self.realms:
                return _not_found()
            read = await StarletteRequest.read(request)
            with self._lock:
                return answered(self.servers[realm].create_token_response(read))

        return app
