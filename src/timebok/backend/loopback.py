"""A listening socket on a free loopback port: bound at once, served later (no uvicorn import, so the app can call it before its first paint)."""

from __future__ import annotations

import socket


def listening_socket() -> socket.socket:
    """Bind 127.0.0.1 on a free port and listen; requests that come before the server runs wait in the backlog."""
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
    # and without it every answer waits ~40 ms for a delayed ACK (Nagle).
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    return listener
