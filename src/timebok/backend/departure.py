"""Notices a caller that goes away before it has its whole answer, without taking a message the app still wants."""

from __future__ import annotations

import asyncio
from collections import deque

from starlette.types import Message, Receive


class Departure:
    """Stands between the server's `receive` and the app's. Once the request's body is all read (at once, when it has
    none), the server's next message is `http.disconnect`, when the caller leaves or when the answer is complete
    (ASGI); a task of its own waits for it, so which came first is known. The app gets every message as before."""

    def __init__(self, receive: Receive, *, body_expected: bool) -> None:
        self._receive = receive
        self._messages: deque[Message] = deque()
        self._arrived = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self.answered = False  # set just before the answer's last part is sent
        self.gone = False  # the caller left before that
        if not body_expected:
            self._listen()

    def _listen(self) -> None:
        self._listener = asyncio.get_running_loop().create_task(self._take())

    async def _take(self) -> None:
        while True:
            message = await self._receive()
            self._messages.append(message)
            self._arrived.set()
            if message["type"] == "http.disconnect":
                self.gone = not self.answered
                return

    async def receive(self) -> Message:
        if self._listener is None:
            message = await self._receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                self._listen()
            return message
        while not self._messages:
            self._arrived.clear()
            await self._arrived.wait()
        if self._messages[0]["type"] == "http.disconnect":
            return self._messages[0]  # and to every later call, as the server would
        return self._messages.popleft()

    def close(self) -> None:
        """Stop waiting: the request is over (the server ends its own wait once the answer is complete)."""
        if self._listener is not None and not self._listener.done():
            self._listener.cancel()
