"""The code is checked as CI checks it: ruff over the Python tree, mypy over the typed packages (pyproject.toml).

These do not touch a database, so the PostgreSQL pass of .ci/run skips them (the SQLite pass has run them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="checked once, in the SQLite pass")


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    result = run("ruff", "check", "server", "sync", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_in_the_typed_packages():
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
