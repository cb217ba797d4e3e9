"""authlib's grants, given a store: authorization code with PKCE (S256 only, always), refresh with rotation, ID tokens."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, OAuth2Request, TokenMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, UserInfo
from joserfc.jwk import ECKey, RSAKey

from timebok.devidp.models import IssuedCode, IssuedRefresh, SignedIn
from timebok.domain.clock import now

if TYPE_CHECKING:
    from timebok.devidp.oauth import RealmServer

CODE_LIFETIME = 60  # seconds
ID_TOKEN_ALG = "RS256"  # the algorithm OpenID Connect requires every provider to offer


class CodeGrant(grants.AuthorizationCodeGrant):
    """Authorization code for public clients: no secret at the token endpoint (PKCE proves the caller instead)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    server: RealmServer  # authlib sets it; the stubs leave it untyped

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        # authlib saves a code only after it read the payload, found the client and was given the signed-in user.
        assert request.payload is not None and request.client is not None and isinstance(request.user, SignedIn)
        data = request.payload.data
        self.server.realm.codes[code] = IssuedCode(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            user=request.user,
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            nonce=data.get("nonce"),
            expires_at=now().timestamp() + CODE_LIFETIME,
        )

    def query_authorization_code(self, code: str, client: ClientMixin) -> IssuedCode | None:
        issued = self.server.realm.codes.get(code)
        if issued is None or issued.client_id != client.get_client_id():
            return None
        if issued.expired():
            self.server.realm.codes.pop(code, None)
            return None
        return issued

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        self.server.realm.codes.pop(authorization_code.code, None)  # one use only

    def authenticate_user(self, authorization_code: IssuedCode) -> SignedIn:
        return authorization_code.user


class RefreshGrant(grants.RefreshTokenGrant):
    """Refresh for public clients; every use returns a new refresh token and retires the old one."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: RealmServer  # authlib sets it; the stubs leave it untyped

    # None is authlib's "no such refresh token" (it answers invalid_grant); the stubs leave out None.
    def authenticate_refresh_token(self, refresh_token: str) -> IssuedRefresh | None:  # type: ignore[override]  # see above
        return self.server.realm.refresh.get(refresh_token)

    def authenticate_user(self, refresh_token: IssuedRefresh) -> SignedIn:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: TokenMixin) -> None:
        # authlib hands back what authenticate_refresh_token found.
        assert isinstance(refresh_token, IssuedRefresh)
        self.server.realm.refresh.pop(refresh_token.refresh_token, None)


class RequiredS256(CodeChallenge):
    """PKCE on every authorization request, and only S256: authlib's extension also takes `plain` and PKCE-less requests."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: grants.AuthorizationCodeGrant, redirect_uri: str) -> None:
        payload = grant.request.payload
        assert payload is not None  # every request here is a StarletteRequest, which always carries one
        data = payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE with S256 is required")
        super().validate_code_challenge(grant, redirect_uri)


class IdToken(OpenIDCode):
    """The ID token beside the access token when the scope holds openid: signed by the realm's current RSA key."""

    def __init__(self, server: RealmServer) -> None:
        super().__init__(require_nonce=False)
        self.server = server

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        # A nonce seen in a code not yet redeemed is a replay.
        return any(code.nonce == nonce for code in self.server.realm.codes.values())

    def resolve_client_private_key(self, client: ClientMixin) -> RSAKey | ECKey:
        return self.server.realm.key_for(ID_TOKEN_ALG)

    def get_client_algorithm(self, client: ClientMixin) -> str:
        return ID_TOKEN_ALG

    def get_encode_header(self, client: ClientMixin) -> dict[str, str | None]:
        return {"alg": ID_TOKEN_ALG, "kid": self.resolve_client_private_key(client).kid, "typ": "JWT"}

    def get_client_claims(self, client: ClientMixin) -> dict[str, Any]:
        # Timed by the domain clock, as the access token is (authlib's defaults read the wall clock).
        at = int(now().timestamp())
        return {
            "iss": self.server.issuer,
            "aud": [client.get_client_id()],
            "iat": at,
            "exp": at + self.server.access_lifetime(),
            "jti": secrets.token_hex(8),
        }

    def generate_user_info(self, user: SignedIn, scope: str) -> UserInfo:
        return UserInfo(self.server.realm.person(user.identity))
