"""Study files: the minimal study.yaml works as written; lookups and clashes are checked."""

from __future__ import annotations

import shutil

import pytest

from pipeline.errors import PipelineError
from pipeline.study import load_study

from .conftest import LIBRARY


def test_minimal_study_loads(minimal_study):
    study = load_study(minimal_study)
    assert study.name == "Minimal example"
    assert study.wave_files == {"pre": minimal_study / "pre.csv", "post": minimal_study / "post.csv"}
    assert [i.id for i in study.instruments] == ["tiny"]
    assert study.config.analysis.correction == "holm" and study.config.analysis.alpha == 0.05


def test_study_instruments_folder_comes_before_the_library(minimal_study):
    shutil.copy(LIBRARY / "brs.yaml", minimal_study / "instruments" / "brs.yaml")
    text = (minimal_study / "instruments" / "brs.yaml").read_text().replace("name: Brief Resilience Scale", "name: Local BRS copy")
    (minimal_study / "instruments" / "brs.yaml").write_text(text)
    (minimal_study / "study.yaml").write_text((minimal_study / "study.yaml").read_text().replace("[tiny]", "[tiny, brs, phq9]"))
    study = load_study(minimal_study, library_dir=LIBRARY)
    assert [i.name for i in study.instruments][1] == "Local BRS copy"
    assert study.instrument_files[2] == LIBRARY / "phq9.yaml"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[tiny]", "[tiny, nosuch]", "instrument 'nosuch' not found (looked for nosuch.yaml in:"),
        ("[tiny]", "[tiny, tiny]", "instruments: listed twice: tiny"),
        ("  post: post.csv\n", "", "waves: needs both 'pre' and 'post' files; missing post"),
        ("  post: post.csv", "  later: post.csv", "waves.later: input should be 'pre' or 'post'"),
        ("id_column: participant_id", "id_column: tiny_1", "id_column: 'tiny_1' clashes with an item or scale id"),
        ("  pre: pre.csv", "  pre: 5", "waves.pre must be a file path or a mapping such as {file: pre.csv, format: csv}"),
        ("  pre: pre.csv", "  pre: {file: pre.csv, colums: {}}", "waves.pre.colums: unknown field"),
        ("name: Minimal example\n", "", "name: required field is missing"),
        ("name: Minimal example", "name: Minimal example\nfunder: someone", "funder: unknown field"),
    ],
)
def test_broken_study_files_give_one_clear_line(minimal_study, old, new, message):
    path = minimal_study / "study.yaml"
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(PipelineError) as error:
        load_study(minimal_study)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_two_instruments_may_not_define_the_same_column(minimal_study):
    clone = (minimal_study / "instruments" / "tiny.yaml").read_text().replace("id: tiny\n", "id: tiny2\n")
    (minimal_study / "instruments" / "tiny2.yaml").write_text(clone)
    (minimal_study / "study.yaml").write_text((minimal_study / "study.yaml").read_text().replace("[tiny]", "[tiny, tiny2]"))
    with pytest.raises(PipelineError, match="'tiny_1' is defined by both tiny and tiny2"):
        load_study(minimal_study)


def test_folder_without_study_file(tmp_path):
    with pytest.raises(PipelineError, match=r"study.yaml: file not found; a study folder needs a study.yaml"):
        load_study(tmp_path)


def test_secondary_scales_are_scored_but_analysed_only_when_asked(tmp_path):
    from .conftest import DEMO

    study = load_study(DEMO)
    analysed = [scale.id for _, scale in study.scales]
    assert len(analysed) == 20 and "spane_b" not in analysed
    folder = tmp_path / "demo"
    shutil.copytree(DEMO, folder)
    text = (folder / "study.yaml").read_text().replace("correction: holm", "correction: holm\n  include_secondary: true")
    (folder / "study.yaml").write_text(text)
    wider = [scale.id for _, scale in load_study(folder).scales]
    assert {"spane_b", "ahs_agency", "mspss_family", "lot_r_pessimism", "bcs_search"} <= set(wider)
    assert len(wider) == 29
