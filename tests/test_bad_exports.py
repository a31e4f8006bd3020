"""The bad-input suite: malformed exports give one clear line or a counted, documented exclusion.

Each case of tests/fixtures/bad-exports/cases.yaml is run as the pre wave of a small study
(``study/``). Whatever happens, nothing raises anything but a PipelineError (no traceback), the
ledger balances, and the raw file is byte-identical afterwards. A property test then damages a
valid export at random and checks that the ledger still balances and undamaged rows are read
exactly as before.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import PipelineError
from pipeline.run import run_study, write_outputs
from pipeline.study import load_study

from .conftest import output_text

FIXTURES = Path(__file__).parent / "fixtures" / "bad-exports"
CASES = yaml.safe_load((FIXTURES / "cases.yaml").read_text(encoding="utf-8"))
ITEMS = ["mini_1", "mini_2", "mini_3"]


def case_id(case: dict) -> str:
    settings_shown = "+".join(f"{k}" for k in [*case.get("wave", {}), *case.get("study", {})])
    return f"{case['file'] or 'missing-file'}{'[' + settings_shown + ']' if settings_shown else ''}"


def build_study(case: dict, folder: Path) -> Path | None:
    """The case's study folder; returns the raw file's path in it (None when the case has no file)."""
    shutil.copytree(FIXTURES / "study", folder)
    config = yaml.safe_load((folder / "study.yaml").read_text(encoding="utf-8"))
    raw = None
    if case["file"]:
        raw = folder / case["file"]
        shutil.copyfile(FIXTURES / case["file"], raw)
        config["waves"]["pre"] = {"file": case["file"], **case.get("wave", {})}
        if case.get("wave", {}).get("format") == "redcap":
            config["waves"]["post"] = {"file": case["file"], "format": "redcap", "event": "followup_arm_1"}
    config.update(case.get("study", {}))
    (folder / "study.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")  # waves are in time order
    return raw


def sha256(path: Path | None) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


def test_the_suite_has_at_least_30_malformed_exports():
    assert len({case["file"] for case in CASES if case["file"]}) >= 30


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_bad_export(case, tmp_path):
    raw = build_study(case, tmp_path / "study")
    before = sha256(raw)
    try:
        run = run_study(load_study(tmp_path / "study"))
    except PipelineError as error:
        message = str(error)
        assert "error" in case, f"unexpected error: {message}"
        assert case["error"] in message
        assert "\n" not in message and "Traceback" not in message
        assert sha256(raw) == before
        return
    assert "error" not in case, f"expected the error {case['error']!r}"
    pre = run.waves[0]
    assert [pre.rows_read, pre.rows_accepted, pre.rows_excluded] == case["ledger"]
    assert pre.exclusions["reason"].value_counts().to_dict() == case.get("reasons", {})
    assert pre.problems["problem"].value_counts().to_dict() == case.get("problems", {})
    if "post_reasons" in case:
        assert run.waves[1].exclusions["reason"].value_counts().to_dict() == case["post_reasons"]
    if "kept_rows" in case:
        assert list(pre.responses.index) == case["kept_rows"]
    if "rows" in case:
        assert list(pre.responses.index) == case["rows"]
    if "pairs" in case:
        assert run.flow["matched"] == case["pairs"]
    if "missing_cells" in case:
        assert int(pre.responses[ITEMS].isna().sum().sum()) == case["missing_cells"]
    written = write_outputs(run, tmp_path / "out", pdf=False)
    text = output_text(written)
    for secret in case.get("absent_from_outputs", []):
        assert secret not in text
    for shown in case.get("neutralised", []):
        assert shown in text
    assert sha256(raw) == before


# --- random damage to a valid export -------------------------------------------------------

VALID_ROWS = [(f"p{i:02d}", (i % 5) + 1, ((i * 2) % 5) + 1, ((i * 3) % 5) + 1) for i in range(1, 21)]
DAMAGE = st.sampled_from(["blank_cell", "garbage_cell", "out_of_range", "marker", "blank_id", "duplicate_row", "empty_row", "label_cell"])


def write_export(rows: list[list[str]], path: Path) -> None:
    body = "".join(",".join(row) + "\n" for row in rows)
    path.write_text("pid,mini_1,mini_2,mini_3\n" + body, encoding="utf-8")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(DAMAGE, st.integers(0, 19), st.integers(1, 3)), max_size=12))
def test_random_damage_keeps_the_ledger_balanced_and_the_rest_unchanged(tmp_path_factory, damage):
    folder = tmp_path_factory.mktemp("damage")
    shutil.copytree(FIXTURES / "study", folder / "study")
    rows = [[pid, str(a), str(b), str(c)] for pid, a, b, c in VALID_ROWS]
    touched: set[str] = set()
    for kind, index, column in damage:
        row = rows[index]
        touched.add(row[0])
        if kind == "blank_cell":
            row[column] = ""
        elif kind == "garbage_cell":
            row[column] = "x?y"
        elif kind == "out_of_range":
            row[column] = "99"
        elif kind == "marker":
            row[column] = "N/A"
        elif kind == "label_cell":
            row[column] = "agree"
        elif kind == "blank_id":
            row[0] = ""
        elif kind == "duplicate_row":
            rows.append(list(row))
        elif kind == "empty_row":
            rows.append(["", "", "", ""])
    write_export(rows, folder / "study" / "pre.csv")
    run = run_study(load_study(folder / "study"))
    pre = run.waves[0]
    assert pre.rows_read == len(rows) == pre.rows_accepted + pre.rows_excluded
    accepted = pre.responses.set_index("pid")
    for pid, a, b, c in VALID_ROWS:
        if pid not in touched:
            assert accepted.loc[pid, ITEMS].tolist() == [a, b, c]
    values = accepted[ITEMS].to_numpy(dtype=float)
    assert np.isin(values[~np.isnan(values)], [1, 2, 3, 4, 5]).all()
    assert accepted.index.is_unique and "" not in accepted.index
    assert set(pre.exclusions["reason"]) <= {"empty", "missing_id", "duplicate"}
    assert isinstance(run.results, pd.DataFrame)


@pytest.mark.parametrize("last_row", ["P3,1", "P3", "P3,1,2"])
def test_a_row_shorter_than_the_header_reads_its_missing_cells_as_blank(tmp_path, last_row):
    from pipeline.ingest import read_wave
    from pipeline.study import WaveSource

    path = tmp_path / "pre.csv"
    path.write_text(f"id,a,b\nP1,1,2\nP2,,\n{last_row}\n", encoding="utf-8")
    table = read_wave("pre", path, WaveSource(file="pre.csv")).table
    assert not table.isna().any().any()
    assert table.loc[4].tolist() == (last_row.split(",") + ["", ""])[:3]
    assert table.loc[3].tolist() == ["P2", "", ""]
