"""The settings timebok reads from its config file, each declared once: its section, type, default, doc and check."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import Field, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from timebok.ui.i18n import LANGUAGES

ENV_TOKEN = "TIMEBOK_TOKEN"
ENV_AGENT_TOKEN = "TIMEBOK_AGENT_TOKEN"
ROLES = ("citizen", "staff", "support")


class ConfigError(Exception):
    """A config file that cannot be used: names the file, the key at fault and the problem."""

    def __init__(self, path: Path | str | None, problem: str, key: str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.key = key
        self.problem = problem
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{key} {problem}" if key else f"{where}{problem}")


# --- the checks: each takes the file, the key and the value as TOML gave it, and returns the value to use -----

Check = Callable[[Path | None, str, object], Any]


def shown(value: object) -> str:
    """A value as the user wrote it in TOML, for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The choice the user most likely meant by `name`, if one is close."""
    import difflib  # only for a mistyped name

    guesses = difflib.get_close_matches(name, list(choices), n=1)
    return guesses[0] if guesses else None


def _string(path: Path | None, key: str, value: object, what: str = "a string") -> str:
    if not isinstance(value, str):
        raise ConfigError(path, f"must be {what}, got {shown(value)}", key)
    return value


def _check_url(path: Path | None, key: str, value: object) -> str:
    what = 'an http:// or https:// URL, such as "https://timebok.example.no/fhir"'
    url = _string(path, key, value, what)
    if not url.startswith(("http://", "https://")) or not urlsplit(url).netloc:
        raise ConfigError(path, f"must be {what}, got {shown(value)}", key)
    return url


def _check_token(path: Path | None, key: str, value: object) -> str:
    # The value is deliberately left out of these messages: it is a secret.
    if not isinstance(value, str):
        raise ConfigError(path, "must be a string", key)
    if not value.strip():
        raise ConfigError(path, f"must not be empty; leave it out, or set {ENV_TOKEN} instead", key)
    return value


def _check_timeout(path: Path | None, key: str, value: object) -> float:
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0):
        raise ConfigError(path, f"must be a number of seconds greater than 0, got {shown(value)}", key)
    return float(value)


def _check_page_size(path: Path | None, key: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(path, f"must be a whole number of at least 1, got {shown(value)}", key)
    return value


def _check_issuer(path: Path | None, key: str, value: object) -> str:
    what = 'an https:// URL (or http:// on 127.0.0.1 for a local test provider), such as "https://idporten.no"'
    url = _string(path, key, value, what)
    parts = urlsplit(url)
    if not parts.netloc or not (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"))
    ):
        raise ConfigError(path, f"must be {what}, got {shown(value)}", key)
    return url.rstrip("/")


def _check_nonempty(path: Path | None, key: str, value: object) -> str:
    text = _string(path, key, value)
    if not text.strip():
        raise ConfigError(path, "must not be empty", key)
    return text.strip()


def _check_port(path: Path | None, key: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise ConfigError(path, f"must be a port number from 0 (any free port) to 65535, got {shown(value)}", key)
    return value


def one_of(choices: Callable[[], tuple[str, ...]]) -> Callable[[Path | None, str, object], str]:
    """A check that the value is one of `choices()` (asked only when a value is checked), pointing at the closest."""

    def check(path: Path | None, key: str, value: object) -> str:
        allowed = choices()
        if value not in allowed:
            listed = ", ".join(f'"{c}"' for c in allowed)
            guess = closest(value, allowed) if isinstance(value, str) else None
            hint = f'; did you mean "{guess}"?' if guess else ""
            raise ConfigError(path, f"must be one of {listed}, got {shown(value)}{hint}", key)
        return value

    return check


def theme_names() -> tuple[str, ...]:
    """The themes the app can show: Textual's built-in ones (the app registers none of its own)."""
    # Imported when a theme is named, not before: textual.theme alone costs ~120 ms, but the app imports it
    # with textual.app anyway (~2.5 ms more there), so checking a theme moves that time, it adds none.
    from textual.theme import BUILTIN_THEMES

    return tuple(sorted(BUILTIN_THEMES))


