"""Strict YAML: hostile files cost one clear line, in bounded time and memory, never a crash.

Every refusal is a :class:`PipelineError` whose message is one line under 300 characters that
starts with the file. The cases are the hostile review's: a "billion laughs" of aliases, merge
keys, lists and mappings as keys, deep nesting, control characters, huge or special files,
tags, dates, huge integers and NaN/inf; then the response-range cap, and the proof that an
instrument check at the caps reasons arithmetically instead of listing every possible score.
"""

from __future__ import annotations

import copy
import math
import os
import string
import tracemalloc
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import PipelineError
from pipeline.instrument_check import band_findings, check_files, coverage_regions, files_to_check
from pipeline.instruments import MAX_EXAMPLES, MAX_ITEMS, MAX_RESPONSE_OPTIONS, find_instrument, load_instrument, parse_instrument
from pipeline.score import (
    MAX_DIFFERENCE_PAIRS,
    ScoreCheckTooLarge,
    possible_scores,
    reachable_scores,
)
from pipeline.study import load_study
from pipeline.yamlio import MAX_YAML_BYTES, join_problems, read_yaml_mapping

from .conftest import LIBRARY, MINIMAL

TINY_TEXT = (MINIMAL / "instruments" / "tiny.yaml").read_text(encoding="utf-8")
TINY = yaml.safe_load(TINY_TEXT)
STUDY_TEXT = "name: Strict\nid_column: participant_id\ninstruments: [tiny]\nwaves: {pre: pre.csv, post: post.csv}\n"

