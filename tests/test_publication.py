"""No score of a group under the suppression threshold can be worked out from either report.

The rule (:func:`pipeline.suppression.publishable_results`, :func:`publishable_attrition`): a
variable with 1 to t - 1 pairs shows no statistic, an attrition comparison with 1 to t - 1 people on
either side shows none, and the mixed model is withheld when 1 to t - 1 people were scored at one
wave only. The property tests check the consequence directly: change the scores of such a small
group, and nothing either report shows changes (sample reliability aside, which needs item-level
data to invert and is named in the README as the one exception).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.report import report_context, technical_context
from pipeline.run import manifest, run_study
from pipeline.study import load_study
from pipeline.suppression import DESCRIPTIVE_COLUMNS, MIXED_MODEL_COLUMNS, TOO_FEW, publishable_attrition, publishable_results, publishable_waves

from .conftest import MINIMAL

THRESHOLD = 10
ITEMS = ["tiny_1", "tiny_2", "tiny_3"]
answer = st.integers(1, 5)
person = st.tuples(answer, answer, answer)


@st.composite
def results_tables(draw):
    n = draw(st.integers(1, 8))
    pairs = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    singletons = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    numbers = draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=n, max_size=n))
    return pd.DataFrame(
        {"variable": [f"v{i}" for i in range(n)], "name": "V", "instrument": "I", "domain": "d", "higher_is": "better",
         "n_pre": pairs, "n_post": pairs, "n_pairs": pairs, "mean_pre": numbers, "sd_pre": numbers, "d_z": numbers,
         "rci_basis": "sample SD, sample alpha", "lmm_estimate": numbers, "lmm_se": numbers, "lmm_p": numbers,
         "lmm_n": [p + s for p, s in zip(pairs, singletons)], "outcome": "improved", "note": ""}  # fmt: skip
    )


@given(results_tables(), st.integers(1, 15).filter(lambda t: t != 2))
def test_a_row_under_the_threshold_keeps_only_what_describes_it(table, threshold):
    shown = publishable_results(table, threshold)
    for (_, row), (_, published) in zip(table.iterrows(), shown.iterrows()):
        small = 0 < row["n_pairs"] < threshold
        assert published["withheld"] == small
        for column in table.columns:
            if column in DESCRIPTIVE_COLUMNS:
                assert published[column] == row[column]
            elif column in ("outcome", "note"):
                assert published[column] == ((TOO_FEW if column == "outcome" else "") if small else row[column])
            elif small or (column in MIXED_MODEL_COLUMNS and 0 < row["lmm_n"] - row["n_pairs"] < threshold):
                assert pd.isna(published[column]), column
            else:
                assert published[column] == row[column], column


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=1, max_size=6), st.integers(3, 15))
def test_an_attrition_comparison_with_a_small_side_is_withheld(sizes, threshold):
    table = pd.DataFrame({"variable": "v", "name": "V", "instrument": "I", "n_completers": [a for a, _ in sizes],
                          "n_noncompleters": [b for _, b in sizes], "mean_noncompleters": 2.5, "std_diff": 0.3, "p": 0.2, "note": ""})  # fmt: skip
    shown = publishable_attrition(table, threshold)
    small = [(0 < a < threshold) or (0 < b < threshold) for a, b in sizes]
    assert shown["std_diff"].isna().tolist() == small
    assert shown["mean_noncompleters"].isna().tolist() == small
    assert shown["n_noncompleters"].tolist() == table["n_noncompleters"].tolist()  # counts are kept (published as "<t")


# --- perturbation: change a small group's scores, and no report changes ---------------------------

def write_study(folder, completers: list[tuple], baseline_only: list[tuple], published_reliability: bool) -> None:
    """A copy of the minimal study whose exports hold the given answers (follow-up: each completer's answers, shifted)."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(MINIMAL, folder)
    instrument = folder / "instruments" / "tiny.yaml"
    if published_reliability:  # reliable change then uses published figures, not this sample's alpha
        data = yaml.safe_load(instrument.read_text())
        data["reliability"] = [{"scale": "tiny_score", "statistic": "alpha", "value": 0.8, "source": "test", "evidence": "verified"}]
        data["norms"] = [{"scale": "tiny_score", "mean": 3.0, "sd": 0.8, "population": "test", "source": "test", "evidence": "verified"}]
        instrument.write_text(yaml.safe_dump(data, sort_keys=False))
    pre = [(f"c{i}", *answers) for i, answers in enumerate(completers)] + [(f"b{i}", *answers) for i, answers in enumerate(baseline_only)]
    post = [(f"c{i}", *(min(5, a + (i % 2)) for a in answers)) for i, answers in enumerate(completers)]
    pd.DataFrame(pre, columns=["participant_id", *ITEMS]).to_csv(folder / "pre.csv", index=False)
    pd.DataFrame(post, columns=["participant_id", *ITEMS]).to_csv(folder / "post.csv", index=False)


def published(folder, leave_out_reliability: bool = False) -> str:
    """Everything both reports show, as one text (run id, input hashes and the manifest left out: they change with any byte)."""
    run = run_study(load_study(folder))
    provenance = manifest(run)
    shown = []
    for context in (report_context(run, provenance), technical_context(run, provenance)):
        context = {key: value for key, value in context.items() if key not in ("run_id", "inputs", "manifest", "generated")}
        if leave_out_reliability:
            context["limitations"] = [item for item in context.get("limitations", []) if item["title"] != "Measurement"]
            for table in context.get("tables", []):
                if table["title"] == "Reliability in this sample":
                    table["rows"] = []
        shown.append(json.dumps(context, default=str, sort_keys=True))
    return "\n".join(shown)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, THRESHOLD - 1).flatmap(lambda k: st.tuples(st.lists(person, min_size=k, max_size=k), st.lists(person, min_size=k, max_size=k))))
