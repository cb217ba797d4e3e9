"""The `timebok` command: the app by default, plus `serve`, `tokens` and `config init`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tui.locations import default_db_path


def _db(args: argparse.Namespace) -> str | Path:
    # --db, then $TIMEBOK_DB_URL (e.g. postgresql+psycopg://…, shared by several instances), then the demo file.
    return args.db or os.environ.get("TIMEBOK_DB_URL") or default_db_path()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="timebok",
        description="Book appointments in a GP office's ressurstimebok. With no command, starts the app "
        "(on the embedded demo backend unless the config names a backend).",
    )
    parser.add_argument("--config", metavar="PATH", help="config file to read (default: $TIMEBOK_CONFIG, then the user config dir)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the FHIR booking backend", description="Run the FHIR R4 booking backend over HTTP.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=8787, help="port to listen on (default: 8787)")
    serve.add_argument("--db", metavar="PATH", help=f"SQLite file or database URL (default: $TIMEBOK_DB_URL, else {default_db_path()})")
    serve.add_argument("--public-url", metavar="URL",
                       help="the address clients reach this server at, for links in answers (default: $TIMEBOK_PUBLIC_URL, "
                            "else the listening address), e.g. https://timebok.example.no behind a reverse proxy")
    serve.add_argument("--demo", action="store_true",
                       help="seed an empty database with the demo offices, patients and tokens, and accept synthetic identity numbers")

    tokens = commands.add_parser("tokens", help="list the demo tokens", description="List the bearer tokens in the database.")
    tokens.add_argument("--db", metavar="PATH", help=f"SQLite file or database URL (default: $TIMEBOK_DB_URL, else {default_db_path()})")
    tokens.add_argument("--json", action="store_true", help="print a JSON list of {role, name, reference, token} for scripts")

    config = commands.add_parser("config", help="manage the config file", description="Manage the config file.")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    config_commands.add_parser("init", help="write a commented starter config file (never overwrites one)")
    return parser


def _serve(args: argparse.Namespace) -> int:
    from backend.server import StartupError, serve

    try:
        serve(_db(args), host=args.host, port=args.port, demo=args.demo,
              public_url=args.public_url or os.environ.get("TIMEBOK_PUBLIC_URL"))
    except StartupError as error:
        print(f"timebok serve: {error}", file=sys.stderr)
        return 1
    return 0


def _tokens(args: argparse.Namespace) -> int:
    from backend.seed import demo_tokens
    from backend.server import StartupError, open_database

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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "tokens":
        return _tokens(args)
    if args.command == "config":
        from tui.config import write_starter_config

        return write_starter_config(args.config)
    from tui.run import run_app

    return run_app(args.config)


if __name__ == "__main__":
    sys.exit(main())
