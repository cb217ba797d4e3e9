"""The layering holds: import-linter's contracts in pyproject.toml pass, and no module imports itself in a circle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.import_graph import REPO, mirror


@pytest.fixture(scope="module")
def installed_tree(tmp_path_factory) -> Path:
    return mirror(tmp_path_factory.mktemp("layers"))


def _run(args: list[str], tree: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH puts the mirrored `timebok` ahead of the editable install's finder, so grimp walks every layer.
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    return subprocess.run(args, cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def test_the_layer_contracts_pass(installed_tree):
    lint = Path(sys.executable).with_name("lint-imports")
    done = _run([str(lint), "--no-cache", str(REPO / "pyproject.toml")], installed_tree)
    assert done.returncode == 0, done.stdout + done.stderr
    # The contracts looked at every layer: a mirror that lost a folder would pass with nothing to check.
    assert "Contracts: 5 kept, 0 broken." in done.stdout


def test_no_import_circles(installed_tree):
    done = _run([sys.executable, str(REPO / "tests" / "import_graph.py"), str(installed_tree)], installed_tree)
    assert done.returncode == 0, done.stderr
    count, *groups = done.stdout.splitlines()
    assert int(count) > 90, "the graph should hold every module of every layer"
    assert groups == [], "import circles: " + "; ".join(groups)
