"""Shared fixtures: repository paths, a copy of the minimal example, and running the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SURVEYS = REPO / "surveys"
MINIMAL = SURVEYS / "minimal-example"
DEMO = SURVEYS / "demo-pilot"
LIBRARY = REPO / "instruments"

# Tests see the library as shipped: a developer's licensed overlays (instruments/local/) must not
# change what the tests check. Set before any test (or subprocess) loads an instrument.
os.environ["IMPACT_LOCAL_INSTRUMENTS"] = tempfile.mkdtemp(prefix="impact-no-overlays-")


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


def output_text(paths) -> str:
    """Every written output as text, for checks that something is (or is not) in any of them:
    CSV/JSON/HTML as UTF-8, ``.xlsx`` as the XML of its sheets and shared strings, PDFs skipped."""
    import zipfile

    parts = []
    for path in map(Path, paths):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                parts += [book.read(name).decode("utf-8") for name in book.namelist() if name.startswith("xl/") and name.endswith(".xml")]
        elif path.suffix != ".pdf":
            parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)
