"""The `timebok` command: the app by default, plus `serve`, `tokens`, `print day`, `keys` and `config init`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

from timebok.tui.locations import default_db_path


def _db(args: argparse.Namespace) -> str | Path:
    # --db, then $TIMEBOK_DB_URL (e.g. postgresql+psycopg://…, shared by several instances), then the demo file.
    return args.db or os.environ.get("TIMEBOK_DB_URL") or default_db_path()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="timebok",
        description="Book appointments in a GP office's ressurstimebok. With no command, starts the app "
        "(on the embedded demo backend unless the config names a backend).",
    )
    parser.add_argument(
        "--config", metavar="PATH", help="config file to read (default: $TIMEBOK_CONFIG, then the user config dir)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="run the FHIR booking backend", description="Run the FHIR R4 booking backend over HTTP."
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=8787, help="port to listen on (default: 8787)")
    serve.add_argument(
        "--db", metavar="PATH", help=f"SQLite file or database URL (default: $TIMEBOK_DB_URL, else {default_db_path()})"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serve with N processes on one port (default 1); fine on PostgreSQL and on a SQLite file in WAL, "
        "whose writers then take turns across processes through SQLite's own lock",
    )
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="the address clients reach this server at, for links in answers (default: $TIMEBOK_PUBLIC_URL, "
        "else the listening address), e.g. https://timebok.example.no behind a reverse proxy",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="seed an empty database with the demo offices, patients and tokens, and accept synthetic identity numbers",
    )

    serve.add_argument(
        "--oidc-issuer",
        metavar="ROLE=URL",
        action="append",
        default=None,
        help="trust access tokens from this OpenID Connect issuer for ROLE (citizen, staff or support); "
        "repeat for each (default: $TIMEBOK_OIDC_ISSUERS, space-separated ROLE=URL items)",
    )
    serve.add_argument(
        "--oidc-audience",
        metavar="AUD",
        help="the audience (aud) every accepted token must carry (default: $TIMEBOK_OIDC_AUDIENCE)",
    )

    tokens = commands.add_parser("tokens", help="list the demo tokens", description="List the bearer tokens in the database.")
    tokens.add_argument(
        "--db", metavar="PATH", help=f"SQLite file or database URL (default: $TIMEBOK_DB_URL, else {default_db_path()})"
    )
    tokens.add_argument("--json", action="store_true", help="print a JSON list of {role, name, reference, token} for scripts")

    idp = commands.add_parser(
        "dev-idp",
        help="run a local OpenID provider for tests and development",
        description="Run a local OpenID Connect provider shaped like ID-porten and HelseID, "
        "with a login form that takes any test identity. Never for production.",
    )
    idp.add_argument("--port", type=int, default=8790, help="port on 127.0.0.1 to listen on (default: 8790; 0 = any free)")
    idp.add_argument("--audience", default="timebok", help="the aud its tokens carry (default: timebok)")

    login = commands.add_parser(
        "login",
        help="sign in with OpenID Connect ([auth] in the config)",
        description="Sign in at the config's auth.issuer in the browser (or show the address to "
        "open elsewhere) and keep the tokens in the keyring.",
    )
    login.add_argument(
        "--citizen", action="store_true", help="support agents: sign in the test citizen you act as, at auth.citizen_issuer"
    )
    commands.add_parser("logout", help="forget the kept sign-in", description="Forget every kept sign-in.")

    printing = commands.add_parser(
        "print",
        help="print the desk's day list as PDF or CSV",
        description="Print with the configured backend and sign-in (front-desk staff), e.g. each morning from cron.",
    )
    print_commands = printing.add_subparsers(dest="print_command", metavar="WHAT", required=True)
    day = print_commands.add_parser("day", help="the day list: every appointment of one day, by time")
    day.add_argument("--date", type=_iso_date, metavar="YYYY-MM-DD", help="the day (default: today)")
    day.add_argument("--timebook", metavar="ID", help="one timebook (Schedule id) instead of all of the office's")
    day.add_argument("--hide-names", action="store_true", help="initials and birth year instead of names and numbers")
    day.add_argument("--csv", action="store_true", help="CSV (semicolon-separated, UTF-8) instead of PDF")
    day.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write it (- for standard output)")

    commands.add_parser(
        "keys",
        help="list every key binding with its id, screen and text",
        description="Every key binding: the screen it belongs to, its id (rebind it under [keys]), the key and what it does.",
    )

    config = commands.add_parser("config", help="manage the config file", description="Manage the config file.")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    config_commands.add_parser("init", help="write a commented starter config file (never overwrites one)")
    return parser


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date like 2026-12-08: {text!r}") from None


def _serve(args: argparse.Namespace) -> int:
    from timebok.backend.oidc import parse_issuers
    from timebok.backend.server import StartupError, serve

    if args.workers < 1:
        print("--workers must be at least 1", file=sys.stderr)
        return 2
    try:
        try:
            issuers = parse_issuers(
                args.oidc_issuer if args.oidc_issuer is not None else os.environ.get("TIMEBOK_OIDC_ISSUERS", "").split()
            )
        except ValueError as error:
            raise StartupError(str(error)) from None
        serve(
            _db(args),
            host=args.host,
            port=args.port,
            demo=args.demo,
            workers=args.workers,
            public_url=args.public_url or os.environ.get("TIMEBOK_PUBLIC_URL"),
            oidc_issuers=issuers,
            oidc_audience=args.oidc_audience or os.environ.get("TIMEBOK_OIDC_AUDIENCE"),
        )
    except StartupError as error:
        print(f"timebok serve: {error}", file=sys.stderr)
        return 1
    return 0


def _tokens(args: argparse.Namespace) -> int:
    from timebok.backend.seed import demo_tokens
    from timebok.backend.server import StartupError, open_database

    try:
        db = open_database(_db(args), demo=False)
    except StartupError as error:
        print(f"timebok tokens: {error}", file=sys.stderr)
        return 1
    tokens = demo_tokens(db)
    if args.json:
        print(json.dumps([t.__dict__ for t in tokens], ensure_ascii=False, indent=2))
    elif not tokens:
        print("No tokens: start the backend once with --demo to seed the demo data.", file=sys.stderr)
    else:
        width = max(len(t.name) for t in tokens)
        for t in tokens:
            print(f"{t.role:8} {t.name:{width}}  {t.reference:16} {t.token}")
    return 0


def _dev_idp(args: argparse.Namespace) -> int:
    from timebok.devidp.server import ProviderServer

    try:
        server = ProviderServer(args.port, audience=args.audience)
    except OSError as error:
        print(f"timebok dev-idp: cannot listen on 127.0.0.1:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    citizen, staff = server.issuer("idporten"), server.issuer("helseid")
    print(f"Local OpenID provider (tests and development only): ID-porten at {citizen}, HelseID at {staff}", flush=True)
    print(
        f"Trust it with: timebok serve --demo --oidc-issuer citizen={citizen} --oidc-issuer staff={staff} "
        f"--oidc-audience {args.audience}",
        flush=True,
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "tokens":
        return _tokens(args)
    if args.command in ("login", "logout"):
        from timebok.tui import signin
        from timebok.tui.config import load_settings
        from timebok.tui.settings import ConfigError
        from timebok.ui import i18n

        try:
            settings = load_settings(args.config)
        except ConfigError as error:
            if args.command == "logout":
                return signin.logout()  # forgetting needs no config: in the default language
            print(f"timebok: {error}", file=sys.stderr)
            return 2
        i18n.set_language(settings.language)  # what the user reads is in their language, as in the app
        if args.command == "logout":
            return signin.logout()
        return signin.login(settings, citizen=args.citizen)
    if args.command == "dev-idp":
        return _dev_idp(args)
    if args.command == "print":
        from timebok.tui.desk_cli import print_day

        return print_day(
            args.config,
            day=args.date,
            timebook=args.timebook,
            hide_names=args.hide_names,
            as_csv=args.csv,
            output=args.output,
        )
    if args.command == "keys":
        from timebok.tui.desk_cli import list_keys

        return list_keys(args.config)
    if args.command == "config":
        from timebok.tui.starter import write_starter_config

        return write_starter_config(args.config)
    from timebok.tui.run import run_app

    return run_app(args.config)


if __name__ == "__main__":
    sys.exit(main())
