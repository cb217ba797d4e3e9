"""The citizen's guide as a new user meets it (issue 12): each test is one defect a citizen ran into."""

from __future__ import annotations

from textual.command import CommandPalette

from screens.time_type import TimeTypeScreen
from tests.conftest import KARI
from tests.tui_helpers import make_app, screen_text, settle

SIZE = (100, 32)


def _back_to_norwegian() -> None:
    from tui import i18n
    from tui.keys import retranslate_bindings

    i18n.set_language("nb")
    retranslate_bindings()


async def _palette_command(pilot, search: str) -> None:
    await pilot.press("ctrl+p")
    await settle(pilot)
    assert CommandPalette.is_open(pilot.app), "the command palette did not open"
    await pilot.press(*search)
    await settle(pilot, rounds=10)
    await pilot.press("enter")
    await settle(pilot)


async def test_the_palette_survives_two_language_switches_and_the_user_stays_on_the_step(live_server):
    app = make_app(live_server, KARI)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("b")
            await settle(pilot)
            await pilot.press("down", "down")  # Lab highlighted, not chosen
            await _palette_command(pilot, "språk")  # the Norwegian word finds the switch
            assert isinstance(app.screen, TimeTypeScreen)
            assert "Step 2 of 8" in screen_text(app)
            assert app.screen.query_one("#types").highlighted == 2
            await _palette_command(pilot, "norsk")  # the palette still opens, in English now
            assert isinstance(app.screen, TimeTypeScreen) and "Steg 2 av 8" in screen_text(app)
            assert app.screen.query_one("#types").highlighted == 2
            await pilot.press("ctrl+p")
            await settle(pilot)
            assert CommandPalette.is_open(app)
    finally:
        _back_to_norwegian()


async def test_the_palette_and_the_quit_prompt_speak_norwegian(live_server):
    app = make_app(live_server, KARI)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Fargetema", "Avslutt", "Skjermbilde"} <= titles
        assert not titles & {"Theme", "Quit", "Screenshot", "Keys"}
        await pilot.press("ctrl+p")
        await settle(pilot)
        from textual.command import CommandInput

        assert app.screen.query_one(CommandInput).placeholder == "Søk etter kommandoer …"
        await pilot.press(*"xyzzy")
        await pilot.pause(0.8)
        await settle(pilot)
        from textual.command import CommandList

        options = app.screen.query_one(CommandList)
        assert "Ingen treff" in str(options.get_option_at_index(0).prompt)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("ctrl+c")
        await settle(pilot)
        assert any("Trykk ^q for å avslutte timebok." in str(n.message) for n in app._notifications)
