"""Where timebok keeps its files on this machine: the config file, the demo database, trace exports and the state folder."""

from __future__ import annotations

from pathlib import Path

APP_NAME = "timebok"


def default_db_path() -> Path:
    """The embedded demo's SQLite file, kept across runs."""
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False) / "demo.db"


def default_trace_dir() -> Path:
    """Where the support desk's trace exports go (beside the demo database)."""
    return default_db_path().parent / "traces"


def config_file() -> Path:
    """The config file read when none is named (--config, $TIMEBOK_CONFIG), and where `timebok config init` writes."""
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False) / "config.toml"


def state_dir() -> Path:
    """What the app keeps between runs: the state file and, without a keyring, the sign-in tokens."""
    from platformdirs import user_state_path

    return user_state_path(APP_NAME, appauthor=False)


def state_path() -> Path:
    """The in-app choices (theme, language, the demo user): one place, whatever config file exists or is named."""
    return state_dir() / "state.toml"
