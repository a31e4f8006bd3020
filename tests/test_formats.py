"""Every export format runs through `impact run` to the same scores as plain CSV; ids can be pseudonymised."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from pipeline.errors import PipelineError
from pipeline.privacy import pseudonymise
from pipeline.run import REPOSITORY, run_study, write_outputs
from pipeline.simulate import EXPORT_FORMATS, write_demo_study
from pipeline.study import load_study

from .conftest import output_text, run_impact

PARTICIPANTS = 40


def scores_of(run) -> pd.DataFrame:
    scores = run.scores.rename(columns={run.study.id_column: "id"})
    return scores.sort_values(["id", "wave"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def csv_scores(tmp_path_factory):
    folder = write_demo_study(tmp_path_factory.mktemp("csv") / "study", participants=PARTICIPANTS, seed=5)
    return scores_of(run_study(load_study(folder)))


@pytest.mark.parametrize("export_format", [f for f in EXPORT_FORMATS if f != "csv"])
def test_every_format_scores_like_plain_csv(export_format, csv_scores, tmp_path):
    folder = write_demo_study(tmp_path / "study", participants=PARTICIPANTS, seed=5, export_format=export_format)
    raw = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir() if path.is_file()}
    run = run_study(load_study(folder))
    pd.testing.assert_frame_equal(scores_of(run), csv_scores)
    for wave in run.waves:
        assert wave.rows_read == wave.rows_accepted + wave.rows_excluded
    if export_format == "qualtrics":  # a preview and an unfinished response per wave, excluded and counted
        assert all(w.exclusions["reason"].value_counts().to_dict() == {"preview": 1, "unfinished": 1} for w in run.waves)
    if export_format == "redcap":  # one file: each wave reads its event and counts the other's rows
        assert all(set(w.exclusions["reason"]) == {"other_event"} for w in run.waves)
        assert run.flow["rows_pre"] == PARTICIPANTS
    if export_format == "odk":  # a submission a reviewer rejected, excluded and counted
        assert [w.exclusions["reason"].tolist() for w in run.waves] == [["rejected"], ["rejected"]]
    if export_format == "spss":  # missing answers are stored as the user-missing code 99 and read as missing
        assert run.waves[0].problems.empty
    after = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir() if path.is_file()}
    assert after == raw


def test_demo_command_offers_every_export_format():
    # The CLI lists the formats itself so that `impact --help` need not import the simulator.
    from pipeline.cli import build_parser

    demo = next(a for a in build_parser()._subparsers._group_actions[0].choices["demo"]._actions if a.dest == "format")
    assert tuple(demo.choices) == EXPORT_FORMATS


def test_demo_command_writes_each_format(tmp_path):
    result = run_impact("demo", str(tmp_path / "q"), "--participants", "12", "--format", "qualtrics")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "q" / "pre-qualtrics.csv").is_file() and "format: qualtrics" in (tmp_path / "q" / "study.yaml").read_text()
    run = run_impact("run", str(tmp_path / "q"), "--out", str(tmp_path / "out"), "--no-pdf")
    assert run.returncode == 0, run.stderr
    assert "pre: 14 rows read, 12 accepted, 2 excluded (preview 1, unfinished 1)" in run.stdout


# --- pseudonymous ids -----------------------------------------------------------------------

KEY = "a-long-secret-key-for-tests-only"


def pseudonymised_study(tmp_path, setting: str):
    folder = write_demo_study(tmp_path / "study", participants=30, seed=9)
    study_file = folder / "study.yaml"
    study_file.write_text(study_file.read_text() + f"data:\n  pseudonymise: {setting}\n")
    return folder


def test_pseudonymous_ids_replace_every_id_in_every_output(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPACT_ID_KEY", KEY)
    folder = pseudonymised_study(tmp_path, "{key_env: IMPACT_ID_KEY}")
    run = run_study(load_study(folder))
    written = write_outputs(run, tmp_path / "out", pdf=False)
    text = output_text(written)
    assert "P00001" not in text and KEY not in text
    ids = run.scores["participant_id"]
    assert ids.str.fullmatch(r"p_[0-9a-f]{16}").all()
    assert run.flow["matched"] > 0  # the same key gives the same code in both waves, so pairs survive
    expected = pseudonymise(pd.Series(["P00001"]), KEY.encode())[0]
    assert expected in set(ids)
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["data"]["pseudonymised"] is True


def test_pseudonymisation_needs_a_key_from_outside_the_repository(tmp_path, monkeypatch):
    monkeypatch.delenv("IMPACT_ID_KEY", raising=False)
    with pytest.raises(PipelineError, match="environment variable IMPACT_ID_KEY is not set"):
        run_study(load_study(pseudonymised_study(tmp_path, "{key_env: IMPACT_ID_KEY}")))
    inside = REPOSITORY / "surveys" / "key.txt"
    with pytest.raises(PipelineError, match="is inside the repository"):
        run_study(load_study(pseudonymised_study(tmp_path / "b", f"{{key_file: '{inside}'}}")))
    outside = tmp_path / "key.txt"
    outside.write_text("short")
    with pytest.raises(PipelineError, match="shorter than 16 bytes"):
        run_study(load_study(pseudonymised_study(tmp_path / "c", f"{{key_file: '{outside}'}}")))


def test_participants_in_one_wave_only_are_listed_for_the_researcher(tmp_path):
    folder = write_demo_study(tmp_path / "study", participants=30, seed=9)
    run = run_study(load_study(folder))
    unmatched = run.unmatched
    assert len(unmatched) == run.flow["pre_only"] + run.flow["post_only"] > 0
    assert set(unmatched["wave"]) <= {"pre", "post"}


def test_manifest_records_inputs_options_and_commit(tmp_path):
    folder = write_demo_study(tmp_path / "study", participants=20, seed=9)
    run = run_study(load_study(folder))
    write_outputs(run, tmp_path / "out", pdf=False)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [entry["sha256"] for entry in manifest["inputs"]] == [hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in ("pre.csv", "post.csv")]
    assert manifest["waves"]["pre"]["file"] == "pre.csv" and manifest["data"]["duplicates"] == "most_complete"
    assert manifest["git_commit"] is None or len(manifest["git_commit"]) == 40
    assert manifest["packages"]["pyreadstat"] and manifest["packages"]["openpyxl"]
