"""A first-come, first-served lock for the threads of one process that write to SQLite."""

from __future__ import annotations

import sqlite3
import threading
from collections import deque

from sqlalchemy.exc import OperationalError

WAIT_SECONDS = 5.0  # as long as SQLite's own busy timeout (Timeouts.lock): a writer that waits longer hears "database is locked"


class WriterQueue:
    """Hands the lock to waiters strictly in arrival order (threading.Lock promises no order), with no polling:
    the holder wakes exactly the next waiter when it is done."""

    def __init__(self, wait_seconds: float = WAIT_SECONDS) -> None:
        self._wait_seconds = wait_seconds
        self._guard = threading.Lock()
        self._held = False
        self._waiting: deque[threading.Event] = deque()

    def __enter__(self) -> WriterQueue:
        with self._guard:
            if not self._held:
                self._held = True
                return self
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(self._wait_seconds):
            return self
        with self._guard:
            if turn.is_set():  # handed over just as we gave up: it is ours after all
                return self
            self._waiting.remove(turn)
        raise OperationalError(
            "BEGIN IMMEDIATE",
            None,
            sqlite3.OperationalError(f"database is locked: waited {self._wait_seconds:.0f} s for the writers before this one"),
        )

    def __exit__(self, *_exc: object) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().set()  # the lock passes straight to the next in line
            else:
                self._held = False