BILLION_LAUGHS = "\n".join(
    ["name: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 9)]
    + ["id_column: *a8", ""]
)


def assert_one_line(message: str, path: Path | str) -> None:
    """The rules every problem message keeps."""
    assert message.startswith(str(path)), message
    assert len(message) < 300, (len(message), message)
    assert "\n" not in message and "\r" not in message
    assert all(ch == " " or ch.isprintable() for ch in message), repr(message)


def refusal(load, path: Path) -> str:
    """The one-line message ``load(path)`` refuses with."""
    with pytest.raises(PipelineError) as error:
        load(path)
    message = str(error.value)
    assert_one_line(message, path)
    return message


def write(tmp_path: Path, text: str | bytes, name: str = "study.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


# --- hostile YAML, through the reader every study.yaml and instrument file goes through -------

HOSTILE = {
    "billion-laughs": (BILLION_LAUGHS, "YAML anchors (&a0) are not supported; remove it and write values out in full"),
    "alias-only": (STUDY_TEXT + "other: *nowhere\n", "YAML aliases (*nowhere) are not supported"),
    "merge-key-with-anchor": (STUDY_TEXT + "base: &b {alpha: 0.05}\nanalysis:\n  <<: *b\n", "YAML anchors (&b)"),
    "merge-key": (STUDY_TEXT + "analysis:\n  <<: {alpha: 0.05}\n", "line 6, column 3: the YAML merge key '<<' is not supported"),
    "mapping-as-key-block": (STUDY_TEXT + "? {a: 1}\n: x\n", "line 5, column 3: a mapping cannot be a key"),
    "mapping-as-key-flow": (STUDY_TEXT + "{a: 1}: x\n", "a mapping cannot be a key"),
    "sequence-as-key": (STUDY_TEXT + "? [a, b]\n: 1\n", "a list cannot be a key"),
    "true-as-key": (STUDY_TEXT + "on: 1\n", "the key 'on' reads as true; keys are names: put it in quotes"),
    "null-as-key": (STUDY_TEXT + "~: 1\n", "reads as null"),
    "fraction-as-key": (STUDY_TEXT + "1.5: 1\n", "reads as a fraction"),
    "deep-flow-lists": (STUDY_TEXT + "description: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 32 levels deep"),
    "deep-flow-mappings": (STUDY_TEXT + "description: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", "nested more than 32 levels deep"),
    "deep-block-lists": (STUDY_TEXT + "description:\n" + "- " * 3000 + "x\n", "nested more than 32 levels deep"),
    "bell-character": (STUDY_TEXT + "program: bell\x07here\n", "line 5, column 14: character U+0007 is not allowed in a YAML file; delete it"),
    "nul-byte": (STUDY_TEXT + "program: a\x00b\n", "line 5, column 11: character U+0000 is not allowed"),
    "control-after-crlf": ("name: x\r\nprogram: \x1b[31m\r\n", "line 2, column 10: character U+001B"),
    "python-tag": (STUDY_TEXT + "program: !!python/object/apply:os.system [echo hi]\n", "the tag '!!python/object/apply:os.system' is not supported"),
    "custom-tag": (STUDY_TEXT + "program: !custom x\n", "the tag '!custom' is not supported"),
    "binary": (STUDY_TEXT + "logo: !!binary aGVsbG8=\n", "the tag '!!binary' is not supported"),
    "set": (STUDY_TEXT + "program: !!set {a, b}\n", "the tag '!!set' is not supported"),
    "explicit-int-tag": (STUDY_TEXT + "program: !!int abc\n", "the tag '!!int' is not supported"),
    "timestamp": (STUDY_TEXT + "program: 2024-01-01\n", "'2024-01-01' reads as a date in YAML; put it in quotes"),
    "timestamp-with-time": (STUDY_TEXT + "program: 2024-01-01 10:00:00\n", "reads as a date"),
    "ten-to-the-hundred": (STUDY_TEXT + "program: 1" + "0" * 100 + "\n", "is too large (the limit is 10^15)"),
    "five-thousand-digits": (STUDY_TEXT + "program: " + "7" * 5000 + "\n", "is too large (the limit is 10^15)"),
    "nan": (STUDY_TEXT + "analysis: {alpha: .nan}\n", "'.nan' is not a finite number"),
    "inf": (STUDY_TEXT + "analysis: {alpha: -.inf}\n", "'-.inf' is not a finite number"),
    "float-overflow": (STUDY_TEXT + "analysis: {alpha: 1.0e+400}\n", "'1.0e+400' is not a finite number"),
    "octal": (STUDY_TEXT + "program: 0777\n", "reads as an octal number"),
    "base-sixty": (STUDY_TEXT + "program: 1:30\n", "reads as a base-60 number"),
    "duplicate-key": (STUDY_TEXT + "name: again\n", "invalid YAML: key 'name' appears twice (first on line 1)"),
    "two-documents": (STUDY_TEXT + "---\nname: x\n", "expected a single document"),
    "unclosed": ("name: [unclosed\n", "line 2, column 1: invalid YAML"),
    "empty": ("", "expected a YAML mapping of fields (key: value), found nothing"),
    "a-list": ("- a\n- b\n", "expected a YAML mapping of fields (key: value), found a list"),
}


@pytest.mark.parametrize("text, expected", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_yaml_is_refused_in_one_line(tmp_path, text, expected):
    path = write(tmp_path, text)
    assert expected in refusal(read_yaml_mapping, path)


@pytest.mark.parametrize("text, expected", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_yaml_in_a_study_is_refused_by_load_study(minimal_study, text, expected):
    path = write(minimal_study, text)
    assert expected in refusal(lambda _: load_study(minimal_study), path)


def test_the_project_files_use_none_of_what_is_refused(tmp_path):
    template = (LIBRARY.parent / "pipeline" / "templates" / "instrument-template.yaml").read_text(encoding="utf-8")
    files = [*LIBRARY.glob("*.yaml"), *MINIMAL.parent.glob("*/study.yaml"), *MINIMAL.parent.glob("*/instruments/*.yaml")]
    files += [write(tmp_path, string.Template(template).substitute(id="new_scale", path="new_scale.yaml"), "new_scale.yaml")]
    files += list((LIBRARY.parent / "tests" / "fixtures").rglob("*.yaml"))
    assert len(files) > 40
    for path in files:
        if path.name.startswith("broken_yaml_"):
            continue  # fixtures written to be refused by the reader
        try:
            read_yaml_mapping(path)
        except PipelineError as error:  # a broken fixture or a list of cases: refused for that, nothing new
            assert "appears twice" in str(error) or "found a list" in str(error), str(error)


def test_billion_laughs_costs_no_more_memory_than_its_size(tmp_path):
    path = write(tmp_path, BILLION_LAUGHS)
    assert path.stat().st_size < 600
    tracemalloc.start()
    try:
        refusal(read_yaml_mapping, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20, peak


def test_an_alias_is_refused_before_it_expands(tmp_path):
    # The anchor is legal until the alias that would expand it; neither is accepted.
    path = write(tmp_path, "name: x\nnote: 'plain'\nother: &keep [a]\n")
    assert "line 3, column 8: YAML anchors (&keep)" in refusal(read_yaml_mapping, path)


def test_a_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = write(tmp_path, STUDY_TEXT + "description: '" + "x" * MAX_YAML_BYTES + "'\n")
    monkeypatch.setattr(os, "open", lambda *a, **k: pytest.fail("opened a file over the cap"))
    assert "bytes is over the 1024 KiB limit" in refusal(read_yaml_mapping, path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "study.yaml"
    os.mkfifo(path)
    assert "not a regular file (a pipe (FIFO))" in refusal(read_yaml_mapping, path)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_dev_zero_is_refused():
    assert "not a regular file (a device)" in refusal(read_yaml_mapping, Path("/dev/zero"))


def test_a_folder_and_a_missing_file_are_refused(tmp_path):
    assert "not a regular file (a folder)" in refusal(read_yaml_mapping, tmp_path)
    assert refusal(read_yaml_mapping, tmp_path / "nope.yaml").endswith("file not found")


def test_text_that_is_not_utf8_is_refused(tmp_path):
    path = write(tmp_path, "name: caf\xe9\n".encode("latin-1"))
    assert "not UTF-8 text" in refusal(read_yaml_mapping, path)


def test_what_stays_allowed(tmp_path):
    text = "a: !!str 123\nb: '2024-01-01'\nc: 0\nd: -12\ne: 2.5\nf: 0x1F\ng: =\nlabels: {1: Never, 2: Often}\nh: 1e400\n"
    data = read_yaml_mapping(write(tmp_path, text))
    assert data == {"a": "123", "b": "2024-01-01", "c": 0, "d": -12, "e": 2.5, "f": 31, "g": "=", "labels": {1: "Never", 2: "Often"}, "h": "1e400"}


def test_a_long_key_is_cut_and_escaped_in_the_message(tmp_path):
    key = "name\u202e" + "x" * 5000  # a right-to-left override, then a long tail
    path = write(tmp_path, STUDY_TEXT + f"? {key}\n: 1\n? {key}\n: 2\n")  # explicit keys: a simple key stops at 1024 characters
    message = refusal(read_yaml_mapping, path)
    assert "appears twice" in message and "\\u202e" in message


# --- numeric fields of instruments ------------------------------------------------------------

def instrument_text(**replacements: str) -> str:
    text = TINY_TEXT
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


NUMERIC = {
    "min-1e400": ({"min: 1": "min: 1e400"}, "response.min: Input should be a valid integer (got '1e400')"),
    "max-ten-to-the-hundred": ({"max: 5": "max: 1" + "0" * 100}, "is too large (the limit is 10^15)"),
    "max-nan": ({"max: 5": "max: .nan"}, "'.nan' is not a finite number"),
    "max-inf": ({"max: 5": "max: .inf"}, "'.inf' is not a finite number"),
    "max-date": ({"max: 5": "max: 2024-05-05"}, "reads as a date"),
    "max-tagged": ({"max: 5": "max: !!python/int 5"}, "the tag '!!python/int' is not supported"),
    "max-true": ({"max: 5": "max: yes"}, "response.max: Input should be a valid integer (got True)"),
}


@pytest.mark.parametrize("replacements, expected", NUMERIC.values(), ids=NUMERIC.keys())
def test_odd_numbers_in_an_instrument_are_refused(tmp_path, replacements, expected):
    path = write(tmp_path, instrument_text(**replacements), "tiny.yaml")
    assert expected in refusal(load_instrument, path)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_are_refused_by_the_schema_too(value):
    data = copy.deepcopy(TINY)
    data["norms"] = [{"scale": "tiny_score", "mean": value, "population": "p", "source": "s", "evidence": "verified"}]
    with pytest.raises(PipelineError, match=r"norms\[0\]\.mean: Input should be a finite number"):
        parse_instrument(data, "tiny.yaml")


# --- the response range and the other caps ----------------------------------------------------

def with_response(low: int, high: int, **extra) -> dict:
    data = copy.deepcopy(TINY)
    data["response"] = {"min": low, "max": high, **extra}
    return data


def test_the_response_range_is_capped_arithmetically():
    assert parse_instrument(with_response(0, MAX_RESPONSE_OPTIONS - 1)).response.max == 1000
    with pytest.raises(PipelineError) as error:
        parse_instrument(with_response(0, MAX_RESPONSE_OPTIONS), "tiny.yaml")
    assert "response: 0..1001 gives 1002 response options; at most 1001 are supported: use a narrower range such as 0..1000" in str(error.value)


def test_a_range_of_ten_million_is_refused_in_bounded_memory(tmp_path):
    path = write(tmp_path, instrument_text(**{"max: 5": "max: 10000000"}), "tiny.yaml")
    tracemalloc.start()
    try:
        message = refusal(load_instrument, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "gives 10000000 response options; at most 1001 are supported" in message
    assert peak < 8 << 20, peak


def test_items_and_examples_are_capped():
    data = copy.deepcopy(TINY)
    data["items"] += [{"id": f"more_{n}", "label": "x"} for n in range(MAX_ITEMS)]
    data["examples"] = [{"description": "d", "responses": {}, "expect": {"tiny_score": None}}] * (MAX_EXAMPLES + 1)
    with pytest.raises(PipelineError) as error:
        parse_instrument(data, "tiny.yaml")
    assert f"items: {MAX_ITEMS + 3} items; at most {MAX_ITEMS} are supported" in str(error.value)
    assert f"examples: {MAX_EXAMPLES + 1} worked examples; at most {MAX_EXAMPLES} are supported" in str(error.value)


def test_many_problems_make_one_short_line():
    data = copy.deepcopy(TINY)
    data["items"] = [{"id": f"bad id {n}", "label": "x"} for n in range(500)]
    with pytest.raises(PipelineError) as error:
        parse_instrument(data, "tiny.yaml")
    message = str(error.value)
    assert_one_line(message, "tiny.yaml")
    assert "is not a valid id" in message and message.endswith("more problems")


def test_join_problems_keeps_whole_problems_and_counts_the_rest():
    assert join_problems("f.yaml", ["a", "b"]) == "f.yaml: a; b"
    message = join_problems("f.yaml", [f"problem number {n} " + "x" * 40 for n in range(20)])
    assert_one_line(message, "f.yaml")
    assert message.endswith("more problems") and "problem number 0 " in message


# --- finding instrument files -----------------------------------------------------------------

class Untouchable:
    """A search folder that fails the test if a path is built from it or it is opened."""

    def __fspath__(self):
        pytest.fail("touched the filesystem")

    def __truediv__(self, other):
        pytest.fail("built a path")


@pytest.mark.parametrize("bad", ["../../elsewhere/x", "/etc/passwd", "tiny/../tiny", "", "x" * 65, "a\nb", "tiny.yaml"])
def test_find_instrument_refuses_a_bad_id_before_touching_the_filesystem(bad):
    with pytest.raises(PipelineError) as error:
        find_instrument(bad, [Untouchable()])
    assert "is not a valid id" in str(error.value)
    assert_one_line(str(error.value), "instrument ")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_the_study_instruments_folder_is_refused_not_skipped(minimal_study):
    own = minimal_study / "instruments" / "tiny.yaml"
    own.unlink()
    os.mkfifo(own)
    with pytest.raises(PipelineError, match="not a regular file") as error:
        find_instrument("tiny", [minimal_study / "instruments", LIBRARY])
    assert_one_line(str(error.value), own)
    with pytest.raises(PipelineError, match="tiny.yaml: not a regular file"):
        load_study(minimal_study)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_instruments_check_names_a_fifo_instead_of_reading_it(tmp_path):
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)
    findings, loaded = check_files(files_to_check([pipe]))
    assert loaded == len(files_to_check([])) and [str(f) for f in findings] == [f"{pipe}: not a regular file (a pipe (FIFO)); give a YAML text file"]


def test_a_broken_link_is_refused_not_skipped(minimal_study):
    own = minimal_study / "instruments" / "brs.yaml"
    own.symlink_to(minimal_study / "nowhere.yaml")
    with pytest.raises(PipelineError, match="brs.yaml: a broken link"):
        find_instrument("brs", [minimal_study / "instruments", LIBRARY])


def test_find_instrument_still_finds_the_library():
    assert find_instrument("phq9", [MINIMAL / "instruments", LIBRARY]) == LIBRARY / "phq9.yaml"


# --- never a crash: any text, any structure ---------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
YAML_PIECES = st.sampled_from(list("abc01:-[]{}?,&*!|>'\"#%@`<=~. \n\t\x00\x07\u2028\xe9") + ["<<", "!!", ".nan", "2024-01-01", "1:30", "  ", "id: ", "\n  - "])
yaml_texts = st.lists(YAML_PIECES, max_size=80).map("".join)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["<<", "=", "~", "yes", "on", "2024-01-01", "1:30", "0777", ".nan", "1e400", "!x", "&a", "*a"]),
)
keys = st.one_of(st.text(max_size=12), st.integers(-5, 5), st.sampled_from(["id", "items", "response", "min", "max", "scales", "<<"]))
structures = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=25)


def loads_or_refuses(load, path: Path) -> None:
    """``load(path)`` returns, or raises PipelineError with a message that keeps the rules."""
    try:
        load(path)
    except PipelineError as error:
        assert_one_line(str(error), path)


@FUZZ
@given(text=st.one_of(yaml_texts, st.text(max_size=200)))
def test_any_text_loads_or_is_refused(tmp_path, text):
    path = write(tmp_path, text, "tiny.yaml")
    loads_or_refuses(read_yaml_mapping, path)
    loads_or_refuses(load_instrument, path)


@FUZZ
@given(data=st.dictionaries(keys, structures, max_size=6))
def test_any_structure_loads_or_is_refused(tmp_path, data):
    path = write(tmp_path, yaml.safe_dump(data, allow_unicode=True), "tiny.yaml")
    loads_or_refuses(read_yaml_mapping, path)
    loads_or_refuses(load_instrument, path)


def paths_of(value, prefix=()):
    """Every (path, value) inside a nested structure of dicts and lists."""
    yield prefix, value
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from paths_of(inner, prefix + (key,))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from paths_of(inner, prefix + (index,))


#: Definitions to mutate: the minimal one, one with bands and cut-offs, one with a difference scale.
BASES = {name: yaml.safe_load((LIBRARY / f"{name}.yaml").read_text(encoding="utf-8")) for name in ("phq9", "spane")} | {"tiny": TINY}
BASE_PATHS = {name: [path for path, _ in paths_of(data) if path] for name, data in BASES.items()}


@FUZZ
@given(
    base=st.sampled_from(sorted(BASES)),
    picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=3),
    values=st.lists(structures, min_size=3, max_size=3),
)
def test_an_instrument_with_any_field_replaced_loads_or_is_refused(tmp_path, base, picks, values):
    data = copy.deepcopy(BASES[base])
    where = [BASE_PATHS[base][pick % len(BASE_PATHS[base])] for pick in picks]
    for path, value in zip(where, values):
        node = data
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this path
    path = write(tmp_path, yaml.safe_dump(data, allow_unicode=True), f"{base}.yaml")
    loads_or_refuses(load_instrument, path)
    try:
        load_instrument(path)
    except PipelineError:
        return
    check_files([path])  # a definition that loads is checked without a crash


# --- possible scores: arithmetic, exact, and bounded ------------------------------------------

def two_scales(low, high, first, second, bands=None) -> dict:
    """An instrument with two item scales (n, min_items, method) and their difference."""
    n1, n2 = first[0], second[0]
    data = copy.deepcopy(TINY)
    data.update(id="x", examples=[], response={"min": low, "max": high})
    data["items"] = [{"id": f"x_{i}", "label": "l"} for i in range(n1 + n2)]
    data["scales"] = [
        {"id": "x_a", "name": "A", "items": [f"x_{i}" for i in range(n1)], "method": first[2], "min_items": first[1], "higher_is": "better"},
        {"id": "x_b", "name": "B", "items": [f"x_{i}" for i in range(n1, n1 + n2)], "method": second[2], "min_items": second[1], "higher_is": "better"},
        {"id": "x_d", "name": "D", "of": ["x_a", "x_b"], "method": "difference", "higher_is": "better"},
    ]
    for scale, levels in zip(data["scales"], bands or []):
        if levels:
            scale["bands"] = {"levels": levels, "source": "s", "evidence": "verified"}
    return data


scale_shape = st.integers(1, 6).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n), st.sampled_from(["sum", "mean"])))


