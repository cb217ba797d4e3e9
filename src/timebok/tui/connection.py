"""Where the app's backend is and how to reach it: a URL and token, and for the embedded demo, when it is up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Connection:
    url: str
    token: str
    agent_token: str = ""  # a support agent's own token, sent beside the citizen's
    timeout: float = 10.0
    page_size: int = 1000
    # For the embedded backend: blocks until it serves, raising if it could not start.
    wait_until_ready: Callable[[], None] | None = None
    embedded: bool = False
    # Signed in with OpenID Connect (client.signin.TokenSource): the current tokens, renewed before they expire.
    token_source: Any = None
    agent_source: Any = None
    # Signing in again from inside the app when a renewal failed: (source, show_url=, cancelled=) -> None.
    sign_in_again: Any = None
    # «Logg ut»: forgets the kept tokens (the token store), so the next start signs in afresh.
    sign_out: Callable[[], None] | None = None
    # The embedded demo's «Logg ut» starts over as this user (the default citizen), with the user picker open.
    demo_default_token: str = ""
