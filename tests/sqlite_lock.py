"""Another process's long write on the test database: SQLite's one write lock, held while the backend's writes wait."""

from __future__ import annotations

import sqlite3
import threading


def hold_write_lock(path, *, seconds: float = 10.0, release: threading.Event | None = None) -> threading.Thread:
    """Take the write lock on `path` and keep it for `seconds`, or until `release` is set; returns the holder to join."""
    locked, release = threading.Event(), release or threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait(seconds)
        connection.execute("ROLLBACK")
        connection.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    locked.wait(5)
    return holder
