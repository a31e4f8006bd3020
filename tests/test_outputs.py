"""The output folder: never on an input, one complete run or the previous one, one writer at a time."""

from __future__ import annotations

import fcntl
import hashlib
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import outputs
from pipeline.errors import PipelineError
from pipeline.outputs import OUTPUT_NAMES, OutputFolder
from pipeline.run import run_study, write_outputs
from pipeline.study import load_study

from .conftest import run_impact


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the SHA-256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def minimal_run(minimal_study):
    return run_study(load_study(minimal_study))


def test_every_report_file_is_an_output_name(minimal_run, tmp_path):
    written = write_outputs(minimal_run, tmp_path / "out", pdf=True)
    assert {path.name for path in written} <= OUTPUT_NAMES
    assert {path.name for path in (tmp_path / "out").iterdir()} == {path.name for path in written}
    assert not list(tmp_path.glob(".out.staging-*"))


def test_a_second_run_replaces_the_first_whole(minimal_run, tmp_path):
    out = tmp_path / "out"
    write_outputs(minimal_run, out, pdf=True)
    assert (out / "impact-report.pdf").exists()
    write_outputs(minimal_run, out, pdf=False)  # tables only: the first run's PDFs must not stay beside the new manifest
    assert not (out / "impact-report.pdf").exists() and (out / "manifest.json").exists()


@pytest.mark.parametrize("exchange", [True, False])
def test_the_swap_works_with_and_without_an_atomic_exchange(minimal_run, tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(outputs, "_exchange", lambda first, second: False)
    out = tmp_path / "out"
    write_outputs(minimal_run, out, pdf=False)
    (out / "results.csv").write_text("stale")
    write_outputs(minimal_run, out, pdf=False)
    assert (out / "results.csv").read_text() != "stale"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [".out.lock"]


def test_a_failure_while_writing_leaves_the_previous_run_untouched(minimal_run, tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_outputs(minimal_run, out, pdf=False)
    before = tree(out)

    def broken(*args, **kwargs):
        raise RuntimeError("the renderer fell over")

    monkeypatch.setattr("pipeline.report.start_reports", broken)
    with pytest.raises(RuntimeError):
        write_outputs(minimal_run, out, pdf=True)
    assert tree(out) == before
    assert not list(tmp_path.glob(".out.staging-*"))


def test_a_killed_runs_staging_folder_is_swept_by_the_next_run(minimal_run, tmp_path):
    leftover = tmp_path / ".out.staging-deadbeef"
    leftover.mkdir()
    (leftover / "results.csv").write_text("half a run")
    write_outputs(minimal_run, tmp_path / "out", pdf=False)
    assert not leftover.exists()


def test_a_second_concurrent_run_is_refused(minimal_run, tmp_path):
    out = tmp_path / "out"
    with open(tmp_path / ".out.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another process' run holds the folder
        with pytest.raises(PipelineError, match="another impact run is writing into this folder"):
            write_outputs(minimal_run, out, pdf=False)
    assert not out.exists()
    write_outputs(minimal_run, out, pdf=False)  # released: the next run goes ahead


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda out: (out.mkdir(), (out / "notes.txt").write_text("mine")), "holds 'notes.txt', which a run does not write"),
        (lambda out: (out.mkdir(), (out / "results.csv").mkdir()), "holds 'results.csv', which a run does not write"),
        (lambda out: out.write_text("a file"), "exists and is not a folder"),
        (lambda out: ((out.parent / "elsewhere").mkdir(), out.symlink_to(out.parent / "elsewhere")), "is a symbolic link"),
    ],
    ids=["foreign-file", "folder-named-like-an-output", "a-file", "a-symlink"],
)
def test_an_output_folder_the_run_does_not_own_is_refused_before_any_work(minimal_study, tmp_path, make, message):
    out = tmp_path / "out"
    make(out)
    before = tree(tmp_path)
    result = run_impact("run", str(minimal_study), "--out", str(out), "--no-pdf")
    assert result.returncode == 2 and message in result.stderr
    assert result.stdout == ""  # refused before the study was run
    assert tree(tmp_path) == before


