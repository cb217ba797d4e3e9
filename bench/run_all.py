"""Runs every benchmark script in bench/ one after another (`make bench`).

Every `bench/*.py` except this file and the helpers named `_*.py` is run with this interpreter,
from the repository root, in name order. Exits non-zero when any of them failed.

Scripts run with `python -P` (safe path): otherwise Python puts bench/ first on sys.path and
a bench script named like a project package would shadow it for any script that imports the package.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def scripts() -> list[Path]:
    me = Path(__file__).resolve()
    return sorted(p for p in HERE.glob("*.py") if p.resolve() != me and not p.name.startswith("_"))


_running: subprocess.Popen | None = None


def _on_sigterm(*_: object) -> None:
    # Stop like Ctrl-C does: the script hears SIGINT and cleans up, and we wait for it below.
    if _running is not None and _running.poll() is None:
        _running.send_signal(signal.SIGINT)
    raise KeyboardInterrupt


def main() -> int:
    global _running
    signal.signal(signal.SIGTERM, _on_sigterm)
    failed: list[str] = []
    found = scripts()
    if not found:
        print("No benchmark scripts in bench/.")
        return 0
    for number, script in enumerate(found, 1):
        if number > 1:
            print()
        print(f"### [{number}/{len(found)}] bench/{script.name}", flush=True)
        if not script.exists():  # removed or renamed while the others ran
            print(f"### bench/{script.name}: skipped, the file is gone", flush=True)
            continue
        started = time.perf_counter()
        # -P: bench/ is not put first on sys.path, so a bench script named like a package cannot shadow the `backend` package
        # for scripts that import it.
        process = _running = subprocess.Popen([sys.executable, "-P", str(script)], cwd=ROOT)
        try:
            code = process.wait()
        except KeyboardInterrupt:
            # A terminal's Ctrl-C reached the script too (same process group); let it stop its servers
            # and remove its files.
            try:
                process.wait(timeout=15)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                process.terminate()
                process.wait()
            print("\nInterrupted.", file=sys.stderr)
            return 130
        print(
            f"### bench/{script.name}: {'ok' if code == 0 else f'FAILED (exit {code})'} in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        if code != 0:
            failed.append(script.name)
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
