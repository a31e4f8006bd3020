"""A fellow's path: `impact instruments new`, fill in the template, and it is checked, catalogued and run.

No code changes anywhere: the new file is picked up by the check, the catalogue and a study run.
"""

from __future__ import annotations

import re

import pandas as pd

from pipeline.instrument_check import check_files
from pipeline.simulate import write_demo_study

from .conftest import run_impact


def new_instrument(folder, instrument_id="wellbeing_x"):
    result = run_impact("instruments", "new", instrument_id, "--dir", str(folder))
    assert result.returncode == 0, result.stderr
    return folder / f"{instrument_id}.yaml"


def fill_in(path):
    """What the fellow does: replace every TODO with real content."""
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"TODO", "Filled", text), encoding="utf-8")


def test_template_parses_but_fails_the_check_until_every_todo_is_filled(tmp_path):
    path = new_instrument(tmp_path)
    findings, loaded = check_files([path])
    assert loaded == 1
    todo = [f for f in findings if "TODO placeholder" in f.message]
    assert {f.field for f in todo} >= {"name", "citation", "items[0].label", "scales[0].name"}
    assert all(f.severity == "error" for f in todo)
    fill_in(path)
    assert check_files([path], strict=True)[0] == []


def test_new_refuses_to_overwrite_and_refuses_bad_ids(tmp_path):
    new_instrument(tmp_path)
    again = run_impact("instruments", "new", "wellbeing_x", "--dir", str(tmp_path))
    assert again.returncode == 2 and "already exists" in again.stderr
    bad = run_impact("instruments", "new", "2bad-id", "--dir", str(tmp_path))
    assert bad.returncode == 2 and "not a valid id" in bad.stderr


def test_filled_template_appears_in_check_catalogue_and_a_study_run(tmp_path):
    study = tmp_path / "study"
    path = new_instrument(study / "instruments")
    fill_in(path)
    write_demo_study(study, participants=40, seed=3, instrument_ids=["wellbeing_x"], library_dir=study / "instruments")

    check = run_impact("instruments", "check", "--strict", str(study))
    assert check.returncode == 0, check.stdout
    assert "0 error(s), 0 warning(s)" in check.stdout

    catalogue = run_impact("instruments", "catalogue", str(study), "--no-pdf", "--out", str(tmp_path / "cat"))
    assert catalogue.returncode == 0, catalogue.stderr
    html = (tmp_path / "cat" / "instrument-catalogue.html").read_text(encoding="utf-8")
    assert 'id="wellbeing_x"' in html and "wellbeing_x_total" in html

    run = run_impact("run", str(study), "--no-pdf", "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert list(results["variable"]) == ["wellbeing_x_total"]
    assert results.loc[0, "n_pairs"] > 0