def test_outputs_never_go_into_inside_or_around_the_study_folder(minimal_study):
    before = tree(minimal_study)
    for out, message in [
        (minimal_study, "is the study folder"),
        (minimal_study / "reports", "lies inside the study folder"),
        (minimal_study.parent, "holds the study folder"),
    ]:
        result = run_impact("run", str(minimal_study), "--out", str(out), "--no-pdf")
        assert result.returncode == 2 and message in result.stderr, result.stderr
    assert tree(minimal_study) == before


def test_a_study_kept_under_reports_cannot_be_overwritten_by_its_default_output(minimal_study, tmp_path):
    """The default --out is reports/<study folder name>: for a study kept there, that is the study itself."""
    (tmp_path / "reports").mkdir()
    study = tmp_path / "reports" / "minimal"
    minimal_study.rename(study)
    (study / "scores.csv").write_text("participant_id,wave\n")  # an export that happens to be named like an output
    before = tree(study)
    result = run_impact("run", "reports/minimal", cwd=tmp_path)
    assert result.returncode == 2 and "is the study folder" in result.stderr
    assert tree(study) == before


def test_an_output_folder_holding_an_input_is_refused(minimal_study, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (minimal_study / "pre.csv").rename(out / "scores.csv")  # an export kept in the output folder, named like an output
    path = minimal_study / "study.yaml"
    path.write_text(path.read_text().replace("pre: pre.csv", f"pre: {out / 'scores.csv'}") + "data: {allow_outside: true}\n")
    before = tree(tmp_path)
    result = run_impact("run", str(minimal_study), "--out", str(out), "--no-pdf")
    assert result.returncode == 2 and "holds the input 'scores.csv'" in result.stderr
    assert tree(tmp_path) == before


def test_an_unwritable_output_folder_is_found_before_any_work(minimal_study, tmp_path, monkeypatch, capsys):
    from pipeline.cli import main

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)  # root ignores file modes, so the refusal is simulated
    assert main(["run", str(minimal_study), "--out", str(tmp_path / "out"), "--no-pdf"]) == 2
    captured = capsys.readouterr()
    assert "cannot write into" in captured.err and "Permission denied" in captured.err and captured.out == ""


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, like a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def test_a_full_disk_ends_with_one_line_and_leaves_the_previous_run(minimal_study, tmp_path):
    out = tmp_path / "out"
    assert run_impact("run", str(minimal_study), "--out", str(out), "--no-pdf").returncode == 0
    before = tree(out)
    impact = Path(sys.executable).parent / "impact"
    result = subprocess.run(
        [str(impact), "run", str(minimal_study), "--out", str(out), "--no-pdf"],
        capture_output=True, text=True, preexec_fn=_limit_file_size, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "error: no space left" in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert tree(out) == before
    assert not list(tmp_path.glob(".out.staging-*"))


def test_demo_refuses_a_folder_that_is_not_empty_unless_forced(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "pre.csv").write_text("precious")
    result = run_impact("demo", str(folder), "--participants", "12")
    assert result.returncode == 2 and "the folder is not empty" in result.stderr and "--force" in result.stderr
    assert (folder / "pre.csv").read_text() == "precious"
    assert run_impact("demo", str(folder), "--participants", "12", "--force").returncode == 0
    assert (folder / "pre.csv").read_text() != "precious"


def test_the_lock_is_released_when_a_run_ends(minimal_run, tmp_path):
    out = tmp_path / "out"
    with OutputFolder(out, minimal_run.study.folder, minimal_run.study.input_files):
        pass
    with open(tmp_path / ".out.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # would raise if the run still held it
    assert not out.exists() and not list(tmp_path.glob(".out.staging-*"))