@settings(max_examples=120, deadline=None)
@given(low=st.integers(-3, 3), width=st.integers(1, 4), first=scale_shape, second=scale_shape, data=st.data())
def test_reachable_scores_agree_with_the_enumeration(low, width, first, second, data):
    instrument = parse_instrument(two_scales(low, low + width, first, second))
    for scale in instrument.scales:
        listed = sorted(possible_scores(instrument, scale))
        reachable = reachable_scores(instrument, scale)
        assert reachable.between(None, None, True, True, len(listed) + 1) == listed
        probe = data.draw(st.fractions(min_value=listed[0] - 1, max_value=listed[-1] + 1, max_denominator=60))
        assert (probe in reachable) == (probe in set(listed))
        start, end = sorted(data.draw(st.lists(st.sampled_from(listed), min_size=2, max_size=2)))
        left_open, right_open = data.draw(st.booleans()), data.draw(st.booleans())
        inside = [s for s in listed if (start < s if left_open else start <= s) and (s < end if right_open else s <= end)]
        assert reachable.between(start, end, left_open, right_open, 6) == inside[:6]


def enumerated_band_messages(instrument, scale):
    """The band check as it was: list every possible score and count the bands holding each."""
    bounds = [(Fraction(repr(b.min)), Fraction(repr(b.max))) for b in scale.bands.levels]
    listed = sorted(possible_scores(instrument, scale))
    show = lambda s: str(int(s)) if s.denominator == 1 else f"{float(s):.4g}"  # noqa: E731
    messages = []
    for kind, scores in (
        ("gap: reachable score(s) {} fall in no band", [s for s in listed if not any(lo <= s <= hi for lo, hi in bounds)]),
        ("overlap: score(s) {} fall in more than one band", [s for s in listed if sum(lo <= s <= hi for lo, hi in bounds) > 1]),
    ):
        if scores:
            messages.append(kind.format(", ".join(show(s) for s in scores[:5]) + (" ..." if len(scores) > 5 else "")))
    return messages


