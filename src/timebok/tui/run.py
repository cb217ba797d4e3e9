"""Starts the app: reads the config, starts the embedded backend when no backend is configured, runs the App."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from timebok.tui.connection import Connection
    from timebok.tui.settings import Settings

DEMO_CITIZEN_TOKEN = "demo-citizen-kari"
DEMO_STAFF_TOKEN = "demo-staff-fjordsiden"
DEMO_SUPPORT_TOKEN = "demo-support-nhn"


def run_app(config_path: str | None) -> int:
    from timebok.tui.config import load_settings
    from timebok.tui.settings import ConfigError
    from timebok.tui.state import read_hide_names, read_seen, save_hide_names, save_seen, save_state

    try:
        settings = load_settings(config_path)
    except ConfigError as error:
        return _refuse(error)

    from timebok.ui import i18n

    i18n.set_language(settings.language)
    from timebok.tui.app import TimebokApp

    try:
        clashes = check_keymap(settings)  # before any sign-in: a mistyped binding id is a config error like the others
    except ConfigError as error:
        return _refuse(error)
    for clash in clashes:  # a clash is allowed, but said: before the app takes the screen, and again after it
        print(f"timebok: warning: {clash}", file=sys.stderr)

    try:
        connection = _connection(settings)
    except Exception as error:  # noqa: BLE001 - only SignInError is raised here; caught broadly to keep httpx out of the import
        from timebok.client.signin import SignInError

        if not isinstance(error, SignInError):
            raise
        from timebok.ui.i18n import t
        from timebok.ui.problems import explain

        print(t("signin.cli.start_failed", reason=explain(error)), file=sys.stderr)
        return 1

    from timebok.tui.locations import default_trace_dir

    app = TimebokApp(
        connection,
        theme=settings.theme,
        keymap=settings.keys,
        trace_dir=default_trace_dir(),
        on_theme_change=lambda theme: save_state(settings, theme=theme),
        on_language_change=lambda language: save_state(settings, language=language),
        on_demo_user_change=lambda role, token: save_state(settings, last_demo_role=role, last_demo_token=token),
        load_seen=lambda user_key: read_seen(settings, user_key),
        save_seen=lambda user_key, ids: save_seen(settings, user_key, ids),
        hide_names=read_hide_names(settings),
        on_hide_names_change=lambda hidden: save_hide_names(settings, hidden),
    )
    app.run()
    for clash in clashes:
        print(f"timebok: warning: {clash}", file=sys.stderr)
    return 0


def _refuse(error: Exception) -> int:
    """A config the app cannot start with: one line on stderr, exit code 2."""
    print(f"timebok: {error}", file=sys.stderr)
    return 2


def check_keymap(settings: Settings) -> list[str]:
    """Raise ConfigError for a [keys] binding id no binding has; screens are imported for it only when needed.
    Returns a warning for each key the config gives a binding that another one of its screen already has."""
    if not settings.keys:
        return []
    import importlib
    import pkgutil

    import timebok.screens
    import timebok.tui.app  # noqa: F401 - the App's own bindings (app.help, app.quit, …)
    import timebok.ui.widgets
    from timebok.tui.config import check_binding_ids, key_clashes
    from timebok.ui.keys import binding_ids, binding_keys

    # Screens load when first shown, so the bindings of most are unknown yet: load the widgets, then the
    # screens, until every id in [keys] is found. Only a keymap pays (all screens: ~50 ms before the first paint).
    for package in (timebok.ui.widgets, timebok.screens):
        if set(settings.keys) <= binding_ids():
            break
        for module in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    check_binding_ids(settings, binding_ids())
    # The clashes need every screen's keys, not only those of the ids named: all screens load (~50 ms), for a keymap only.
    for module in pkgutil.iter_modules(timebok.screens.__path__, "timebok.screens."):
        importlib.import_module(module.name)
    return key_clashes(settings, binding_keys())


def _connection(settings: Settings) -> Connection:
    from timebok.tui.connection import Connection

    backend = settings.backend
    if backend.url is not None and (issuer := settings.auth.issuer):
        from functools import partial

        from timebok.tui.signin import forget_kept, sign_in_again, sources

        # Signed in before the app takes the screen: the browser (or the address to open) comes first.
        token_source, agent_source = sources(settings, issuer)
        return Connection(
            backend.url,
            "",
            timeout=backend.timeout,
            page_size=backend.page_size,
            token_source=token_source,
            agent_source=agent_source,
            sign_in_again=partial(sign_in_again, settings),
            sign_out=forget_kept,
        )
    if backend.url is not None:
        return Connection(
            backend.url,
            backend.token or "",
            agent_token=backend.agent_token or "",
            timeout=backend.timeout,
            page_size=backend.page_size,
        )

    from timebok.backend.embedded import EmbeddedProcess
    from timebok.tui.locations import default_db_path

    # The port is bound now; the backend itself starts in a child process once the first screen has
    # painted, when the app's connect worker calls this (its own GIL: the app stays responsive).
    server = EmbeddedProcess(default_db_path(), demo=True)

    def wait_until_ready() -> None:
        if not server.started:
            server.start()
        server.ready.wait(60)
        if server.failed is not None:
            raise server.failed

    token, agent_token = demo_user(settings)
    return Connection(
        server.url,
        token,
        agent_token=agent_token,
        timeout=backend.timeout,
        page_size=backend.page_size,
        wait_until_ready=wait_until_ready,
        embedded=True,
        demo_default_token=DEMO_CITIZEN_TOKEN,
    )


def demo_user(settings: Settings) -> tuple[str, str]:
    """Whom the embedded demo signs in as: a token given, else the last demo user picked, else by role."""
    backend = settings.backend
    if backend.token:
        return backend.token, backend.agent_token or ""
    role = settings.role or settings.last_demo_role or "citizen"
    remembered = settings.last_demo_token if settings.last_demo_role == role else None
    if role == "staff":
        return remembered or DEMO_STAFF_TOKEN, ""
    return remembered or DEMO_CITIZEN_TOKEN, DEMO_SUPPORT_TOKEN if role == "support" else ""
