"""Shared fixtures: repository paths, a copy of the minimal example, and running the CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SURVEYS = REPO / "surveys"
MINIMAL = SURVEYS / "minimal-example"
DEMO = SURVEYS / "demo-pilot"
LIBRARY = REPO / "instruments"


@pytest.fixture
def minimal_study(tmp_path: Path) -> Path:
    """A writable copy of surveys/minimal-example (the issue's two minimal files plus data)."""
    target = tmp_path / "minimal"
    shutil.copytree(MINIMAL, target)
    return target


def run_impact(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed ``impact`` command as a user would."""
    impact = Path(sys.executable).parent / "impact"
    return subprocess.run([str(impact), *args], capture_output=True, text=True, cwd=cwd, timeout=300)
