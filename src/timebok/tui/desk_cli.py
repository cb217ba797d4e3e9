"""The desk's command-line tools: `timebok print day` (the day list as PDF or CSV, for a morning print on a schedule)
and `timebok keys` (every key binding with its id, screen and text, for `[keys]`)."""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from timebok.client.api import BookingClient
    from timebok.tui.settings import Settings


class PrintRefused(Exception):
    """The day list cannot be printed as asked: said in one line, exit code 1."""


def print_day(config: str | None, *, day: date | None, timebook: str | None, hide_names: bool, as_csv: bool, output: str) -> int:
    """`timebok print day`: fetch the day with the configured backend and sign-in, write the PDF (or CSV) to `output`."""
    from timebok.tui.config import load_settings
    from timebok.tui.settings import ConfigError
    from timebok.ui import i18n

    try:
        settings = load_settings(config)
    except ConfigError as error:
        print(f"timebok: {error}", file=sys.stderr)
        return 2
    i18n.set_language(settings.language)
    try:
        data = _with_client(settings, lambda client: _day_list(client, day, timebook, hide_names, as_csv))
    except PrintRefused as error:
        print(f"timebok print: {error}", file=sys.stderr)
        return 1
    if output == "-":
        sys.stdout.buffer.write(data)
        return 0
    path = Path(output)
    try:
        path.write_bytes(data)
    except OSError as error:
        print(f"timebok print: cannot write {path}: {error.strerror}", file=sys.stderr)
        return 1
    print(path.resolve(), file=sys.stderr)  # the path said, as the app says it
    return 0


def _with_client(settings: Settings, job: object) -> bytes:
    """Run `job(client)` against the configured backend; the embedded demo is started for it and stopped after."""
    from timebok.client.api import BookingClient
    from timebok.tui.run import DEMO_STAFF_TOKEN, _connection

    server = None
    if settings.backend.url is None:
        from timebok.backend.embedded import EmbeddedProcess
        from timebok.tui.locations import default_db_path

        server = EmbeddedProcess(default_db_path(), demo=True).start()
        server.ready.wait(60)
        if server.failed is not None:
            server.stop()
            raise PrintRefused(f"the demo backend did not start: {server.failed}")
        # The demo's desk: its staff token, whichever demo user the app was left signed in as.
        url, token, token_source = server.url, settings.backend.token or DEMO_STAFF_TOKEN, None
    else:
        connection = _connection(settings)
        url, token, token_source = connection.url, connection.token, connection.token_source

    async def run() -> bytes:
        async with BookingClient(url, token, timeout=settings.backend.timeout, token_source=token_source) as client:
            return await job(client)  # type: ignore[operator,no-any-return]

    try:
        return asyncio.run(run())
    finally:
        if server is not None:
            server.stop()


async def _day_list(client: BookingClient, day: date | None, timebook_id: str | None, hidden: bool, as_csv: bool) -> bytes:
    from timebok.client.errors import BookingError
    from timebok.domain.clock import now, today
    from timebok.ui.daylist import csv_text, day_rows
    from timebok.ui.printing import day_list_pdf

    day = day or today()
    try:
        user = await client.whoami()
        if not user.is_staff or user.office is None:
            raise PrintRefused('the day list is the front desk\'s: sign in as staff (role = "staff")')
        timebooks = await client.office_timebooks(user.office.id)
        timebook = next((b for b in timebooks if b.id == timebook_id), None)
        if timebook_id is not None and timebook is None:
            known = ", ".join(f"{b.id} ({b.name})" for b in timebooks)
            raise PrintRefused(f"no timebook {timebook_id!r} at {user.office.name}; its timebooks: {known}")
        appointments = await client.day_appointments(day)
    except BookingError as error:
        raise PrintRefused(f"the backend answered: {error}") from None
    rows = day_rows(appointments, hidden=hidden, moment=now(), timebook=timebook)
    if as_csv:
        return csv_text(rows, day).encode("utf-8-sig")
    from timebok.screens.today import timebook_label

    return day_list_pdf(rows, office=user.office.name, day=day, scope=timebook_label(timebook), printed=now())


def list_keys(config: str | None) -> int:
    """`timebok keys`: every binding, by screen: its id (for `[keys]`), the key (the config's, where it rebinds one)
    and what it does, in the configured language."""
    import importlib
    import pkgutil

    from textual.binding import Binding
    from textual.dom import DOMNode

    import timebok.screens
    import timebok.tui.app  # noqa: F401 - the App's own bindings (app.help, app.quit, …)
    import timebok.ui.widgets
    from timebok.tui.config import load_settings
    from timebok.tui.settings import ConfigError
    from timebok.ui import i18n
    from timebok.ui.keys import _subclasses, description

    try:
        settings = load_settings(config)
    except ConfigError as error:
        print(f"timebok: {error}", file=sys.stderr)
        return 2
    i18n.set_language(settings.language)
    for package in (timebok.ui.widgets, timebok.screens, timebok.ui):
        for module in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    lines = []
    for cls in _subclasses(DOMNode):
        if not cls.__module__.startswith(("timebok.tui.", "timebok.ui.", "timebok.screens.")):
            continue
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding) and binding.id:
                keys = settings.keys.get(binding.id, binding.key)
                lines.append((cls.__name__, binding.id, keys, description(binding)))
    width_screen = max(len(line[0]) for line in lines)
    width_id = max(len(line[1]) for line in lines)
    width_key = max(len(line[2]) for line in lines)
    for screen, id_, keys, text in sorted(set(lines)):
        print(f"{screen:{width_screen}}  {id_:{width_id}}  {keys:{width_key}}  {text}")
    return 0