band = st.tuples(st.integers(-30, 40), st.integers(-2, 12), st.sampled_from([0, 0.5, 0.25, 0.2])).map(
    lambda t: {"min": t[0] + t[2], "max": t[0] + t[1] + t[2], "label": "b"}
)


@settings(max_examples=150, deadline=None)
@given(first=scale_shape, second=scale_shape, levels=st.lists(st.lists(band, min_size=2, max_size=5), min_size=3, max_size=3))
def test_band_check_agrees_with_the_enumeration(first, second, levels):
    instrument = parse_instrument(two_scales(1, 5, first, second, levels))
    for index, scale in enumerate(instrument.scales):
        findings = [f.message for f in band_findings(instrument, index, scale, "x.yaml") if f.message.startswith(("gap", "overlap"))]
        assert findings == enumerated_band_messages(instrument, scale)


def test_coverage_regions_count_closed_bands():
    one, two, three = Fraction(1), Fraction(2), Fraction(3)
    regions = coverage_regions([(one, two), (two, three), (three, one)])  # the last is inverted: holds nothing
    assert [(r[0], r[1], r[2], r[3]) for r in regions] == [
        (None, one, False, 0), (one, one, True, 1), (one, two, False, 1), (two, two, True, 2),
        (two, three, False, 1), (three, three, True, 1), (three, None, False, 0),
    ]


