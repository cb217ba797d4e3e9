"""The login form where a developer or a test types the identity to sign in as (no password: a test provider)."""

from __future__ import annotations

import html
from collections.abc import Mapping

# What each realm's form asks for, with defaults that make a valid person of that issuer.
FIELDS = {
    "idporten": [("pid", "Fødselsnummer (pid)", ""), ("acr", "Level (acr)", "idporten-loa-substantial")],
    "helseid": [
        ("name", "Name", "Helsesekretær Test"),
        ("hpr_number", "HPR number", "565501872"),
        ("orgnr", "Office orgnr (orgnr_child)", ""),
        ("security_level", "Security level", "4"),
    ],
}
# The authorization request rides along in hidden fields, so the form's POST is the same request plus the identity.
REQUEST_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
)


def render(realm: str, params: Mapping[str, str]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params[name])}">' for name in REQUEST_PARAMS if name in params
    )
    shown = "".join(
        f'<p><label>{html.escape(label)} <input name="{name}" value="{html.escape(default)}"></label></p>'
        for name, label, default in FIELDS[realm]
    )
    # The action names the endpoint without the query: a browser posting back to the page's own URL would send the
    # request's parameters twice (query and form), which authlib refuses («Multiple 'response_type'»).
    return (
        f"<!doctype html><title>{realm} (local test provider)</title><h1>Sign in to {realm} (test identity)</h1>"
        f'<form method="post" action="authorize">{hidden}{shown}<p><label>Signing algorithm <input name="alg" value="RS256"></label></p>'
        f'<button type="submit">Sign in</button></form>'
    )


def identity(realm: str, form: Mapping[str, str]) -> dict[str, str]:
    return {name: form.get(name, "").strip() for name, _label, _default in FIELDS[realm]}


def problem_page(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"
