"""The app gives screens what ui.contract declares: a screen asking for a member the app lacks would crash in front of the user.

The guarantee is mypy's (the end of tui/app.py assigns the App to the contract, so `make test` fails if they part);
this test adds what a type check cannot see: a connected app has the members filled in, not None."""

from __future__ import annotations

import inspect
from pathlib import Path

from tests.conftest import KARI
from tests.tui_helpers import make_app, settle
from timebok.ui.contract import ConnectionFacts, TimebokAppContract


def _members(protocol: type) -> dict[str, object]:
    """A protocol's declared attributes (annotations) and methods, by name."""
    declared = {name: None for name in protocol.__annotations__}
    declared.update(
        {
            name: value
            for name, value in vars(protocol).items()
            if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, property))
        }
    )
    return declared


def _parameters(function) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values() if p.name != "self"]


async def test_a_connected_app_has_every_member_the_screens_contract_declares_with_its_parameters(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.user is not None and app.client is not None  # connected: nothing the screens use is still None
        members = _members(TimebokAppContract)
        assert {"client", "user", "trace_dir", "offer_sign_in", "go_home", "start_booking"} <= set(members)
        for name, declared in members.items():
            assert hasattr(app, name), f"the app lacks {name}, which screens may use"
            if inspect.isfunction(declared):
                assert _parameters(getattr(app, name)) == _parameters(declared), f"{name} takes other parameters"
        for name in _members(ConnectionFacts):
            assert hasattr(app.connection, name), f"the connection lacks {name}"
        assert isinstance(app.trace_dir, Path)  # the trace panel's export has a folder without being given one
