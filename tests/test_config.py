"""The config file: where it is found, how strictly it is checked, and the state file layered over it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from timebok.tui import cli
from timebok.tui.config import ENV_CONFIG, config_path, load_settings
from timebok.tui.settings import ENV_TOKEN, BackendSettings, ConfigError, Settings
from timebok.tui.starter import starter_config
from timebok.tui.state import save_state

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch) -> Path:
    """Point every user dir into tmp_path so no test can read or write the real ones."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.delenv(ENV_CONFIG, raising=False)
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    return home


def user_config_file(home: Path) -> Path:
    return home / ".config" / "timebok" / "config.toml"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_config_file_means_the_embedded_demo_in_norwegian(home):
    settings = load_settings()

    assert settings.embedded
    assert settings.backend == BackendSettings(url=None, token=None, timeout=10.0, page_size=1000)
    assert (settings.language, settings.theme, settings.role, settings.keys) == ("nb", "textual-dark", None, {})
    assert settings.source is None
    assert settings.state_path == home / ".local" / "state" / "timebok" / "state.toml"
    assert (settings.last_demo_role, settings.last_demo_token) == (None, None)


def test_config_is_found_on_the_command_line_then_the_environment_then_the_user_dir(tmp_path, home, monkeypatch):
    from_cli = write(tmp_path / "cli.toml", '[app]\ntheme = "nord"\n')
    from_env = write(tmp_path / "env.toml", '[app]\ntheme = "dracula"\n')
    in_user_dir = write(user_config_file(home), '[app]\ntheme = "gruvbox"\n')
    monkeypatch.setenv(ENV_CONFIG, str(from_env))

    assert config_path(str(from_cli)) == from_cli
    assert load_settings(str(from_cli)).theme == "nord"
    assert load_settings().theme == "dracula"

    monkeypatch.delenv(ENV_CONFIG)
    settings = load_settings()
    assert settings.theme == "gruvbox"
    assert settings.source == in_user_dir
    assert settings.state_path == home / ".local" / "state" / "timebok" / "state.toml"  # one place, whatever config


def test_a_full_config_is_read(tmp_path):
    path = write(
        tmp_path / "config.toml",
        """
[backend]
url = "https://timebok.example.no/fhir"
token = "s3cret"
timeout = 3
page_size = 50

[app]
language = "en"
theme = "ansi-dark"
role = "staff"

[keys]
"calendar.next_month" = "pagedown, n"
app.help = "f1,question_mark"
""",
    )

    settings = load_settings(str(path))

    assert not settings.embedded
    assert settings.backend == BackendSettings("https://timebok.example.no/fhir", "s3cret", None, 3.0, 50)
    assert (settings.language, settings.theme, settings.role) == ("en", "ansi-dark", "staff")
    # Quoted and unquoted binding ids both reach App.set_keymap as "section.name".
    assert settings.keys == {"calendar.next_month": "pagedown,n", "app.help": "f1,question_mark"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[app]\nlangauge = "en"\n', "app.langauge; did you mean app.language?"),
        ('[bakend]\nurl = "http://x"\n', "unknown section [bakend]; did you mean [backend]?"),
        ('[backend]\nlanguage = "en"\n', "unknown key backend.language; did you mean app.language?"),
        ('language = "en"\n', "unknown key language; it belongs in the [app] section"),
        ("tema = 1\n", "unknown key tema; settings go in the sections [backend], [app], [auth], [keys]"),
        ('[backend]\ntimeout = "abc"\n', "backend.timeout must be a number of seconds greater than 0, got 'abc'"),
        ("[backend]\ntimeout = 0\n", "backend.timeout must be a number of seconds greater than 0, got 0"),
        ("[backend]\npage_size = 2.5\n", "backend.page_size must be a whole number of at least 1, got 2.5"),
        ('[app]\nlanguage = "sv"\n', """app.language must be one of "nb", "en", got 'sv'"""),
        ('[app]\nrole = "admin"\n', """app.role must be one of "citizen", "staff", "support", got 'admin'"""),
        ("[app]\ntheme = true\n", "app.theme must be the name of a Textual theme"),
        ('[backend]\nurl = "localhost:8787/fhir"\n', "backend.url must be an http:// or https:// URL"),
        ('[backend]\nurl = "ftp://example.no"\n', "got 'ftp://example.no'"),
        ('app = "en"\n', "app must be a table"),
        ('[keys]\n"flow.back" = 27\n', 'keys."flow.back" must be a comma-separated list of keys'),
        ('[keys]\n"flow.back" = "escape,"\n', 'keys."flow.back" must be a comma-separated list of keys'),
    ],
)
def test_a_mistake_in_the_config_names_the_file_the_key_and_the_problem(tmp_path, text, expected):
    path = write(tmp_path / "config.toml", text)

    with pytest.raises(ConfigError) as caught:
        load_settings(str(path))

    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_an_unknown_theme_stops_the_start_with_one_line_naming_the_themes(tmp_path, capsys):
    path = write(tmp_path / "config.toml", '[app]\ntheme = "nrod"\n')

    assert cli.main(["--config", str(path)]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"timebok: {path}: app.theme must be one of ")
    assert all(f'"{theme}"' in err for theme in ("textual-dark", "textual-light", "nord", "gruvbox", "ansi-dark"))
    assert err.rstrip().endswith(""", got 'nrod'; did you mean "nord"?""")


