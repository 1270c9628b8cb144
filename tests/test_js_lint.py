"""ESLint over the PWA's plain ES modules (package.json, eslint.config.js): recommended rules, browser and
service-worker globals. Installs the pinned linter with `npm ci` when node_modules is missing."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT


def test_eslint_passes_over_pwa_static():
    npm, npx = shutil.which("npm"), shutil.which("npx")
    if npm is None or npx is None:
        pytest.skip("npm is not installed on this machine: ESLint cannot run")
    if not (ROOT / "node_modules" / "eslint").is_dir():
        installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, capture_output=True, text=True,
                                   timeout=600)
        assert installed.returncode == 0, installed.stdout + installed.stderr
    result = subprocess.run([npx, "--no-install", "eslint", "pwa/static"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
