"""The `timebok` command: the app by default, plus `serve`, `tokens`, `print day`, `keys` and `config init`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

from timebok.domain.release import version
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
    parser.add_argument("--version", action="version", version=f"timebok {version()}", help="print the version and exit")
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
    serve.add_argument(
        "--smtp",
        metavar="URL",
        help="send e-mail notices and reminders through this SMTP server: smtp://host:port or smtps://host:port "
        "(user and password from $TIMEBOK_SMTP_USER and $TIMEBOK_SMTP_PASSWORD)",
    )
    serve.add_argument("--smtp-starttls", action="store_true", help="switch an smtp:// connection to TLS with STARTTLS")
    serve.add_argument("--sms-gateway", metavar="URL", help='send SMS by POSTing {"id", "to", "text"} as JSON to this URL')
    serve.add_argument(
        "--notices-dir",
        metavar="DIR",
        type=Path,
        help="with --demo, where e-mail and SMS go without --smtp / --sms-gateway (e-post.jsonl, sms.jsonl; "
        "default: beside the SQLite file, else the user's data folder)",
    )

    serve.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=os.environ.get("TIMEBOK_LOG_FORMAT") or "text",
        help="text lines, or one JSON object per line for a log collector (default: $TIMEBOK_LOG_FORMAT, else text)",
    )
    serve.add_argument(
        "--graceful-seconds",
        type=int,
        default=20,
        metavar="S",
        help="on SIGTERM or Ctrl+C, stop taking connections and give the requests in flight S seconds (default 20)",
    )
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not migrate the database at start (`timebok migrate` does it once); refuse one not at the newest schema",
    )

    migrate = commands.add_parser(
        "migrate",
        help="bring the database to the newest schema, then exit",
        description="Run the schema migrations once, apart from serving (then start the instances with --no-migrate).",
    )
    migrate.add_argument(
        "--db", metavar="PATH", help=f"SQLite file or database URL (default: $TIMEBOK_DB_URL, else {default_db_path()})"
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

    webcmd = commands.add_parser(
        "web",
        help="serve the app to browsers (one app per tab)",
        description="Serve the app to browser tabs through textual-serve: people sign in with OpenID Connect "
        "(or, with --demo, as a demo user) before their tab's own app process starts.",
    )
    webcmd.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    webcmd.add_argument("--port", type=int, default=8080, help="port to listen on (default: 8080)")
    webcmd.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers reach it at, e.g. https://timebok.example.no behind a TLS proxy (cookies are then Secure)",
    )
    webcmd.add_argument(
        "--backend",
        metavar="URL",
        help="the FHIR backend the tabs use, e.g. http://127.0.0.1:8787/fhir (default with "
        "--demo: an embedded demo backend on the --db file)",
    )
    webcmd.add_argument("--db", metavar="PATH", help=f"the embedded demo backend's SQLite file (default: {default_db_path()})")
    webcmd.add_argument("--demo", action="store_true", help="offer the backend's demo users on the sign-in page")
    webcmd.add_argument(
        "--oidc-issuer",
        metavar="ROLE=URL",
        action="append",
        default=None,
        help="sign people in at this OpenID Connect issuer: citizen (ID-porten), staff (HelseID; support agents too, "
        "unless a support issuer is named); repeat for each (default: $TIMEBOK_OIDC_ISSUERS)",
    )
    webcmd.add_argument(
        "--client-id", default="timebok", help="the client id the issuers know this service by (default: timebok)"
    )
    webcmd.add_argument("--max-tabs", type=int, default=20, help="open tabs (app processes) at most (default: 20)")
    webcmd.add_argument(
        "--idle-minutes", type=float, default=15, help="close a tab after this many minutes without a key or click (default: 15)"
    )
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


def _web(args: argparse.Namespace) -> int:
    from timebok.backend.oidc import parse_issuers
    from timebok.web.server import WebConfig, serve

    try:
        issuers = parse_issuers(
            args.oidc_issuer if args.oidc_issuer is not None else os.environ.get("TIMEBOK_OIDC_ISSUERS", "").split()
        )
    except ValueError as error:
        print(f"timebok web: {error}", file=sys.stderr)
        return 2
    if args.max_tabs < 1 or args.idle_minutes <= 0:
        print("timebok web: --max-tabs must be at least 1 and --idle-minutes more than 0", file=sys.stderr)
        return 2
    if not args.backend and not args.demo:
        print("timebok web: name the backend with --backend URL (or run the embedded demo with --demo)", file=sys.stderr)
        return 2
    embedded = None
    backend = args.backend
    if not backend:
        from timebok.backend.embedded import EmbeddedProcess

        embedded = EmbeddedProcess(args.db or default_db_path(), demo=True).start()
        embedded.ready.wait(60)
        if embedded.failed is not None:
            print(f"timebok web: the demo backend did not start: {embedded.failed}", file=sys.stderr)
            return 1
        backend = embedded.url
    config = WebConfig(
        backend_url=backend,
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        demo=args.demo,
        issuers=issuers,
        client_id=args.client_id,
        max_tabs=args.max_tabs,
        idle_seconds=args.idle_minutes * 60,
    )
    try:
        serve(config, on_ready=lambda url: print(f"timebok web: {url} (Ctrl+C stops)", flush=True))
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


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
            log_format=args.log_format,
            graceful=args.graceful_seconds,
            migrate=not args.no_migrate,
            smtp=args.smtp,
            smtp_starttls=args.smtp_starttls,
            sms_gateway=args.sms_gateway,
            notices_dir=args.notices_dir,
        )
    except StartupError as error:
        print(f"timebok serve: {error}", file=sys.stderr)
        return 1
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from timebok.backend.migrate import head
    from timebok.backend.server import StartupError, open_database

    try:
        db = open_database(_db(args), demo=False)
    except StartupError as error:
        print(f"timebok migrate: {error}", file=sys.stderr)
        return 1
    db.dispose()
    print(f"The database is at the newest schema ({head()}).")
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
    if args.command == "migrate":
        return _migrate(args)
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
    if args.command == "web":
        return _web(args)
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
