"""The tree is lint-clean and formatted: ruff (configured in pyproject.toml) and snakefmt
(tests/test_workflow.py::test_snakefmt_formatted), both pinned in requirements.lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(RUFF), *args], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_ruff_check_clean():
    proc = _ruff("check", ".")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_ruff_format_clean():
    proc = _ruff("format", "--check", ".")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
