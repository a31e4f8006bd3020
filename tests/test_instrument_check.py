"""`impact instruments check`: the library passes strictly; every broken definition fails clearly.

The broken definitions live in tests/fixtures/broken-instruments/, one file per fault, each with
the message it must produce on its second line (``# expect: ...``). Adding a file there adds a
test case.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from pipeline.instrument_check import (
    check_files,
    completeness_findings,
    expected_score,
    files_to_check,
)
from pipeline.instruments import instrument_files, load_instrument, parse_instrument

from .conftest import LIBRARY, MINIMAL, REPO, run_impact

BROKEN = REPO / "tests" / "fixtures" / "broken-instruments"
BROKEN_FILES = instrument_files(BROKEN)


def expected_message(path: Path) -> str:
    second_line = path.read_text(encoding="utf-8").splitlines()[1]
    assert second_line.startswith("# expect: "), f"{path.name}: second line must say '# expect: <message>'"
    return second_line.removeprefix("# expect: ")


def test_library_passes_the_strict_check():
    findings, loaded = check_files(files_to_check([]), strict=True)
    assert [str(f) for f in findings] == []
    assert loaded == len(instrument_files(LIBRARY)) >= 18


def test_there_are_many_broken_fixtures():
    assert len(BROKEN_FILES) >= 25


@pytest.mark.parametrize("path", BROKEN_FILES, ids=lambda p: p.stem)
def test_each_broken_definition_fails_with_its_message(path):
    findings, _ = check_files(files_to_check([path]))
    errors = [str(f) for f in findings if f.severity == "error"]
    mine = [message for message in errors if path.name in message]
    assert mine, f"no error for {path.name}; got {errors}"
    assert any(expected_message(path) in message for message in mine), mine
    # Only the broken file is blamed: the library itself stays clean.
    assert all(path.name in message for message in errors)


@pytest.mark.parametrize("path", BROKEN_FILES[:3], ids=lambda p: p.stem)
def test_cli_exits_2_and_names_the_file(path):
    result = run_impact("instruments", "check", str(path), cwd=REPO)
    assert result.returncode == 2
    assert path.name in result.stdout and expected_message(path) in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_cli_passes_on_the_library_and_reports_counts():
    result = run_impact("instruments", "check", "--strict", cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 error(s), 0 warning(s)" in result.stdout


def test_a_study_folder_brings_its_own_instruments():
    files = files_to_check([MINIMAL])
    assert MINIMAL / "instruments" / "tiny.yaml" in files
    findings, loaded = check_files(files)
    assert loaded == len(files)
    assert not [f for f in findings if f.severity == "error"]


def test_incomplete_definition_warns_and_strict_makes_it_an_error():
    """The minimal example has no worked examples: a warning normally, an error with --strict."""
    tiny = MINIMAL / "instruments" / "tiny.yaml"
    findings, _ = check_files([tiny])
    assert findings and all(f.severity == "warning" for f in findings)
    assert any("needs at least two worked examples, has 0" in str(f) for f in findings)
    strict, _ = check_files([tiny], strict=True)
    assert strict and all(f.severity == "error" for f in strict)


def test_check_refuses_a_path_that_does_not_exist(tmp_path):
    result = run_impact("instruments", "check", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr


TINY = yaml.safe_load((MINIMAL / "instruments" / "tiny.yaml").read_text())


def with_examples(examples):
    data = copy.deepcopy(TINY)
    data["examples"] = examples
    return parse_instrument(data)


def test_completeness_needs_a_missing_item_example_per_scale():
    complete = {"tiny_1": 4, "tiny_2": 2, "tiny_3": 5}
    instrument = with_examples(
        [
            {"description": "a", "responses": complete, "expect": {"tiny_score": "13/3"}},
            {"description": "b", "responses": complete, "expect": {"tiny_score": "13/3"}},
        ]
    )
    messages = [f.message for f in completeness_findings(instrument, "tiny.yaml")]
    assert "needs a worked example with a missing item" in messages


@pytest.mark.parametrize(
    "text, value",
    [(5, 5.0), (2.5, 2.5), ("31/6", 31 / 6), (" -7 / 2 ", -3.5), (None, None)],
)
def test_expected_scores_may_be_numbers_or_exact_fractions(text, value):
    assert expected_score(text) == value


@pytest.mark.parametrize("text", ["1/0", "about 5", "5.2.1", "31/6/2"])
def test_expected_score_refuses_other_text(text):
    with pytest.raises(ValueError, match="not a number or a fraction"):
        expected_score(text)


def test_every_library_file_loads_with_its_id_matching_its_name():
    for path in instrument_files(LIBRARY):
        assert load_instrument(path).id == path.stem
