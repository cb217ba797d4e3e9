"""The pages `timebok web` serves itself: sign-in, the app's page, and «full»; no inline script, nothing from elsewhere."""

from __future__ import annotations

from html import escape

from timebok.ui.texts import en, nb

_CATALOGUES = {"nb": nb.TEXTS, "en": en.TEXTS}


def language(accept_language: str) -> str:
    """English when the browser asks for it before Norwegian, else bokmål (the app's own default)."""
    for part in accept_language.lower().split(","):
        tag = part.split(";")[0].strip()
        if tag.startswith(("nb", "no", "nn")):
            return "nb"
        if tag.startswith("en"):
            return "en"
    return "nb"


def text(lang: str, key: str, **values: object) -> str:
    entry = _CATALOGUES[lang][key]
    assert isinstance(entry, str)  # the web texts have no plural forms
    return escape(entry.format(**values) if values else entry)


def content_security_policy(websocket_origin: str) -> str:
    """Only this origin: scripts, fonts, images and the app's websocket. Styles may be inline as well, since the
    terminal (xterm.js, inside textual-serve's script) adds its own <style> elements as it starts."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self' {websocket_origin}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        ]
    )


def _page(lang: str, title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/web/timebok.css"></head>'
        f'<body class="page"><main>{body}</main></body></html>'
    )


def sign_in_page(
    lang: str, *, realms: list[tuple[str, str]], demo_users: list[tuple[str, str]], csrf: str, error: str = "", note: str = ""
) -> str:
    """The buttons for each sign-in (`realms`: path, label key) and, on a demo, a form with the demo users (key, label)."""
    parts = [f"<h1>{text(lang, 'web.heading')}</h1>"]
    if error:
        parts.append(f'<p class="error" role="alert">{escape(error)}</p>')
    if note:
        parts.append(f'<p class="note">{escape(note)}</p>')
    if realms:
        parts.append('<ul class="realms">')
        parts += [f'<li><a class="button" href="/signin/{path}">{text(lang, label)}</a></li>' for path, label in realms]
        parts.append("</ul>")
    if demo_users:
        parts.append(f'<h2>{text(lang, "web.demo_heading")}</h2><form method="post" action="/signin/demo">')
        parts.append(f'<input type="hidden" name="csrf" value="{escape(csrf)}"><ul class="demo-users">')
        parts += [
            f'<li><button type="submit" name="user" value="{escape(key)}">{escape(label)}</button></li>'
            for key, label in demo_users
        ]
        parts.append("</ul></form>")
    if not realms and not demo_users:
        parts.append(f"<p>{text(lang, 'web.no_sign_in')}</p>")
    return _page(lang, text(lang, "web.title"), "".join(parts))


def app_page(lang: str, *, name: str, websocket_url: str, csrf: str) -> str:
    """textual-serve's page, without its Google font and inline script: the terminal, who is signed in, «Logg ut»."""
    bar = (
        f'<header class="bar"><span>{text(lang, "web.signed_in_as", name=name)}</span>'
        f'<form method="post" action="/signout"><input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<button type="submit">{text(lang, "web.sign_out")}</button></form></header>'
    )
    ended = (
        f'<div class="dialog-container closed-dialog"><div class="intro"><p class="message">{text(lang, "web.ended")}</p>'
        f'<a class="button" href="/app">{text(lang, "web.start_again")}</a></div></div>'
    )
    terminal = f'<div id="terminal" class="textual-terminal" data-session-websocket-url="{escape(websocket_url)}" data-font-size="16"></div>'
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{text(lang, "web.app_title")}</title>'
        '<link rel="stylesheet" href="/static/css/xterm.css"><link rel="stylesheet" href="/web/timebok.css">'
        '<script src="/static/js/textual.js"></script></head>'
        f'<body class="app">{bar}{ended}{terminal}</body></html>'
    )


def full_page(lang: str, max_tabs: int) -> str:
    return _page(
        lang,
        text(lang, "web.title"),
        f'<h1>{text(lang, "web.heading")}</h1><p class="error" role="alert">{text(lang, "web.full", max=max_tabs)}</p>'
        f'<p><a class="button" href="/app">{text(lang, "web.start_again")}</a></p>',
    )
