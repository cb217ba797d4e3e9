"""Finds, reads and strictly checks the user's config file against the declared settings, and layers the state file over it."""

from __future__ import annotations

import os
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from timebok.tui.settings import ENV_AGENT_TOKEN, ConfigError, Settings, closest, declared, sections, shown

ENV_CONFIG = "TIMEBOK_CONFIG"


def named_config_file(cli_path: str | None) -> Path | None:
    """The file the user named on the command line or in the environment, which must then exist."""
    named = cli_path or os.environ.get(ENV_CONFIG)
    return Path(named).expanduser() if named else None


def config_path(cli_path: str | None) -> Path | None:
    """The config file to read: --config, then $TIMEBOK_CONFIG, then the user config dir if it has one; else None."""
    from timebok.tui.locations import config_file

    named = named_config_file(cli_path)
    if named is not None:
        return named
    default = config_file()
    return default if default.is_file() else None


# --- reading and checking the config file -----------------------------------------------------


def _unknown(path: Path, section: str | None, name: str, is_table: bool = False) -> ConfigError:
    """An error for a key we do not know, pointing at the one the user most likely meant."""
    known = sections()
    homes = [s for s, keys in known.items() if name in keys]
    if section is None:
        listed = ", ".join(f"[{s}]" for s in known)
        if is_table:
            guess = closest(name, known)
            return ConfigError(
                path, f"unknown section [{name}]; " + (f"did you mean [{guess}]?" if guess else f"the sections are {listed}")
            )
        # A setting written above every [section] header is a common slip.
        hint = f"it belongs in the [{homes[0]}] section" if homes else f"settings go in the sections {listed}"
        return ConfigError(path, f"unknown key {name}; {hint}")
    guess = closest(name, known[section])
    if guess:
        hint = f"did you mean {section}.{guess}?"
    else:
        hint = f"did you mean {homes[0]}.{name}?" if homes else f"the keys of [{section}] are {', '.join(known[section])}"
    return ConfigError(path, f"unknown key {section}.{name}; {hint}")


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
    """The checked values in `document`, by key ("backend.url"; "keys" for the whole [keys] table)."""
    tables = {s.section: s for _, s in declared() if s.table}
    known = sections()
    values: dict[str, Any] = {}
    for section, table in document.items():
        if section not in known:
            raise _unknown(path, None, section, is_table=isinstance(table, dict))
        if not isinstance(table, dict):
            raise ConfigError(path, f"must be a table (a [{section}] section), got {shown(table)}", section)
        if section in tables:
            values[section] = tables[section].check(path, section, table)
            continue
        for name, value in table.items():
            setting = known[section].get(name)
            if setting is None:
                raise _unknown(path, section, name)
            values[f"{section}.{name}"] = setting.check(path, f"{section}.{name}", value)
    return values


def _build(cls: type, values: dict[str, Any]) -> Any:
    """An instance of a settings class from the checked values; what is not set keeps its declared default."""
    given: dict[str, Any] = {}
    for f in fields(cls):
        setting = f.metadata.get("setting")
        if setting is not None:
            key = setting.section if setting.table else f"{setting.section}.{f.name}"
            value = (setting.env and os.environ.get(setting.env)) or values.get(key)
            if value is not None:
                given[f.name] = value
        elif is_dataclass(f.default_factory):
            given[f.name] = _build(f.default_factory, values)
    return cls(**given)


def load_settings(cli_path: str | None = None) -> Settings:
    """Read and check the config file (if any), take the tokens from the environment if set, and layer the state file over it."""
    from timebok.tui.state import remembered

    source = config_path(cli_path)
    values = _parse(source, _read_toml(source)) if source is not None else {}
    settings: Settings = replace(_build(Settings, values), source=source)
    backend = settings.backend
    if settings.role == "support" and backend.url and not backend.agent_token and not settings.auth.issuer:
        raise ConfigError(
            source,
            f'is "support": set backend.agent_token (or {ENV_AGENT_TOKEN}) to your own '
            "support token; backend.token is then the test citizen's token",
            "app.role",
        )
    # The state file is one place whatever config exists: `timebok config init` loses no remembered user or theme.
    return replace(settings, **remembered(settings.state_path))


def key_clashes(settings: Settings, defaults: dict[str, set[str]]) -> list[str]:
    """Warnings for each key [keys] gives a binding that another binding of the same screen (the same group, such as
    calendar) or of the whole app already has: one of the two then silently loses it («n» for the next month took
    «Neste ledige dato» away)."""
    bound = {binding_id: set(keys.split(",")) for binding_id, keys in settings.keys.items()}
    now_bound = {**defaults, **bound}
    warnings = []
    for binding_id, keys in bound.items():
        group = binding_id.partition(".")[0]
        for key in sorted(keys - defaults.get(binding_id, set())):  # only what the config adds
            for other, other_keys in sorted(now_bound.items()):
                shared = other.partition(".")[0] in (group, "app", "flow") or group in ("app", "flow")
                if other != binding_id and shared and key in other_keys:
                    warnings.append(
                        f'{settings.source}: keys."{binding_id}" takes the key {key} that {other} has; '
                        f"one of them will not answer to it (choose another key, or rebind {other} too)"
                    )
    return warnings


def check_binding_ids(settings: Settings, binding_ids: set[str]) -> None:
    """Refuse a [keys] binding id that no binding has (a typo would otherwise rebind nothing, silently)."""
    for binding_id in settings.keys:
        if binding_id in binding_ids:
            continue
        group, _, name = binding_id.partition(".")
        siblings = sorted(i for i in binding_ids if i.partition(".")[0] == group)
        # Within a known group, only the name counts: the shared "calendar." would make any name look close.
        if siblings:
            near = closest(name, [i.partition(".")[2] for i in siblings])
            guess = f"{group}.{near}" if near else None
        else:
            guess = closest(binding_id, binding_ids)
        if guess:
            hint = f"did you mean {guess}?"
        elif siblings:
            hint = f"the binding ids of {group} are {', '.join(siblings)}"
        else:
            groups = sorted({i.partition(".")[0] for i in binding_ids})
            hint = f"a binding id is a group and a name, such as calendar.next_month; the groups are {', '.join(groups)}"
        raise ConfigError(settings.source, f"is not a binding id; {hint}", f'keys."{binding_id}"')