def _check_theme(path: Path | None, key: str, value: object) -> str:
    theme = _string(path, key, value, 'the name of a Textual theme, such as "textual-dark"')
    return one_of(theme_names)(path, key, theme)


def _check_keys(path: Path | None, key: str, table: object) -> dict[str, str]:
    keymap: dict[str, str] = {}
    assert isinstance(table, dict)  # config._parse hands a table setting only a TOML table (it refuses anything else)
    for binding_id, value in _flatten(table).items():
        binding_key = f'{key}."{binding_id}"'
        what = 'a comma-separated list of keys, such as "pagedown,l"'
        keys = _string(path, binding_key, value, what)
        parts = [part.strip() for part in keys.split(",")]
        if not all(parts):
            raise ConfigError(path, f"must be {what}, got {shown(value)}", binding_key)
        keymap[binding_id] = ",".join(parts)
    return keymap


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    # An unquoted binding id (calendar.next_month = ...) is a dotted key to TOML, i.e. a nested table.
    flat: dict[str, Any] = {}
    for name, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


# --- the declaration ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One key of the config file: its section, what the starter file says about it, and how a value is checked."""

    section: str
    doc: str  # one paragraph; the starter file wraps it into comment lines above the key
    check: Check
    example: object = None  # shown commented out in the starter file when the setting is unset by default
    env: str | None = None  # an environment variable that wins over the file
    table: bool = False  # the whole [section] is this one setting (binding id -> keys)


def setting(
    section: str,
    default: object = None,
    *,
    doc: str,
    check: Check,
    example: object = None,
    env: str | None = None,
    secret: bool = False,
) -> Any:
    """A dataclass field that is also a config key, `section`.`field name`; a secret is left out of repr()."""
    return field(default=default, repr=not secret, metadata={"setting": Setting(section, doc, check, example, env)})


@dataclass(frozen=True)
class BackendSettings:
    """Where the booking backend is and how to talk to it."""

    url: str | None = setting(
        "backend",
        None,
        check=_check_url,
        example="https://timebok.example.no/fhir",
        doc="The FHIR base URL of the booking backend, starting with http:// or https://, for example "
        '"https://timebok.example.no/fhir". Leave it unset to use the embedded demo backend, which runs '
        "inside the app with made-up offices, patients and tokens.",
    )
    token: str | None = setting(  # never shown, not even in a traceback's locals
        "backend",
        None,
        check=_check_token,
        example="...",
        env=ENV_TOKEN,
        secret=True,
        doc=f"Your bearer token for that backend. You can set {ENV_TOKEN} in the environment instead, which keeps "
        "it out of this file and wins over it. timebok never prints, logs or traces the token.",
    )
    agent_token: str | None = setting(  # a support agent's own token, beside a citizen's
        "backend",
        None,
        check=_check_token,
        example="...",
        env=ENV_AGENT_TOKEN,
        secret=True,
        doc='Support agents only (role = "support"): your own support token. token above is then the test '
        "citizen's token you act as; the backend answers exactly as it would that citizen and records your "
        f"reads in its audit log. You can set {ENV_AGENT_TOKEN} in the environment instead.",
    )
    timeout: float = setting(
        "backend", 10.0, check=_check_timeout, doc="Seconds to wait for the backend to answer before giving up (a number > 0)."
    )
    page_size: int = setting(
        "backend", 1000, check=_check_page_size, doc="How many results to ask the backend for in each page (a whole number >= 1)."
    )