@pytest.mark.parametrize(
    ("binding_id", "hint"),
    [
        ("calender.next_month", "did you mean calendar.next_month?"),
        ("calendar.skip", "the binding ids of calendar are calendar.change_month, calendar.close_day, "),
        ("zoom", "a binding id is a group and a name, such as calendar.next_month; the groups are app, "),
    ],
)
def test_a_mistyped_binding_id_stops_the_start_with_a_hint(tmp_path, capsys, binding_id, hint):
    path = write(tmp_path / "config.toml", f'[keys]\n"{binding_id}" = "x"\n')

    assert cli.main(["--config", str(path)]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f'timebok: {path}: keys."{binding_id}" is not a binding id; {hint}')


def test_every_screen_s_binding_ids_can_be_rebound(tmp_path):
    """Screens load when first shown; a binding of one not loaded yet (the trace panel's) is still known."""
    path = write(tmp_path / "config.toml", '[keys]\n"trace.export" = "ctrl+e"\ncalendar.next_month = "n"\napp.help = "f2"\n')
    # A fresh process, as at start: here earlier tests have long imported every screen.
    code = (
        "import sys; from timebok.tui.config import load_settings; from timebok.tui.run import check_keymap; "
        "assert 'timebok.screens.trace' not in sys.modules; check_keymap(load_settings(sys.argv[1]))"
    )

    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr


def test_the_binding_ids_the_starter_file_names_exist():
    import re

    from timebok.tui.run import check_keymap

    named = set(re.findall(r'"([a-z_]+\.[a-z_]+)"', starter_config().partition("[keys]")[2]))
    assert {"app.help", "flow.back", "calendar.next_month"} <= named

    check_keymap(Settings(keys=dict.fromkeys(named, "x")))  # a ConfigError names any that is gone


def test_a_key_another_binding_of_the_screen_has_is_warned_about_and_the_example_has_none(tmp_path):
    """The example once suggested n for the next month, which silently took «Neste ledige dato» (n) away."""
    from timebok.tui.run import check_keymap

    path = write(tmp_path / "config.toml", '[keys]\n"calendar.next_month" = "pagedown,n"\n"app.help" = "f1"\n')
    (warning,) = check_keymap(load_settings(str(path)))
    assert warning.startswith(f'{path}: keys."calendar.next_month" takes the key n that calendar.jump_next_free has')

    example = Settings(keys={"calendar.next_month": "pagedown,l", "calendar.prev_month": "pageup,h"})
    assert '"calendar.next_month" = "pagedown,l"' in EXAMPLE.read_text(encoding="utf-8")
    assert check_keymap(example) == []


