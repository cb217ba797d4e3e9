"""`timebok config init`: the commented starter config file, written from the declared settings."""

from __future__ import annotations

import sys

from timebok.tui.config import named_config_file
from timebok.tui.settings import declared

_HEADER = """\
# timebok configuration.
#
# timebok reads this file from, in order: the path given with --config, the
# path in $TIMEBOK_CONFIG, or config.toml in your user config directory
# (on Linux ~/.config/timebok/config.toml). Every setting below is shown with
# its default value, so deleting a line changes nothing. Unknown keys are
# errors, so a typo is reported rather than silently ignored.
#
# timebok never rewrites this file. What you change inside the app (language,
# theme, the demo user) is saved to state.toml in your user state directory
# (~/.local/state/timebok on Linux), wherever this file is, and takes precedence
# over the values here; delete state.toml to go back to them."""


def starter_config() -> str:
    """The starter file: every setting's doc as comments, then the key with its default, or commented out with an example.

    config.example.toml in the repository is this text (a test keeps the two the same)."""
    import textwrap

    import tomli_w

    lines = [_HEADER]
    section = None
    for f, setting in declared():
        if setting.section != section:
            section = setting.section
            lines += ["", f"[{section}]"]
        else:
            lines.append("")
        lines += textwrap.wrap(setting.doc, 78, initial_indent="# ", subsequent_indent="# ", break_on_hyphens=False)
        if setting.table and isinstance(setting.example, dict):  # a whole [section]: its example is a table
            lines += [f"# {line}" for line in tomli_w.dumps(setting.example).splitlines()]
        elif f.default is None:
            lines.append(f"# {tomli_w.dumps({f.name: setting.example}).strip()}")
        else:
            lines.append(tomli_w.dumps({f.name: f.default}).strip())
    return "\n".join(lines) + "\n"


def write_starter_config(cli_path: str | None) -> int:
    """Write the starter file to --config, $TIMEBOK_CONFIG or the user config dir, never over an existing file; an exit code."""
    from timebok.tui.locations import config_file

    target = named_config_file(cli_path) or config_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Exclusive create: a file that appears between a check and the write is still not overwritten.
        with target.open("x", encoding="utf-8", newline="\n") as file:
            file.write(starter_config())
    except FileExistsError:
        print(f"{target} already exists; timebok config init never overwrites a config file.", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"Could not write {target}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"Wrote {target}")
    return 0
