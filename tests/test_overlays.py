"""Local overlays: licensed wording and scoring keys merged over a library file, never shipped."""

from __future__ import annotations

import pytest
import yaml

from pipeline.catalogue import render_catalogue_html
from pipeline.errors import PipelineError
from pipeline.instruments import LOCAL_DIR_VARIABLE, apply_overlay, load_instrument
from pipeline.study import load_study

from .conftest import DEMO, LIBRARY

CDSE = LIBRARY / "cdse_sf.yaml"
SUBSCALE = {
    "id": "cdse_sf_licensed_part",
    "name": "Licensed subscale",
    "items": ["cdse_sf_1", "cdse_sf_2", "cdse_sf_3", "cdse_sf_4", "cdse_sf_5"],
    "method": "mean",
    "min_items": 5,
    "missing_basis": "manual",
    "higher_is": "better",
    "role": "secondary",
}


def write_overlay(folder, **fields):
    overlay = {"extends": "cdse_sf", **fields}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cdse_sf.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    return folder


def test_overlay_adds_wording_and_a_licensed_scale_without_touching_the_library(tmp_path):
    before = CDSE.read_bytes()
    folder = write_overlay(tmp_path, items=[{"id": "cdse_sf_1", "text": "Licensed wording one"}], scales=[SUBSCALE])
    instrument = load_instrument(CDSE, overlay_dir=folder)
    assert instrument.items[0].text == "Licensed wording one"
    assert instrument.items[0].label == load_instrument(CDSE).items[0].label
    assert [s.id for s in instrument.scales] == ["cdse_sf_total", "cdse_sf_licensed_part"]
    assert CDSE.read_bytes() == before


def test_overlay_scale_with_an_existing_id_replaces_it(tmp_path):
    replacement = {**SUBSCALE, "id": "cdse_sf_total", "role": "primary", "items": [f"cdse_sf_{n}" for n in range(1, 26)], "min_items": 25}
    instrument = load_instrument(CDSE, overlay_dir=write_overlay(tmp_path, scales=[replacement]))
    assert [s.id for s in instrument.scales] == ["cdse_sf_total"]
    assert instrument.scale("cdse_sf_total").required_items == 25


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"items": [{"id": "cdse_sf_99", "text": "x"}]}, "overlays add fields to existing items only; no item 'cdse_sf_99'"),
        ({"citation": "changed"}, "citation: an overlay may only hold"),
        ({"extends": "phq9"}, "extends: must name the instrument it overlays ('cdse_sf')"),
    ],
)
def test_overlay_refuses_what_it_may_not_change(tmp_path, fields, message):
    folder = write_overlay(tmp_path, **fields)
    with pytest.raises(PipelineError, match="cdse_sf.yaml") as error:
        load_instrument(CDSE, overlay_dir=folder)
    assert message in str(error.value)


def test_errors_in_a_merged_definition_name_both_files(tmp_path):
    broken = {**SUBSCALE, "items": ["cdse_sf_1", "nope"]}
    folder = write_overlay(tmp_path, scales=[broken])
    with pytest.raises(PipelineError) as error:
        load_instrument(CDSE, overlay_dir=folder)
    assert f"{CDSE} + {folder / 'cdse_sf.yaml'}" in str(error.value)
    assert "unknown item(s) nope" in str(error.value)


def test_apply_overlay_does_not_mutate_its_input():
    base = yaml.safe_load(CDSE.read_text())
    snapshot = yaml.safe_dump(base)
    apply_overlay(base, {"extends": "cdse_sf", "items": [{"id": "cdse_sf_1", "text": "t"}]}, "overlay.yaml")
    assert yaml.safe_dump(base) == snapshot


def test_studies_use_the_overlay_named_by_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(LOCAL_DIR_VARIABLE, str(write_overlay(tmp_path, scales=[SUBSCALE])))
    cdse = next(i for i in load_study(DEMO).instruments if i.id == "cdse_sf")
    assert "cdse_sf_licensed_part" in [s.id for s in cdse.scales]


def test_wording_reaches_the_catalogue_only_when_asked(tmp_path):
    folder = write_overlay(tmp_path, items=[{"id": "cdse_sf_1", "text": "Licensed wording one"}])
    instrument = load_instrument(CDSE, overlay_dir=folder)
    assert "Licensed wording one" not in render_catalogue_html([instrument], "today")
    assert "Licensed wording one" in render_catalogue_html([instrument], "today", include_wording=True)