def test_a_key_clash_is_said_on_stderr_and_the_app_still_starts(tmp_path, monkeypatch, capsys):
    from timebok.tui import run

    path = write(tmp_path / "config.toml", '[keys]\n"calendar.next_month" = "pagedown,n"\n')
    monkeypatch.setattr(run, "_connection", lambda settings: (_ for _ in ()).throw(SystemExit(7)))
    with pytest.raises(SystemExit):
        run.run_app(str(path))
    assert "timebok: warning: " in capsys.readouterr().err


def test_a_token_of_the_wrong_type_is_reported_without_showing_it(tmp_path):
    path = write(tmp_path / "config.toml", "[backend]\ntoken = 987654321\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(str(path))

    assert "backend.token must be a string" in str(caught.value)
    assert "987654321" not in str(caught.value)


def test_broken_toml_is_reported_with_its_line(tmp_path):
    path = write(tmp_path / "config.toml", '[app]\nlanguage = "en"\ntheme = nord\n')

    with pytest.raises(ConfigError) as caught:
        load_settings(str(path))

    assert str(caught.value).startswith(f"{path}: is not valid TOML")
    assert "line 3" in str(caught.value)


def test_a_named_config_file_that_does_not_exist_is_an_error(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere.toml"

    with pytest.raises(ConfigError, match="no such config file") as caught:
        load_settings(str(missing))
    assert str(missing) in str(caught.value)

    monkeypatch.setenv(ENV_CONFIG, str(missing))
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings()


def test_the_token_from_the_environment_wins_and_is_never_shown(tmp_path, monkeypatch):
    path = write(tmp_path / "config.toml", '[backend]\nurl = "http://127.0.0.1:8787/fhir"\ntoken = "from-file"\n')
    assert load_settings(str(path)).backend.token == "from-file"

    monkeypatch.setenv(ENV_TOKEN, "from-env")
    settings = load_settings(str(path))

    assert settings.backend.token == "from-env"
    assert "from-env" not in repr(settings)


def test_the_example_config_loads_to_exactly_the_defaults(tmp_path):
    path = write(tmp_path / "config.toml", EXAMPLE.read_text(encoding="utf-8"))

    assert load_settings(str(path)) == Settings(source=path)


def test_the_starter_config_is_the_example_config():
    """config.example.toml is what `timebok config init` writes, which is made from the declared settings."""
    assert starter_config() == EXAMPLE.read_text(encoding="utf-8")


def test_in_app_choices_are_saved_in_the_state_dir_and_never_into_the_config(tmp_path, home):
    path = write(tmp_path / "config.toml", '# my backend\n[app]\ntheme = "nord"  # dark\nlanguage = "nb"\n')
    before = path.read_bytes()

    settings = save_state(load_settings(str(path)), language="en", theme="dracula", last_demo_role="staff")

    assert (settings.language, settings.theme, settings.last_demo_role) == ("en", "dracula", "staff")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "home"]
    assert sorted(p.name for p in settings.state_path.parent.iterdir()) == ["state.toml"]  # no temp file left behind
    again = load_settings(str(path))
    assert (again.language, again.theme, again.last_demo_role) == ("en", "dracula", "staff")


def test_saving_keeps_earlier_choices_and_can_forget_the_demo_token(tmp_path):
    settings = save_state(load_settings(), theme="nord", last_demo_token="demo-citizen-kari")
    assert load_settings().last_demo_token == "demo-citizen-kari"
    assert "demo-citizen-kari" not in repr(settings)

    save_state(settings, last_demo_token=None)

    again = load_settings()
    assert (again.theme, again.last_demo_token) == ("nord", None)


def test_a_failed_save_leaves_the_old_state_whole(tmp_path, monkeypatch):
    path = write(tmp_path / "config.toml", "")
    settings = save_state(load_settings(str(path)), theme="nord")
    saved = settings.state_path.read_bytes()

    def crash(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(ConfigError, match="cannot save the app's state: No space left on device"):
        save_state(settings, theme="dracula")

    assert settings.state_path.read_bytes() == saved
    assert sorted(p.name for p in settings.state_path.parent.iterdir()) == ["state.toml"]


def test_an_unwritable_state_file_is_a_clear_error(tmp_path):
    blocker = write(tmp_path / "not-a-dir", "")
    settings = Settings(state_path=blocker / "state.toml")

    with pytest.raises(ConfigError) as caught:
        save_state(settings, language="en")

    assert str(caught.value).startswith(f"{blocker / 'state.toml'}: cannot save the app's state")


@pytest.mark.parametrize(
    "state", ["language = \n", "\xff\xfe", 'language = "sv"\ntheme = 7\nlast_demo_role = "root"\n', 'theme = "nrod"\n']
)
def test_a_corrupt_state_file_is_ignored(tmp_path, home, state):
    path = write(tmp_path / "config.toml", '[app]\nlanguage = "en"\ntheme = "nord"\n')
    write(home / ".local" / "state" / "timebok" / "state.toml", "").write_bytes(state.encode("latin-1"))

    settings = load_settings(str(path))

    assert (settings.language, settings.theme, settings.last_demo_role) == ("en", "nord", None)
    assert save_state(settings, language="nb").language == "nb"
    assert load_settings(str(path)).language == "nb"


def test_config_init_writes_the_starter_file_once(tmp_path, capsys):
    path = tmp_path / "conf" / "timebok.toml"

    assert cli.main(["--config", str(path), "config", "init"]) == 0
    assert str(path) in capsys.readouterr().out
    assert path.read_text(encoding="utf-8") == starter_config()
    assert load_settings(str(path)) == Settings(source=path)

    path.write_text('[app]\nlanguage = "en"\n', encoding="utf-8")
    assert cli.main(["--config", str(path), "config", "init"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == '[app]\nlanguage = "en"\n'


def test_config_init_without_a_path_writes_where_the_app_will_look(home, capsys):
    assert cli.main(["config", "init"]) == 0

    assert str(user_config_file(home)) in capsys.readouterr().out
    assert load_settings().source == user_config_file(home)


def test_a_support_agent_against_a_real_backend_needs_their_own_token(tmp_path, monkeypatch):
    monkeypatch.delenv("TIMEBOK_AGENT_TOKEN", raising=False)
    body = """
[backend]
url = "https://timebok.example.no/fhir"
token = "test-citizen"
{agent}
[app]
role = "support"
"""
    with pytest.raises(ConfigError) as caught:
        load_settings(str(write(tmp_path / "a.toml", body.format(agent=""))))
    assert caught.value.key == "app.role" and "backend.agent_token" in str(caught.value)

    settings = load_settings(str(write(tmp_path / "b.toml", body.format(agent='agent_token = "agent-007"'))))
    assert (settings.backend.token, settings.backend.agent_token, settings.role) == ("test-citizen", "agent-007", "support")
    assert "agent-007" not in repr(settings)  # a secret, like the token

    monkeypatch.setenv("TIMEBOK_AGENT_TOKEN", "from-env")
    assert load_settings(str(write(tmp_path / "c.toml", body.format(agent="")))).backend.agent_token == "from-env"


def test_the_remembered_user_theme_and_language_survive_config_init(tmp_path, home):
    """13.10: the state file stays where it was when a config file appears (or another is named)."""
    save_state(load_settings(), theme="nord", language="en", last_demo_role="staff", last_demo_token="demo-staff-fjordsiden")

    assert cli.main(["config", "init"]) == 0
    assert user_config_file(home).is_file()
    for settings in (load_settings(), load_settings(str(write(tmp_path / "elsewhere" / "mine.toml", "")))):
        assert (settings.theme, settings.language, settings.last_demo_role, settings.last_demo_token) == (
            "nord",
            "en",
            "staff",
            "demo-staff-fjordsiden",
        )
