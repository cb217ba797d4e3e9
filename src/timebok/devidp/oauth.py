"""authlib's AuthorizationServer on Starlette (authlib ships Flask and Django integrations only): one per realm."""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import parse_qsl

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from starlette.requests import Request
from starlette.responses import Response

from timebok.devidp.grants import CodeGrant, IdToken, RefreshGrant, RequiredS256
from timebok.devidp.models import IssuedRefresh, PublicClient, SignedIn
from timebok.devidp.realm import Realm


class _Payload(OAuth2Payload):
    """The request's parameters, query first and then form (as Flask's request.values, which authlib's Flask side reads)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in pairs:
            self._datalist[name].append(value)
        self._data = {name: values[0] for name, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class StarletteRequest(OAuth2Request):
    """An OAuth2Request read from a Starlette request whose body was awaited already (authlib's calls are synchronous)."""

    def __init__(self, request: Request, form: list[tuple[str, str]]) -> None:
        super().__init__(method=request.method, uri=str(request.url), headers=request.headers)
        query = list(request.query_params.multi_items())
        self._args: dict[str, str | None] = dict(query)
        self._form = dict(form)
        self.payload: _Payload = _Payload(query + form)

    @classmethod
    async def read(cls, request: Request) -> StarletteRequest:
        # A urlencoded form parsed by hand (parse_qsl), so the provider needs no multipart package.
        body = (await request.body()).decode("utf-8", "replace") if request.method == "POST" else ""
        return cls(request, parse_qsl(body, keep_blank_values=True))

    @property
    def args(self) -> dict[str, str | None]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class RealmServer(AuthorizationServer):
    """One realm's authorization and token endpoints; its access tokens are JWTs shaped like that issuer's."""

    def __init__(self, realm: Realm, issuer: str, access_lifetime: Callable[[], int]) -> None:
        super().__init__()
        self.realm, self.issuer, self.access_lifetime = realm, issuer, access_lifetime
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                self._access_token, lambda **_: secrets.token_urlsafe(32), lambda client, grant_type: access_lifetime()
            ),
        )
        self.register_grant(CodeGrant, [RequiredS256(), IdToken(self)])
        self.register_grant(RefreshGrant)

    def _access_token(self, *, client: ClientMixin, grant_type: str, user: SignedIn, scope: str) -> str:
        # authlib's BearerTokenGenerator calls it with keywords.
        claims = self.realm.access_claims(user.identity, scope, client.get_client_id(), self.access_lifetime())
        return self.realm.sign(self.issuer, claims, user.alg)

    def query_client(self, client_id: str) -> PublicClient:
        return PublicClient(client_id)

    def save_token(self, token: dict[str, str | int], request: OAuth2Request) -> None:
        if "refresh_token" in token:
            # authlib saves a token only after it authenticated the client and found the signed-in user.
            assert request.client is not None and isinstance(request.user, SignedIn)
            refresh = str(token["refresh_token"])
            self.realm.refresh[refresh] = IssuedRefresh(
                refresh, request.client.get_client_id(), str(token["scope"]), request.user
            )

    def create_oauth2_request(self, request: StarletteRequest) -> StarletteRequest:
        return request  # read (awaited) by the route already

    # authlib passes the headers as a list of pairs, and an error page's body as text.
    def handle_response(  # type: ignore[override]  # wider than the stubs' Mapping headers, see above
        self, status: int, body: Mapping[str, object] | str, headers: Iterable[tuple[str, str]]
    ) -> Response:
        content = json.dumps(body) if isinstance(body, dict) else body
        return Response(content, status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: object, **kwargs: object) -> None:
        pass  # nothing listens to authlib's signals here


def answered(response: object) -> Response:
    """What authlib's endpoints return: the Response RealmServer.handle_response built (the stubs say only `object`)."""
    if not isinstance(response, Response):
        raise TypeError(f"authlib answered with {type(response).__name__}, not a Response")
    return response
