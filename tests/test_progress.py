"""Progress of a long run: which stage, how far; plain lines off a terminal, a bar on one, nothing when quiet."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.progress import PROGRESS_MIN_BYTES, Progress, choose_mode, run_stages
from pipeline.run import run_study, write_run
from pipeline.outputs import OutputFolder
from pipeline.study import load_study

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "surveys" / "demo-pilot"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "size", "quiet", "mode"),
    [
        (io.StringIO(), PROGRESS_MIN_BYTES, False, "plain"),
        (FakeTerminal(), PROGRESS_MIN_BYTES, False, "bar"),
        (FakeTerminal(), PROGRESS_MIN_BYTES - 1, False, "off"),
        (FakeTerminal(), 10 * PROGRESS_MIN_BYTES, True, "off"),
        (io.StringIO(), 10 * PROGRESS_MIN_BYTES, True, "off"),
    ],
)
def test_mode_follows_terminal_size_and_quiet(stream, size, quiet, mode):
    assert choose_mode(stream, size, quiet) == mode


def test_a_run_reports_every_stage_in_order_as_plain_lines(tmp_path):
    study = load_study(DEMO)
    stream = io.StringIO()
    progress = Progress(run_stages(len(study.wave_names), pdf=False), stream, "plain")
    run = run_study(study, progress=progress)
    with OutputFolder(tmp_path / "out", study.folder, study.input_files) as folder:
        write_run(run, folder, pdf=False, progress=progress)
    lines = stream.getvalue().splitlines()
    total = run_stages(len(study.wave_names), pdf=False)
    assert len(lines) == total
    assert [line.split("]")[0] for line in lines] == [f"[{k}/{total}" for k in range(1, total + 1)]
    assert "reading pre.csv" in lines[0] and "checking pre: 153 rows" in lines[1]
    assert lines[-1].split("] ")[1].startswith("writing the tables")


def test_the_bar_draws_on_a_terminal_and_is_removed_at_the_end():
    stream = FakeTerminal()
    progress = Progress(3, stream, "bar")
    for label in ("one", "two", "three"):
        progress.stage(label)
    progress.close()
    drawn = stream.getvalue()
    assert "three" in drawn and "3/3 stages" in drawn


def test_off_writes_nothing():
    stream = io.StringIO()
    progress = Progress(4, stream, "off")
    progress.stage("reading")
    progress.close()
    assert stream.getvalue() == ""


def test_quiet_run_prints_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", str(DEMO), "--out", str(tmp_path / "out"), "--no-pdf", "--quiet"],
        capture_output=True, text=True, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    assert (tmp_path / "out" / "results.csv").exists()
