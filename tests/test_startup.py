"""Start-up stays light: the modules the first paint needs do not drag in the backend, httpx or babel."""

from __future__ import annotations

import subprocess
import sys


def test_the_app_imports_no_heavy_module_before_its_first_paint():
    code = (
        "import sys, timebok.tui.run, timebok.tui.app, timebok.screens.start, timebok.tui.config, timebok.tui.state;"
        "print(' '.join(sorted(m for m in ('fastapi', 'sqlalchemy', 'uvicorn', 'httpx', 'babel') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
