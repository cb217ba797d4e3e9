"""The release: `make dist`'s wheel installed into a fresh venv, away from the repository, runs the CLI, the server
and the app; the version is the one in pyproject.toml and the changelog names it."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import site
import subprocess
import sys
import time
import tomllib
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.serve_process import free_port

REPO = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding only the built wheel (`--no-deps`); its dependencies come from the test venv's
    site-packages, appended after its own through a .pth file. Not the editable timebok: a .pth file in an
    appended folder is not read, so the repository's src/ never gets on the path (checked below)."""
    work = tmp_path_factory.mktemp("release")
    # Built from a copy of the sources: setuptools writes build/ and *.egg-info into the tree it builds, and two
    # test workers building the repository at once broke each other's build (seen with -n 2).
    source = work / "source"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "tests"),
    )
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (work / "dist").glob("timebok-*.whl")
    assert wheel.name == f"timebok-{VERSION}-py3-none-any.whl"
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    own = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True, text=True
    ).stdout.strip()
    Path(own, "zz_test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return env_dir


def _env(tmp: Path) -> dict[str, str]:
    # No PYTHONPATH, run from an empty folder: nothing of the repository can be found but the installed wheel.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "HOME": str(tmp)}


def test_the_wheel_is_what_runs_and_it_names_its_version(installed, tmp_path):
    python = installed / "bin" / "python"
    where = subprocess.run(
        [python, "-c", "import timebok, timebok.tui.app; print(timebok.__file__)"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(installed)), where  # the installed copy, not the repository's src/
    out = subprocess.run(
        [installed / "bin" / "timebok", "--version"], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.strip() == f"timebok {VERSION}"


def test_the_changelog_names_the_version():
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert re.search(rf"^## {re.escape(VERSION)} ", changelog, re.MULTILINE), f"CHANGELOG.md has no '## {VERSION} …' heading"


@contextmanager
def _running(installed: Path, tmp_path: Path, command: str, path: str, patience: float) -> Iterator[httpx.Response]:
    """`timebok <command> --demo` from the wheel on a free port; yields its first answer to `path`, and stops it."""
    port = free_port()
    log_path = tmp_path / f"{command}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [installed / "bin" / "timebok", command, "--demo", "--port", str(port), "--db", str(tmp_path / "demo.db")],
            cwd=tmp_path,
            env=_env(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + patience
            while True:
                assert process.poll() is None, log_path.read_text()
                try:
                    first = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, f"the installed `timebok {command}` did not answer in {patience} s"
                    time.sleep(0.1)
            yield first
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(20)


def test_the_installed_server_migrates_seeds_and_serves_the_demo(installed, tmp_path):
    with _running(installed, tmp_path, "serve", "/health", 60) as health:
        base = str(health.url).removesuffix("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        metadata = httpx.get(f"{base}/fhir/metadata", timeout=5).json()
        assert metadata["software"] == {"name": "timebok", "version": VERSION}
        # The packaged migrations made the tables, the packaged demo data filled them.
        offices = httpx.get(f"{base}/fhir/Organization/1", headers={"Authorization": "Bearer demo-citizen-kari"}, timeout=5)
        assert offices.status_code == 200 and offices.json()["resourceType"] == "Organization"


def test_the_installed_web_server_serves_its_sign_in_page_and_its_own_styles(installed, tmp_path):
    """`timebok web` from the wheel: the sign-in page, the demo users on it, and the packaged stylesheet and
    terminal script (web/static/ and textual-serve's), all from this origin."""
    with _running(installed, tmp_path, "web", "/", 90) as page:
        base = str(page.url).rstrip("/")
        assert page.status_code == 200 and "Kari Nordmann" in page.text  # the demo users, offered with --demo
        assert httpx.get(f"{base}/web/timebok.css", timeout=5).status_code == 200
        assert "default-src 'self'" in page.headers["content-security-policy"]


def test_the_installed_app_paints_its_start_screen_in_a_terminal(installed, tmp_path):
    """`timebok` with no command in a pseudo-terminal: the styles and texts are packaged if «Bestill time» shows."""
    env = {**_env(tmp_path), "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    for variable in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[variable] = str(tmp_path / variable.lower())
    pid, fd = pty.fork()
    if pid == 0:  # the child: the installed app, on the pty
        os.chdir(tmp_path)
        os.execve(str(installed / "bin" / "timebok"), [str(installed / "bin" / "timebok")], env)
    seen = b""
    try:
        deadline = time.monotonic() + 90
        while b"Bestill time" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break  # the app exited
        text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", seen).decode("utf-8", "replace")
        assert "Bestill time" in text, text[-2000:]
    finally:
        os.kill(pid, signal.SIGTERM)
        _reap(pid, fd)


def _reap(pid: int, fd: int, patience: float = 20) -> None:
    """Wait for the app to exit, reading what it still writes (a full pty would block it), else kill it."""
    deadline = time.monotonic() + patience
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        try:
            if select.select([fd], [], [], 0.1)[0]:
                os.read(fd, 65536)
        except OSError:
            time.sleep(0.1)
    os.close(fd)