def test_possible_scores_refuses_to_list_millions():
    instrument = parse_instrument(two_scales(0, 1000, (100, 1, "sum"), (100, 1, "sum")))
    with pytest.raises(ValueError, match="over the limit"):
        possible_scores(instrument, instrument.scale("x_a"))


def test_a_difference_of_too_many_pairs_is_not_reasoned_about():
    instrument = parse_instrument(two_scales(0, 10, (120, 1, "sum"), (120, 1, "mean")))
    assert 120 * 120 > MAX_DIFFERENCE_PAIRS
    with pytest.raises(ScoreCheckTooLarge):
        reachable_scores(instrument, instrument.scale("x_d"))


def at_the_cap() -> dict:
    """The worst definition the caps allow for the brief: 0-1000, 100 items, prorated sums with min_items, bands."""
    data = two_scales(0, 1000, (50, 10, "sum"), (50, 1, "sum"))
    data["response"]["labels"] = {value: f"point {value}" for value in range(0, 1001)}
    data["scales"].append({"id": "x_m", "name": "M", "items": [f"x_{i}" for i in range(100)], "method": "mean", "min_items": 1, "higher_is": "better"})
    # Bands with a gap (25.5 < score < 26) on the sum, an overlap at 500 on the mean, a clean banding of the difference.
    data["scales"][0]["bands"] = {"levels": [{"min": 0, "max": 25.5, "label": "low"}, {"min": 26, "max": 50000, "label": "high"}], "source": "s", "evidence": "verified"}
    data["scales"][3]["bands"] = {"levels": [{"min": 0, "max": 500, "label": "low"}, {"min": 500, "max": 1000, "label": "high"}], "source": "s", "evidence": "verified"}
    data["scales"][2]["bands"] = {"levels": [{"min": -50000, "max": 0, "label": "down"}, {"min": 0.000001, "max": 50000, "label": "up"}], "source": "s", "evidence": "verified"}
    return data


