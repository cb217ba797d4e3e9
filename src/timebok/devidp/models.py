"""What authlib's grants ask of the store: the client, the signed-in person, an issued code and a refresh token."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin

from timebok.domain.clock import now

GRANT_TYPES = ("authorization_code", "refresh_token")


def loopback_redirect(uri: str) -> bool:
    # RFC 8252: a native app's redirect is http on a loopback address, any port.
    parts = urlsplit(uri)
    if parts.scheme != "http" or not parts.hostname:
        return False
    try:
        return parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class PublicClient(ClientMixin):
    """Any client id is a native app (RFC 8252): no secret, a loopback redirect, PKCE; like ID-porten's public clients."""

    client_id: str

    def get_client_id(self) -> str:
        return self.client_id

    # authlib refuses a request without redirect_uri when this is None; the stubs say only str.
    def get_default_redirect_uri(self) -> None:  # type: ignore[override]  # None: no default, see above
        return None  # the request must name its loopback redirect

    # authlib passes the requested scope string, or None when the request named none (the stubs leave out None).
    def get_allowed_scope(self, scope: str | None) -> str:  # type: ignore[override]  # a string or None, see above
        return scope or "openid"

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return loopback_redirect(redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


@dataclass(frozen=True)
class SignedIn:
    """The identity typed into the login form, the algorithm its tokens are signed with, and when it signed in."""

    identity: dict[str, str]
    alg: str
    auth_time: int = field(default_factory=lambda: int(now().timestamp()))


@dataclass
class IssuedCode(AuthorizationCodeMixin):
    """An authorization code: who signed in, for which client, redirect and scope, and its PKCE challenge."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: SignedIn
    code_challenge: str
    code_challenge_method: str
    nonce: str | None
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.user.auth_time

    def get_acr(self) -> str | None:  # type: ignore[override]  # authlib skips a falsy acr; the stubs say str
        return self.user.identity.get("acr")

    def expired(self) -> bool:
        return self.expires_at < now().timestamp()


@dataclass
class IssuedRefresh(TokenMixin):
    """A refresh token: used once, then replaced by the one issued with the new access token."""

    refresh_token: str
    client_id: str
    scope: str
    user: SignedIn

    def check_client(self, client: PublicClient) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        return self.scope
