"""Finds, reads and strictly checks the user's config file, and layers the in-app choices kept in the user state directory over it."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from timebok.ui.i18n import LANGUAGES

ENV_CONFIG = "TIMEBOK_CONFIG"
ENV_TOKEN = "TIMEBOK_TOKEN"
ENV_AGENT_TOKEN = "TIMEBOK_AGENT_TOKEN"
ROLES = ("citizen", "staff", "support")
_APP_NAME = "timebok"
_STATE_KEYS = ("language", "theme", "last_demo_role", "last_demo_token")


class ConfigError(Exception):
    """A config file that cannot be used: names the file, the key at fault and the problem."""

    def __init__(self, path: Path | str | None, problem: str, key: str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.key = key
        self.problem = problem
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{key} {problem}" if key else f"{where}{problem}")


@dataclass(frozen=True)
class BackendSettings:
    """Where the booking backend is and how to talk to it."""

    url: str | None = None  # None: the embedded demo backend
    token: str | None = field(default=None, repr=False)  # never shown, not even in a traceback's locals
    agent_token: str | None = field(default=None, repr=False)  # a support agent's own token, beside a citizen's
    timeout: float = 10.0
    page_size: int = 1000


@dataclass(frozen=True)
class AuthSettings:
    """OpenID Connect sign-in (a real backend): where you sign in, as which client, and the loopback redirect port."""

    issuer: str | None = None  # None: no sign-in; the token comes from [backend]
    client_id: str = "timebok"
    scopes: str = "openid"
    redirect_port: int = 0  # 0: any free port on 127.0.0.1 (RFC 8252)
    citizen_issuer: str | None = None  # support agents: where the test citizen they act as signs in (ID-porten)


def _default_state_path() -> Path:
    from timebok.tui.locations import state_path

    return state_path()


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from the config file, the environment and the state file."""

    backend: BackendSettings = field(default_factory=BackendSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    language: str = "nb"
    theme: str = "textual-dark"
    role: str | None = None  # None: from the token, or chosen on the demo start screen
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> "key1,key2", for App.set_keymap
    source: Path | None = None
    state_path: Path = field(default_factory=_default_state_path)
    last_demo_role: str | None = None
    last_demo_token: str | None = field(default=None, repr=False)

    @property
    def embedded(self) -> bool:
        """True when the app runs its own demo backend rather than talking to a remote one."""
        return self.backend.url is None


def _user_config_file() -> Path:
    from platformdirs import user_config_path

    return user_config_path(_APP_NAME, appauthor=False) / "config.toml"


def _named_config_file(cli_path: str | None) -> Path | None:
    """The file the user named on the command line or in the environment, which must then exist."""
    named = cli_path or os.environ.get(ENV_CONFIG)
    return Path(named).expanduser() if named else None


def config_path(cli_path: str | None) -> Path | None:
    """The config file to read: --config, then $TIMEBOK_CONFIG, then the user config dir if it has one; else None."""
    named = _named_config_file(cli_path)
    if named is not None:
        return named
    default = _user_config_file()
    return default if default.is_file() else None


# --- reading and checking the config file -----------------------------------------------------

def _shown(value: object) -> str:
    """A value as the user wrote it in TOML, for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _string(path: Path, key: str, value: object, what: str = "a string") -> str:
    if not isinstance(value, str):
        raise ConfigError(path, f"must be {what}, got {_shown(value)}", key)
    return value


def _check_url(path: Path, key: str, value: object) -> str:
    what = 'an http:// or https:// URL, such as "https://timebok.example.no/fhir"'
    url = _string(path, key, value, what)
    if not url.startswith(("http://", "https://")) or not urlsplit(url).netloc:
        raise ConfigError(path, f"must be {what}, got {_shown(value)}", key)
    return url


def _check_token(path: Path, key: str, value: object) -> str:
    # The value is deliberately left out of these messages: it is a secret.
    if not isinstance(value, str):
        raise ConfigError(path, "must be a string", key)
    if not value.strip():
        raise ConfigError(path, f"must not be empty; leave it out, or set {ENV_TOKEN} instead", key)
    return value


def _check_timeout(path: Path, key: str, value: object) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok:
        raise ConfigError(path, f"must be a number of seconds greater than 0, got {_shown(value)}", key)
    return float(value)


def _check_page_size(path: Path, key: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(path, f"must be a whole number of at least 1, got {_shown(value)}", key)
    return value


def _check_issuer(path: Path, key: str, value: object) -> str:
    what = 'an https:// URL (or http:// on 127.0.0.1 for a local test provider), such as "https://idporten.no"'
    url = _string(path, key, value, what)
    parts = urlsplit(url)
    if not parts.netloc or not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"))):
        raise ConfigError(path, f"must be {what}, got {_shown(value)}", key)
    return url.rstrip("/")


def _check_nonempty(path: Path, key: str, value: object) -> str:
    text = _string(path, key, value)
    if not text.strip():
        raise ConfigError(path, "must not be empty", key)
    return text.strip()


def _check_port(path: Path, key: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise ConfigError(path, f"must be a port number from 0 (any free port) to 65535, got {_shown(value)}", key)
    return value


def _one_of(choices: tuple[str, ...]):
    def check(path: Path, key: str, value: object) -> str:
        if value not in choices:
            listed = ", ".join(f'"{c}"' for c in choices)
            raise ConfigError(path, f"must be one of {listed}, got {_shown(value)}", key)
        return value  # type: ignore[return-value]

    return check


def _check_theme(path: Path, key: str, value: object) -> str:
    theme = _string(path, key, value, 'the name of a Textual theme, such as "textual-dark"')
    if not theme.strip():
        raise ConfigError(path, 'must be the name of a Textual theme, such as "textual-dark", got ""', key)
    return theme


_SCHEMA = {
    "backend": {"url": _check_url, "token": _check_token, "agent_token": _check_token, "timeout": _check_timeout, "page_size": _check_page_size},
    "app": {"language": _one_of(LANGUAGES), "theme": _check_theme, "role": _one_of(ROLES)},
    "auth": {"issuer": _check_issuer, "client_id": _check_nonempty, "scopes": _check_nonempty, "redirect_port": _check_port,
             "citizen_issuer": _check_issuer},
}
_SECTIONS = (*_SCHEMA, "keys")


def _unknown(path: Path, section: str | None, name: str, is_table: bool = False) -> ConfigError:
    """An error for a key we do not know, pointing at the one the user most likely meant."""
    if section is None:
        sections = ", ".join(f"[{s}]" for s in _SECTIONS)
        import difflib  # only for a mistyped name

        guesses = difflib.get_close_matches(name, _SECTIONS, n=1)
        if is_table:
            hint = f"did you mean [{guesses[0]}]?" if guesses else f"the sections are {sections}"
            return ConfigError(path, f"unknown section [{name}]; {hint}")
        # A setting written above every [section] header is a common slip.
        homes = [s for s, keys in _SCHEMA.items() if name in keys]
        hint = f"it belongs in the [{homes[0]}] section" if homes else f"settings go in the sections {sections}"
        return ConfigError(path, f"unknown key {name}; {hint}")
    known = _SCHEMA[section]
    import difflib

    guesses = difflib.get_close_matches(name, known, n=1)
    if guesses:
        hint = f"did you mean {section}.{guesses[0]}?"
    else:
        homes = [s for s, keys in _SCHEMA.items() if name in keys]
        hint = f"did you mean {homes[0]}.{name}?" if homes else f"the keys of [{section}] are {', '.join(known)}"
    return ConfigError(path, f"unknown key {section}.{name}; {hint}")


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    # An unquoted binding id (calendar.next_month = ...) is a dotted key to TOML, i.e. a nested table.
    flat: dict[str, Any] = {}
    for name, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _check_keys(path: Path, table: dict[str, Any]) -> dict[str, str]:
    keymap: dict[str, str] = {}
    for binding_id, value in _flatten(table).items():
        key = f'keys."{binding_id}"'
        what = 'a comma-separated list of keys, such as "pagedown,n"'
        keys = _string(path, key, value, what)
        parts = [part.strip() for part in keys.split(",")]
        if not all(parts):
            raise ConfigError(path, f"must be {what}, got {_shown(value)}", key)
        keymap[binding_id] = ",".join(parts)
    return keymap


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib  # here, not on top: a first start without config or state files reads no TOML (~6 ms of start-up)

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, "no such config file") from None
    except IsADirectoryError:
        raise ConfigError(path, "is a directory, not a config file") from None
    except OSError as error:
        raise ConfigError(path, f"cannot read the config file: {error.strerror}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(path, f"is not UTF-8 text (bad byte at offset {error.start})") from None
    except tomllib.TOMLDecodeError as error:
        # tomllib's message ends with "(at line L, column C)", which is what the user needs.
        raise ConfigError(path, f"is not valid TOML: {error}") from None


def _parse(path: Path, document: dict[str, Any]) -> dict[str, Any]:
    """The checked settings in `document`, as keyword arguments for Settings and BackendSettings."""
    values: dict[str, Any] = {}
    for section, table in document.items():
        if section not in _SECTIONS:
            raise _unknown(path, None, section, is_table=isinstance(table, dict))
        if not isinstance(table, dict):
            raise ConfigError(path, f"must be a table (a [{section}] section), got {_shown(table)}", section)
        if section == "keys":
            values["keys"] = _check_keys(path, table)
            continue
        for name, value in table.items():
            check = _SCHEMA[section].get(name)
            if check is None:
                raise _unknown(path, section, name)
            values[f"{section}.{name}"] = check(path, f"{section}.{name}", value)
    return values


def _layer_state(settings: Settings) -> Settings:
    """The settings with the saved in-app choices over them; a state file we cannot use is ignored, not fatal."""
    state = _read_state(settings.state_path)
    changes: dict[str, Any] = {}
    if state.get("language") in LANGUAGES:
        changes["language"] = state["language"]
    if isinstance(state.get("theme"), str) and state["theme"].strip():
        changes["theme"] = state["theme"]
    if state.get("last_demo_role") in ROLES:
        changes["last_demo_role"] = state["last_demo_role"]
    if isinstance(state.get("last_demo_token"), str) and state["last_demo_token"]:
        changes["last_demo_token"] = state["last_demo_token"]
    return replace(settings, **changes)


def load_settings(cli_path: str | None = None) -> Settings:
    """Read and check the config file (if any), take the token from $TIMEBOK_TOKEN if set, and layer the state file over it."""
    source = config_path(cli_path)
    values = _parse(source, _read_toml(source)) if source is not None else {}
    token = os.environ.get(ENV_TOKEN) or values.get("backend.token")
    agent_token = os.environ.get(ENV_AGENT_TOKEN) or values.get("backend.agent_token")
    role = values.get("app.role")
    if role == "support" and values.get("backend.url") and not agent_token and not values.get("auth.issuer"):
        raise ConfigError(source, f'is "support": set backend.agent_token (or {ENV_AGENT_TOKEN}) to your own '
                                  "support token; backend.token is then the test citizen's token", "app.role")
    backend = BackendSettings(
        url=values.get("backend.url"),
        token=token,
        agent_token=agent_token,
        timeout=values.get("backend.timeout", BackendSettings.timeout),
        page_size=values.get("backend.page_size", BackendSettings.page_size),
    )
    settings = Settings(
        backend=backend,
        language=values.get("app.language", Settings.language),
        theme=values.get("app.theme", Settings.theme),
        role=role,
        keys=values.get("keys", {}),
        auth=AuthSettings(
            issuer=values.get("auth.issuer"),
            client_id=values.get("auth.client_id", AuthSettings.client_id),
            scopes=values.get("auth.scopes", AuthSettings.scopes),
            redirect_port=values.get("auth.redirect_port", AuthSettings.redirect_port),
            citizen_issuer=values.get("auth.citizen_issuer"),
        ),
        source=source,
        # One place whatever config exists: `timebok config init` must not lose the remembered user and theme.
        state_path=_default_state_path(),
    )
    return _layer_state(settings)


# --- the state file ---------------------------------------------------------------------------

def _read_state(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError:
        return {}  # none yet (a first start): nothing remembered
    import tomllib

    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        # The state file is ours, not the user's: a broken one costs a remembered theme, not the start-up.
        return {}


def _check_state_change(name: str, value: object) -> None:
    if name not in _STATE_KEYS:
        raise TypeError(f"save_state() got an unexpected setting {name!r}; it saves {', '.join(_STATE_KEYS)}")
    if value is None and name.startswith("last_demo_"):
        return
    if name == "language" and value not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {value!r}")
    if name == "last_demo_role" and value not in ROLES:
        raise ValueError(f"last_demo_role must be one of {', '.join(ROLES)}, got {value!r}")
    if not (isinstance(value, str) and value.strip()):
        raise ValueError(f"{name} must be a non-empty string")


def save_state(settings: Settings, **changes: str | None) -> Settings:
    """Remember in-app choices (language, theme, last_demo_role, last_demo_token; None forgets a demo one) and return the updated settings."""
    for name, value in changes.items():
        _check_state_change(name, value)
    path = settings.state_path
    # Keep what is already saved, including keys a newer timebok may have written.
    state = _read_state(path)
    for name, value in changes.items():
        if value is None:
            state.pop(name, None)
        else:
            state[name] = value
    _write_state(path, state)
    return replace(settings, **changes)


def read_seen(settings: Settings, user_key: str) -> set[str]:
    """The inbox messages `user_key` (e.g. «Patient/1») has opened, as saved in the state file."""
    seen = _read_state(settings.state_path).get("seen_messages", {})
    found = seen.get(user_key, []) if isinstance(seen, dict) else []
    return {str(id_) for id_ in found if isinstance(id_, str | int)} if isinstance(found, list) else set()


def save_seen(settings: Settings, user_key: str, ids: set[str]) -> None:
    """Remember which inbox messages `user_key` has opened, so «Ny» stays off after a restart."""
    state = _read_state(settings.state_path)
    seen = state.get("seen_messages") if isinstance(state.get("seen_messages"), dict) else {}
    seen[user_key] = sorted(ids, key=lambda id_: (len(id_), id_))
    state["seen_messages"] = seen
    _write_state(settings.state_path, state)


def _write_state(path: Path, state: dict[str, Any]) -> None:
    import tomli_w

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp makes the file readable by its owner only, which suits a file that may hold a demo token.
        import tempfile  # only when state is saved, never before the first paint

        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".state-", suffix=".toml.tmp")
    except OSError as error:
        raise ConfigError(path, f"cannot save the app's state: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            tomli_w.dump(state, file)
            file.flush()
            os.fsync(file.fileno())
        # Readers see the old file or the new one, never half of one.
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise ConfigError(path, f"cannot save the app's state: {error.strerror}") from None


# --- timebok config init ----------------------------------------------------------------------

def write_starter_config(cli_path: str | None) -> int:
    """Write STARTER_CONFIG to --config, $TIMEBOK_CONFIG or the user config dir, never over an existing file; an exit code."""
    target = _named_config_file(cli_path) or _user_config_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Exclusive create: a file that appears between a check and the write is still not overwritten.
        with target.open("x", encoding="utf-8", newline="\n") as file:
            file.write(STARTER_CONFIG)
    except FileExistsError:
        print(f"{target} already exists; timebok config init never overwrites a config file.", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"Could not write {target}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"Wrote {target}")
    return 0


# The text of config.example.toml, which is not packaged; a test keeps the two the same.
STARTER_CONFIG = '''# timebok configuration.
#
# timebok reads this file from, in order: the path given with --config, the
# path in $TIMEBOK_CONFIG, or config.toml in your user config directory
# (on Linux ~/.config/timebok/config.toml). Every setting below is shown with
# its default value, so deleting a line changes nothing. Unknown keys are
# errors, so a typo is reported rather than silently ignored.
#
# timebok never rewrites this file. What you change inside the app (language,
# theme, the demo user) is saved to state.toml in your user state directory
# (~/.local/state/timebok on Linux), wherever this file is, and takes precedence
# over the values here; delete state.toml to go back to them.

[backend]
# The FHIR base URL of the booking backend, starting with http:// or https://,
# for example "https://timebok.example.no/fhir". Leave it unset to use the
# embedded demo backend, which runs inside the app with made-up offices,
# patients and tokens.
# url = "https://timebok.example.no/fhir"

# Your bearer token for that backend. You can set TIMEBOK_TOKEN in the
# environment instead, which keeps it out of this file and wins over it.
# timebok never prints, logs or traces the token.
# token = "..."

# Support agents only (role = "support"): your own support token. token above
# is then the test citizen's token you act as; the backend answers exactly as
# it would that citizen and records your reads in its audit log. You can set
# TIMEBOK_AGENT_TOKEN in the environment instead.
# agent_token = "..."

# Seconds to wait for the backend to answer before giving up (a number > 0).
timeout = 10.0

# How many results to ask the backend for in each page (a whole number >= 1).
page_size = 1000

[app]
# Language of the app: "nb" (norsk bokmål) or "en" (English).
language = "nb"

# Colour theme: any Textual theme name, for example "textual-dark",
# "textual-light", "nord", "gruvbox", or "ansi-dark" to use your terminal's
# own colours.
theme = "textual-dark"

# Which role to start as: "citizen", "staff" or "support". Leave it unset to
# take the role from the token, or to choose one on the demo start screen.
# "support" needs backend.agent_token when backend.url is set.
# role = "citizen"

[auth]
# Real sign-in with OpenID Connect, for a backend started with --oidc-issuer.
# Leave issuer unset to use [backend] token instead. Citizens sign in with
# ID-porten, staff and NHN support with HelseID; the browser opens (or, with
# no browser, e.g. over SSH, the app shows the address to open elsewhere) and
# the answer comes back to this machine on 127.0.0.1. `timebok login` signs in
# ahead of time, `timebok logout` forgets the sign-in. Tokens are kept in your
# system's keyring, or in a file readable by you only in your user state
# directory when there is none; never in this file.
# issuer = "https://idporten.no"

# The client id the sign-in service knows this app by.
client_id = "timebok"

# The scopes to ask for, separated by spaces. NHN support agents add
# "nhn:timebok/support".
scopes = "openid"

# The port on 127.0.0.1 the sign-in answer comes back to; 0 takes any free
# port (the service must allow any loopback port, as RFC 8252 says).
redirect_port = 0

# Support agents only (role = "support"): where the test citizen you act as
# signs in (ID-porten's test environment). `timebok login --citizen` signs
# them in; issuer above is then your own HelseID.
# citizen_issuer = "https://test.idporten.no"

[keys]
# Rebind keys: binding id = a comma-separated list of keys, which replace the
# default keys of that binding. Binding ids include "app.help", "app.retry",
# "flow.back", "calendar.next_month" and "calendar.prev_month".
# "calendar.next_month" = "pagedown,n"
# "calendar.prev_month" = "pageup,p"
'''