def test_the_instrument_check_at_the_caps_reasons_instead_of_listing(tmp_path):
    path = write(tmp_path, yaml.safe_dump(at_the_cap(), sort_keys=False), "x.yaml")
    tracemalloc.start()
    try:
        findings, loaded = check_files([path])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert loaded == 1
    errors = [f.message for f in findings if f.severity == "error"]
    # By hand: with k of the 50 items answered the prorated sum is a multiple of 50/k, k = 10..50.
    low, high = Fraction(51, 2), Fraction(26)
    in_gap = sorted({Fraction(50 * j, k) for k in range(10, 51) for j in range(k // 2, k // 2 + 2) if low < Fraction(50 * j, k) < high})
    assert len(in_gap) > 5
    assert f"gap: reachable score(s) {', '.join(f'{float(s):.4g}' for s in in_gap[:5])} ... fall in no band" in errors
    assert "overlap: score(s) 500 fall in more than one band" in errors
    assert [m for m in errors if "x_d" in m] == []
    assert peak < 64 << 20, peak  # listing the sum's scores alone took gigabytes


def test_the_gap_on_a_prorated_sum_is_the_exact_least_score():
    instrument = parse_instrument(at_the_cap())
    scale = instrument.scale("x_a")
    reachable = reachable_scores(instrument, scale)
    # Above 1000 the least possible score is 1000 + the finest step: 50/k for k = 10..50 answered items.
    least = min(Fraction(50, k) * (Fraction(1000 * k, 50).__floor__() + 1) for k in range(10, 51))
    assert reachable.after(Fraction(1000)) == least
    assert Fraction(1000) in reachable and Fraction(50000) in reachable and Fraction(50001) not in reachable


# The fast loader (libyaml's C parser under the same checks) may only ever accept what the
# pure-Python loader accepts, with the same data; anything it refuses is read again by the slow one.
_FRAGMENTS = st.sampled_from([
    "a: 1\n", "b: [1, 2]\n", "c: {x: y}\n", "- item\n", "d: &x 1\n", "e: *x\n", "f: !!int 3\n", "g: 010\n",
    "h: 2024-01-01\n", "a: 2\n", "  nested: 1\n", "k: 'q'\n", 'l: "\\t"\n', "m: .nan\n", "? [1]\n: 2\n", "<<: {a: 1}\n",
    "n: 1:30\n", "yes: 1\n", "o: |\n  text\n", "\t: tab\n", "p: [[[[\n", "%YAML 1.1\n---\n", "q: ~\n", "r: 1e400\n",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_FRAGMENTS, st.text(max_size=12)), max_size=8))
def test_the_fast_loader_accepts_only_what_the_strict_loader_accepts(parts):
    import yaml

    from pipeline import yamlio

    if yamlio._FastStrictLoader is None:
        pytest.skip("PyYAML without libyaml")
    text = "".join(parts)
    if not yamlio.fast_loader_may_read(text):
        return  # never given to the fast loader
    try:
        fast = yaml.load(text, Loader=yamlio._FastStrictLoader)
    except yaml.YAMLError:
        return  # the slow loader reads it again and gives its own message
    except (RecursionError, ValueError, TypeError, OverflowError):
        return
    assert yaml.load(text, Loader=yamlio._StrictLoader) == fast


def test_a_tab_after_a_scalar_is_judged_by_the_strict_loader():
    # libyaml reads "0\t" as 0; PyYAML's scanner refuses the tab. Found by the property test above.
    import yaml

    from pipeline import yamlio

    with pytest.raises(yaml.YAMLError):
        yaml.load("a: 0\t\n", Loader=yamlio._StrictLoader)  # noqa: S506
    with pytest.raises(yaml.YAMLError):
        yamlio._load_strict("a: 0\t\n")
