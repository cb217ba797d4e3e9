"""Runs the local provider on a loopback port, in a thread (tests) or in the foreground (`timebok dev-idp`)."""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

from timebok.devidp.provider import DevProvider

if TYPE_CHECKING:
    import uvicorn  # imported when the server runs: a test that never starts one does not pay for it


class ProviderServer:
    """The local provider served by uvicorn on 127.0.0.1 (port 0 = a free one), in a background thread."""

    def __init__(self, port: int = 0, *, audience: str = "timebok") -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self._socket.listen(64)
        self.port = self._socket.getsockname()[1]
        self.provider = DevProvider(f"http://127.0.0.1:{self.port}", audience=audience)
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=self.run, name="timebok-dev-idp", daemon=True)
        self.ready = threading.Event()

    def issuer(self, realm: str) -> str:
        return self.provider.issuer(realm)

    def run(self) -> None:
        import uvicorn

        config = uvicorn.Config(
            self.provider.app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1
        )
        server = self._server = uvicorn.Server(config)
        self.ready.set()
        server.run(sockets=[self._socket])

    def start(self) -> ProviderServer:
        self._thread.start()
        self.ready.wait(10)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()
