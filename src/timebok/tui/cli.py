"""The `timebok` command: the app by default, plus `serve`, `tokens` and `config init`."""

from __future__ import annotations

import argparse
import json
import os
import sys
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
        "default: beside the SQLite file, else the working directory)",
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

    config = commands.add_parser("config", help="manage the config file", description="Manage the config file.")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    config_commands.add_parser("init", help="write a commented starter config file (never overwrites one)")
    return parser


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
            smtp=args.smtp,
            smtp_starttls=args.smtp_starttls,
            sms_gateway=args.sms_gateway,
            notices_dir=args.notices_dir,
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
    if args.command == "config":
        from timebok.tui.starter import write_starter_config

        return write_starter_config(args.config)
    from timebok.tui.run import run_app

    return run_app(args.config)


if __name__ == "__main__":
    sys.exit(main())
