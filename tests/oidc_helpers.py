"""Sign in at the local OpenID provider as a browser would: authorize form, code, token (PKCE); no token made by hand."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

REDIRECT = "http://127.0.0.1:9/callback"  # never followed: the code is read from the redirect's Location


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "input":
            values = dict(attrs)
            self.fields[values["name"]] = values.get("value") or ""


def form_fields(page: str) -> dict[str, str]:
    parser = _Form()
    parser.feed(page)
    return parser.fields


def follow_login(authorize_url: str, identity: dict[str, str]) -> str:
    """The browser step: open the login form, fill in the test identity, submit; returns the redirect's URL."""
    with httpx.Client(timeout=10) as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 200, page.text
        fields = {**form_fields(page.text), **identity}
        answer = browser.post(authorize_url.split("?")[0], data=fields)
        assert answer.status_code == 303, answer.text
        return answer.headers["location"]


def sign_in(issuer: str, identity: dict[str, str], *, scope: str = "openid", client_id: str = "timebok-tui") -> dict:
    """The whole authorization code flow with PKCE against the local provider; the token response."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(8)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    location = follow_login(f"{issuer}/authorize?{query}", identity)
    params = parse_qs(urlsplit(location).query)
    assert params["state"] == [state]
    response = httpx.post(
        f"{issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"][0],
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def payload(token: str) -> dict:
    """The claims of a token (to re-sign a variant of it with the provider's key in a negative test)."""
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