@dataclass(frozen=True)
class AuthSettings:
    """OpenID Connect sign-in (a real backend): where you sign in, as which client, and the loopback redirect port."""

    issuer: str | None = setting(  # None: no sign-in; the token comes from [backend]
        "auth",
        None,
        check=_check_issuer,
        example="https://idporten.no",
        doc="Real sign-in with OpenID Connect, for a backend started with --oidc-issuer. Leave issuer unset to "
        "use [backend] token instead. Citizens sign in with ID-porten, staff and NHN support with HelseID; "
        "the browser opens (or, with no browser, e.g. over SSH, the app shows the address to open elsewhere) "
        "and the answer comes back to this machine on 127.0.0.1. `timebok login` signs in ahead of time, "
        "`timebok logout` forgets the sign-in. Tokens are kept in your system's keyring, or in a file "
        "readable by you only in your user state directory when there is none; never in this file.",
    )
    client_id: str = setting("auth", "timebok", check=_check_nonempty, doc="The client id the sign-in service knows this app by.")
    scopes: str = setting(
        "auth",
        "openid",
        check=_check_nonempty,
        doc='The scopes to ask for, separated by spaces. NHN support agents add "nhn:timebok/support".',
    )
    redirect_port: int = setting(  # 0: any free port on 127.0.0.1 (RFC 8252)
        "auth",
        0,
        check=_check_port,
        doc="The port on 127.0.0.1 the sign-in answer comes back to; 0 takes any free port (the service must "
        "allow any loopback port, as RFC 8252 says).",
    )
    citizen_issuer: str | None = setting(  # support agents: where the test citizen they act as signs in (ID-porten)
        "auth",
        None,
        check=_check_issuer,
        example="https://test.idporten.no",
        doc='Support agents only (role = "support"): where the test citizen you act as signs in (ID-porten\'s '
        "test environment). `timebok login --citizen` signs them in; issuer above is then your own HelseID.",
    )


def _default_state_path() -> Path:
    from timebok.tui.locations import state_path

    return state_path()


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from the config file, the environment and the state file.

    The fields are in the starter file's order: [backend], [app], [auth], [keys]."""

    backend: BackendSettings = field(default_factory=BackendSettings)
    language: str = setting(
        "app", "nb", check=one_of(lambda: LANGUAGES), doc='Language of the app: "nb" (norsk bokmål) or "en" (English).'
    )
    theme: str = setting(
        "app",
        "textual-dark",
        check=_check_theme,
        doc='Colour theme: any Textual theme name, for example "textual-dark", "textual-light", "nord", '
        '"gruvbox", or "ansi-dark" to use your terminal\'s own colours.',
    )
    role: str | None = setting(  # None: from the token, or chosen on the demo start screen
        "app",
        None,
        check=one_of(lambda: ROLES),
        example="citizen",
        doc='Which role to start as: "citizen", "staff" or "support". Leave it unset to take the role from the '
        'token, or to choose one on the demo start screen. "support" needs backend.agent_token when '
        "backend.url is set.",
    )
    auth: AuthSettings = field(default_factory=AuthSettings)
    keys: dict[str, str] = field(  # binding id -> "key1,key2", for App.set_keymap
        default_factory=dict,
        metadata={
            "setting": Setting(
                "keys",
                check=_check_keys,
                table=True,
                example={"calendar.next_month": "pagedown,l", "calendar.prev_month": "pageup,h"},
                doc="Rebind keys: binding id = a comma-separated list of keys, which replace the default keys of "
                'that binding. Binding ids include "app.help", "app.retry", "flow.back", "calendar.next_month" '
                'and "calendar.prev_month".',
            )
        },
    )
    source: Path | None = None
    state_path: Path = field(default_factory=_default_state_path)
    last_demo_role: str | None = None
    last_demo_token: str | None = field(default=None, repr=False)

    @property
    def embedded(self) -> bool:
        """True when the app runs its own demo backend rather than talking to a remote one."""
        return self.backend.url is None


def declared(cls: type = Settings) -> Iterator[tuple[Field[Any], Setting]]:
    """Every setting with its field, in the order of the declaration (and of the starter file)."""
    for f in fields(cls):
        if "setting" in f.metadata:
            yield f, f.metadata["setting"]
        elif is_dataclass(f.default_factory):
            yield from declared(f.default_factory)


def sections() -> dict[str, dict[str, Setting]]:
    """The config file's sections, each with its keys; a table setting ([keys]) has none of its own."""
    found: dict[str, dict[str, Setting]] = {}
    for f, s in declared():
        found.setdefault(s.section, {})
        if not s.table:
            found[s.section][f.name] = s
    return found
