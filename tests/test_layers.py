"""The layering holds: a bare `lint-imports` keeps every contract in pyproject.toml, and no module imports itself in a circle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_the_layer_contracts_pass():
    # Bare, as an engineer runs it from the repository root: the src layout needs no help to be found.
    done = _run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"])
    assert done.returncode == 0, done.stdout + done.stderr
    # The contracts looked at every layer: a graph that lost a folder would pass with nothing to check.
    assert "Contracts: 5 kept, 0 broken." in done.stdout


def test_no_import_circles():
    done = _run([sys.executable, str(REPO / "tests" / "import_circles.py")])
    assert done.returncode == 0, done.stderr
    count, *groups = done.stdout.splitlines()
    assert int(count) > 90, "the graph should hold every module of every layer"
    assert groups == [], "import circles: " + "; ".join(groups)
