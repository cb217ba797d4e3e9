"""SQLite writers of one process take the write lock in arrival order: a booking that waited is never overtaken."""

from __future__ import annotations

import threading
import time

from timebok.backend.server import open_database


def test_writers_waiting_for_sqlite_are_served_first_come_first_served(db_path):
    db = open_database(db_path, demo=True)
    order: list[int] = []
    holding = threading.Event()
    release = threading.Event()

    def first() -> None:
        with db.writing():
            holding.set()
            release.wait(10)

    def writer(number: int) -> None:
        with db.writing() as session:
            order.append(number)
            session.connection().exec_driver_sql("UPDATE slot SET version = version WHERE id = 1")

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert holding.wait(10)
    for number in range(1, 9):
        thread = threading.Thread(target=writer, args=(number,))
        threads.append(thread)
        thread.start()
        deadline = time.monotonic() + 10
        while len(db._writers._waiting) < number and time.monotonic() < deadline:  # queued before the next arrives
            time.sleep(0.001)
    release.set()
    for thread in threads:
        thread.join(10)
    db.dispose()
    assert order == list(range(1, 9))