def test_the_scores_of_fewer_pairs_than_the_threshold_change_nothing_published(tmp_path_factory, groups):
    first, second = groups
    folder = tmp_path_factory.mktemp("few")
    write_study(folder / "a", first, [], published_reliability=False)
    write_study(folder / "b", second, [], published_reliability=False)
    assert published(folder / "a") == published(folder / "b")


COMPLETERS = [((i % 5) + 1, ((i * 3) % 5) + 1, ((i * 2) % 5) + 1) for i in range(14)]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, THRESHOLD - 1).flatmap(lambda k: st.tuples(st.lists(person, min_size=k, max_size=k), st.lists(person, min_size=k, max_size=k))))
def test_the_baseline_scores_of_a_few_non_completers_change_nothing_published(tmp_path_factory, groups):
    first, second = groups
    folder = tmp_path_factory.mktemp("attrition")
    write_study(folder / "a", COMPLETERS, first, published_reliability=True)
    write_study(folder / "b", COMPLETERS, second, published_reliability=True)
    assert published(folder / "a", leave_out_reliability=True) == published(folder / "b", leave_out_reliability=True)


def test_the_perturbation_test_can_fail_when_the_group_is_large_enough(tmp_path):
    """The same comparison with enough pairs does see the scores: the property above is not vacuous."""
    many = [((i % 5) + 1, 3, 3) for i in range(THRESHOLD)]
    write_study(tmp_path / "a", many, [], published_reliability=False)
    write_study(tmp_path / "b", [(min(5, a + 1), b, c) for a, b, c in many], [], published_reliability=False)
    assert published(tmp_path / "a") != published(tmp_path / "b")
    assert np.isfinite(run_study(load_study(tmp_path / "a")).results["mean_pre"]).all()


# --- three waves: a small later wave, and a few non-completers beside the trajectory -------------

def add_followup(folder, answers: list[tuple], margin: float | None = None) -> None:
    """A third wave for a study of :func:`write_study`: ``answers[i]`` are completer c<i>'s follow-up answers."""
    rows = [(f"c{i}", *row) for i, row in enumerate(answers)]
    pd.DataFrame(rows, columns=["participant_id", *ITEMS]).to_csv(folder / "followup.csv", index=False)
    path = folder / "study.yaml"
    text = path.read_text().replace("  post: post.csv\n", "  post: post.csv\n  followup: {file: followup.csv, label: 6 months after}\n")
    if margin is not None:
        text += f"analysis: {{maintenance_margin_dz: {margin}}}\n"
    path.write_text(text)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, THRESHOLD - 1).flatmap(lambda k: st.tuples(st.lists(person, min_size=k, max_size=k), st.lists(person, min_size=k, max_size=k))))
def test_the_scores_of_a_wave_answered_by_fewer_than_the_threshold_change_nothing_published(tmp_path_factory, groups):
    """Everything both reports show of a three-wave study (changes, trajectory, charts, summary, the
    mixed model of every contrast) is the same whatever the few follow-up answers are."""
    first, second = groups
    folder = tmp_path_factory.mktemp("small-wave")
    for name, answers in (("a", first), ("b", second)):
        write_study(folder / name, COMPLETERS, [], published_reliability=True)
        add_followup(folder / name, answers, margin=0.5)
    shown = published(folder / "a")
    assert shown == published(folder / "b")
    assert "6 months after" in shown and "Trajectory" in shown  # the three-wave sections are there, and were compared


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, THRESHOLD - 1).flatmap(lambda k: st.tuples(st.lists(person, min_size=k, max_size=k), st.lists(person, min_size=k, max_size=k))))
def test_a_few_non_completers_stay_hidden_beside_the_trajectory(tmp_path_factory, groups):
    """The trajectory's baseline mean is over everyone scored then: beside the pairs' mean it would
    give the few non-completers' scores away, so it is withheld (and so is the mixed model)."""
    first, second = groups
    folder = tmp_path_factory.mktemp("three-wave-attrition")
    for name, baseline_only in (("a", first), ("b", second)):
        write_study(folder / name, COMPLETERS, baseline_only, published_reliability=True)
        add_followup(folder / name, COMPLETERS)
    assert published(folder / "a", leave_out_reliability=True) == published(folder / "b", leave_out_reliability=True)


def test_a_large_enough_later_wave_is_published(tmp_path):
    """The small-wave property is not vacuous: with every completer at follow-up, their answers there show."""
    for name, shift in (("a", 0), ("b", 1)):
        write_study(tmp_path / name, COMPLETERS, [], published_reliability=True)
        add_followup(tmp_path / name, [tuple(min(5, a + shift) for a in answers) for answers in COMPLETERS])
    assert published(tmp_path / "a") != published(tmp_path / "b")
    run = run_study(load_study(tmp_path / "a"))
    shown = publishable_waves(run.results, run.changes, run.trajectory, THRESHOLD)
    assert shown["trajectory"]["lmm_mean"].notna().all() and not shown["changes"]["withheld"].any()
