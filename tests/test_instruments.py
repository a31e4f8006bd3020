"""Instrument files: the minimal format loads as written; broken files fail with one clear line."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from pipeline.errors import PipelineError
from pipeline.instruments import load_instrument, parse_instrument

from .conftest import MINIMAL

TINY = yaml.safe_load((MINIMAL / "instruments" / "tiny.yaml").read_text())


def test_minimal_file_loads_exactly_as_written():
    instrument = load_instrument(MINIMAL / "instruments" / "tiny.yaml")
    assert instrument.id == "tiny"
    assert (instrument.response.min, instrument.response.max) == (1, 5)
    assert instrument.reverse_item_ids == {"tiny_2"}
    (scale,) = instrument.scales
    assert scale.items == ["tiny_1", "tiny_2", "tiny_3"]
    assert (scale.method, scale.required_items, scale.higher_is) == ("mean", 2, "better")


def test_min_items_defaults_to_every_item():
    data = copy.deepcopy(TINY)
    del data["scales"][0]["min_items"]
    assert parse_instrument(data).scales[0].required_items == 3


def test_an_item_may_belong_to_two_scales():
    data = copy.deepcopy(TINY)
    data["scales"].append({"id": "tiny_pair", "name": "Pair", "items": ["tiny_1", "tiny_2"], "method": "sum", "higher_is": "better"})
    assert [s.id for s in parse_instrument(data).scales] == ["tiny_score", "tiny_pair"]


def broken(change) -> dict:
    data = copy.deepcopy(TINY)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["scales"][0]["items"].append("tiny_9"), "scales[0] (tiny_score).items: unknown item(s) tiny_9"),
        (lambda d: d["items"].append({"id": "tiny_1", "label": "again"}), "items[3] (tiny_1).id: duplicate item id 'tiny_1'"),
        (lambda d: d["scales"][0].update(min_items=4), "scales[0] (tiny_score).min_items: must be between 1 and the scale's 3 items, got 4"),
        (lambda d: d["scales"][0].update(min_items=0), "min_items: must be between 1"),
        (lambda d: d["scales"][0].update(method="median"), "scales[0] (tiny_score).method: input should be 'mean', 'sum' or 'difference', got 'median'"),
        (lambda d: d["scales"][0].update(higher_is="up"), "scales[0] (tiny_score).higher_is: input should be 'better', 'worse' or 'neutral'"),
        (lambda d: d["items"][1].update(reverese=True), "items[1] (tiny_2).reverese: unknown field"),
        (lambda d: d.pop("citation"), "citation: required field is missing"),
        (lambda d: d["response"].update(min=5, max=1), "response: min (5) must be less than max (1)"),
        (lambda d: d["response"].update(max="5"), "response.max: Input should be a valid integer"),
        (lambda d: d["scales"].append(dict(d["scales"][0])), "scales[1] (tiny_score).id: duplicate scale id"),
        (lambda d: d["scales"][0].update(id="tiny_1"), "scale id 'tiny_1' is also an item id"),
        (lambda d: d["items"][0].update(id="tiny 1"), "items[0] (tiny 1).id: 'tiny 1' is not a valid id: start with a letter"),
        (lambda d: d.update(license="free"), "license: input should be 'public-domain', 'free-research', 'permission-required' or 'commercial'"),
    ],
)
def test_broken_definitions_name_file_and_field(change, expected):
    with pytest.raises(PipelineError) as error:
        parse_instrument(broken(change), "instruments/tiny.yaml")
    message = str(error.value)
    assert message.startswith("instruments/tiny.yaml: ")
    assert expected in message
    assert "\n" not in message


def test_duplicate_yaml_key_is_refused(tmp_path: Path):
    text = (MINIMAL / "instruments" / "tiny.yaml").read_text().replace("    reverse: true", "    reverse: true\n    reverse: false")
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    with pytest.raises(PipelineError, match=r"tiny.yaml: line \d+, column \d+: invalid YAML: key 'reverse' appears twice"):
        load_instrument(path)


def test_file_name_must_match_id(tmp_path: Path):
    path = tmp_path / "other.yaml"
    path.write_text((MINIMAL / "instruments" / "tiny.yaml").read_text())
    with pytest.raises(PipelineError, match=r"other.yaml: id: 'tiny' does not match the file name; name the file tiny.yaml"):
        load_instrument(path)


def test_invalid_yaml_names_line(tmp_path: Path):
    path = tmp_path / "tiny.yaml"
    path.write_text("id: tiny\nitems: [a, b\n")
    with pytest.raises(PipelineError, match=r"tiny.yaml: line \d+, column \d+: invalid YAML"):
        load_instrument(path)


def test_top_level_must_be_a_mapping(tmp_path: Path):
    path = tmp_path / "tiny.yaml"
    path.write_text("- just a list\n")
    with pytest.raises(PipelineError, match="expected a YAML mapping"):
        load_instrument(path)
