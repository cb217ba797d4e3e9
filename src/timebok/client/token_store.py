"""Keeps sign-in tokens where the platform keeps secrets (keyring), else in a 0600 file in the user state directory."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from timebok.client.signin import Tokens

SERVICE = "timebok"


def _keyring() -> ModuleType | None:
    """The platform's keyring, or None when there is none usable (a server, a container, SSH without a session bus)."""
    if os.environ.get("TIMEBOK_NO_KEYRING"):
        return None
    try:
        import keyring
        from keyring.backends import fail

        return None if isinstance(keyring.get_keyring(), fail.Keyring) else keyring
    except Exception:  # noqa: BLE001 - any import or backend trouble means: use the file
        return None


class TokenStore:
    """Tokens per name ("default": your own sign-in, "citizen": the test citizen a support agent acts as); `warning` says why the file fallback is in use, if it is."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "tokens.json"
        self._ring = _keyring()
        self.in_keyring = self._ring is not None
        self.warning = (
            None if self._ring else (f"no keyring on this system: tokens are kept in {self.path} (readable by you only)")
        )

    def load(self, name: str = "default") -> Tokens | None:
        raw = self._ring.get_password(SERVICE, name) if self._ring else self._file().get(name)
        if not raw:
            return None
        try:
            return Tokens(**json.loads(raw))
        except (ValueError, TypeError):
            return None

    def save(self, tokens: Tokens, name: str = "default") -> None:
        raw = json.dumps(tokens.as_dict())
        if self._ring:
            self._ring.set_password(SERVICE, name, raw)
            return
        data = self._file()
        data[name] = raw
        self._write(data)

    def forget(self, name: str | None = None) -> bool:
        """Remove one sign-in (or all); True when there was something to remove."""
        names = [name] if name else ["default", "citizen"]
        removed = False
        if self._ring:
            from keyring.errors import PasswordDeleteError

            for each in names:
                try:
                    self._ring.delete_password(SERVICE, each)
                    removed = True
                except PasswordDeleteError:
                    pass
            return removed
        data = self._file()
        for each in names:
            removed |= data.pop(each, None) is not None
        self._write(data)
        return removed

    def _file(self) -> dict[str, Any]:
        try:
            stored: dict[str, Any] = json.loads(self.path.read_text("utf-8"))
            return stored
        except (OSError, ValueError):
            return {}

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file 0600 before anything is written to it; the rename makes it whole or absent.
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".tokens-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
