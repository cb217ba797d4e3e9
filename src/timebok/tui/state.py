"""The state file: the choices made inside the app (language, theme, the demo user, inbox messages seen, «Skjul navn»), kept for the next start."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from timebok.tui.settings import ROLES, ConfigError, theme_names
from timebok.ui.i18n import LANGUAGES

if TYPE_CHECKING:
    from timebok.tui.settings import Settings

_STATE_KEYS = ("language", "theme", "last_demo_role", "last_demo_token")


class Choices(TypedDict, total=False):
    """The in-app choices the state file keeps, by their Settings field (None forgets a demo one)."""

    language: str
    theme: str
    last_demo_role: str | None
    last_demo_token: str | None


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


def remembered(path: Path) -> Choices:
    """The saved in-app choices that can still be used, as Settings fields; anything else in the file is ignored, not fatal."""
    state = _read_state(path)
    usable: Choices = {}
    if state.get("language") in LANGUAGES:
        usable["language"] = state["language"]
    # A theme this Textual no longer has (or a hand-edited one) would stop the app at mount.
    if isinstance(state.get("theme"), str) and state["theme"] in theme_names():
        usable["theme"] = state["theme"]
    if state.get("last_demo_role") in ROLES:
        usable["last_demo_role"] = state["last_demo_role"]
    if isinstance(state.get("last_demo_token"), str) and state["last_demo_token"]:
        usable["last_demo_token"] = state["last_demo_token"]
    return usable


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


def save_state(settings: Settings, **changes: Unpack[Choices]) -> Settings:
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
    saved = state.get("seen_messages")
    seen: dict[str, Any] = saved if isinstance(saved, dict) else {}
    seen[user_key] = sorted(ids, key=lambda id_: (len(id_), id_))
    state["seen_messages"] = seen
    _write_state(settings.state_path, state)


def read_hide_names(settings: Settings) -> bool:
    """Whether «Skjul navn» was on when the app last closed (a desk facing the counter keeps it on)."""
    return _read_state(settings.state_path).get("hide_names") is True


def save_hide_names(settings: Settings, hidden: bool) -> None:
    """Remember «Skjul navn» for the next start."""
    state = _read_state(settings.state_path)
    state["hide_names"] = hidden
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
