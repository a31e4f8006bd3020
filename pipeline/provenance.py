"""Provenance of a run: the manifest (``manifest.json``) and the run id both reports print.

Built from a finished run (:class:`pipeline.run.StudyRun`, passed in; never imported here, so
the run and the reports can both use this module without importing each other): the input files
and instrument files with their SHA-256, the study's options, the git commit and the versions of
Python and the packages that computed the numbers.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from . import __version__
from .analyze import CONVENTIONS, GROUP_CONVENTIONS

REPOSITORY = Path(__file__).resolve().parent.parent

#: The packages whose versions the manifest records.
PACKAGES = ["numpy", "pandas", "scipy", "statsmodels", "pandera", "pydantic", "jinja2", "weasyprint", "openpyxl", "pyreadstat"]


def git_commit(folder: Path) -> str | None:
    """The commit the pipeline's code was run from, or None outside a git checkout."""
    try:
        result = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def manifest(run) -> dict:
    """Provenance of a run (a :class:`pipeline.run.StudyRun`): inputs and instrument files with
    their SHA-256, options and versions.

    ``run_id`` is the first 12 hex digits of the SHA-256 of everything else in the manifest, so
    the same inputs, definitions, options and code give the same id (there is no timestamp).
    """
    body = {
        "pipeline_version": __version__,
        "study": run.study.name,
        "inputs": [{"wave": w.wave, "file": w.file, "sha256": w.sha256} for w in run.waves],
        "instruments": [
            {"file": _display_path(path, run.study.folder), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()} for path in run.study.instrument_files
        ],
        "git_commit": git_commit(REPOSITORY),
        "waves": {wave: source.model_dump() for wave, source in run.study.wave_sources.items()},
        "data": run.study.config.data.model_dump(exclude={"pseudonymise"}) | {"pseudonymised": run.study.config.data.pseudonymise is not None},
        "analysis": run.study.config.analysis.model_dump(),
        "report": run.study.config.report.model_dump(),
        "subgroups": list(run.study.config.subgroups),
        **({"groups": run.study.groups.model_dump()} if run.study.groups is not None else {}),
        "conventions": CONVENTIONS | (GROUP_CONVENTIONS if run.study.groups is not None else {}),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
    }
    run_id = hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()[:12]
    return {"run_id": run_id, **body}


def _display_path(path: Path, study_folder: Path) -> str:
    """An instrument file as the manifest names it, whatever the study's path looked like on the command
    line: relative to the study folder for a study's own file, else to the library's repository."""
    path, folder = Path(path).absolute(), Path(study_folder).absolute()
    if path.is_relative_to(folder):
        return f"{path.relative_to(folder)} (study)"
    path = path.resolve()
    return str(path.relative_to(REPOSITORY)) if path.is_relative_to(REPOSITORY) else path.name


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
