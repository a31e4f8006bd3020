"""Small-cell suppression: no count of 1 to t - 1 is shown or can be worked out from what is shown."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.suppression import collapse_small_categories, publish_counts, suppress_count

FLOW_TOTALS = [
    ("excluded_pre", ["excluded_pre_duplicate", "excluded_pre_empty"]),
    ("rows_pre", ["valid_pre", "excluded_pre"]),
    ("valid_pre", ["matched", "pre_only"]),
    ("valid_post", ["matched", "post_only"]),
]


def flow_counts(matched: int, pre_only: int, post_only: int, duplicate: int, empty: int) -> dict[str, int]:
    counts = {
        "matched": matched, "pre_only": pre_only, "post_only": post_only,
        "excluded_pre_duplicate": duplicate, "excluded_pre_empty": empty,
    }  # fmt: skip
    counts["valid_pre"] = matched + pre_only
    counts["valid_post"] = matched + post_only
    counts["excluded_pre"] = duplicate + empty
    counts["rows_pre"] = counts["valid_pre"] + counts["excluded_pre"]
    return counts


@pytest.mark.parametrize(("n", "threshold", "shown"), [(0, 10, "0"), (1, 10, "<10"), (9, 10, "<10"), (10, 10, "10"), (4, 5, "<5"), (4, 1, "4")])
def test_a_small_count_is_shown_as_below_the_threshold(n, threshold, shown):
    assert suppress_count(n, threshold) == shown


def test_a_total_that_would_reveal_a_small_part_becomes_a_range():
    shown = publish_counts(flow_counts(112, 5, 0, 3, 0), FLOW_TOTALS, 10)
    assert str(shown["pre_only"]) == "<10" and str(shown["matched"]) == "112"
    assert str(shown["valid_pre"]) == "113\u2013121"  # 112 + (1..9): the 5 cannot be recovered
    assert str(shown["excluded_pre"]) == "<10"
    assert str(shown["rows_pre"]) == "114\u2013130"  # both hidden parts widen the total
    assert str(shown["valid_post"]) == "112" and str(shown["post_only"]) == "0"


def test_threshold_one_shows_everything_exactly():
    counts = flow_counts(112, 5, 1, 3, 2)
    shown = publish_counts(counts, FLOW_TOTALS, 1)
    assert {key: str(value) for key, value in shown.items()} == {key: f"{value:,}" for key, value in counts.items()}


def test_totals_that_do_not_add_up_are_refused():
    with pytest.raises(ValueError, match="not the sum"):
        publish_counts({"total": 10, "a": 4, "b": 5}, [("total", ["a", "b"])], 10)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 300), st.integers(0, 40), st.integers(0, 40), st.integers(0, 15), st.integers(0, 15),
    st.just(1) | st.integers(3, 20),  # 2 is refused in study.yaml: "<2" could only mean 1
)
def test_no_hidden_count_can_be_recovered_from_the_published_flow(matched, pre_only, post_only, duplicate, empty, threshold):
    counts = flow_counts(matched, pre_only, post_only, duplicate, empty)
    shown = publish_counts(counts, FLOW_TOTALS, threshold)
    for key, value in shown.items():
        assert value.low <= counts[key] <= value.high  # what is published is true
        if 0 < counts[key] < threshold:
            assert str(value) == f"<{threshold}"
    for total, parts in FLOW_TOTALS:
        if shown[total].exact and not shown[total].primary:
            # An exact total with a hidden part would give that part away by subtraction.
            assert all(shown[part].exact and not shown[part].primary for part in parts)


def test_small_categories_are_merged_with_a_neighbour():
    assert collapse_small_categories([("improved", 40), ("unchanged", 67), ("deteriorated", 3)], 10) == [
        ("improved", 40),
        ("unchanged or deteriorated", 70),
    ]
    assert collapse_small_categories([("improved", 5), ("unchanged", 100), ("deteriorated", 0)], 10) == [
        ("improved or unchanged", 105)
    ]
    assert collapse_small_categories([("improved", 3), ("unchanged", 4)], 10) == [("improved or unchanged", 7)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=5), st.integers(1, 20))
def test_collapsed_categories_keep_the_total_and_hide_every_small_one(sizes, threshold):
    categories = [(f"c{index}", n) for index, n in enumerate(sizes)]
    merged = collapse_small_categories(categories, threshold)
    assert sum(n for _, n in merged) == sum(sizes)
    if len(merged) > 1:
        assert all(n >= threshold for _, n in merged)
    labels = " or ".join(label for label, _ in merged).split(" or ") if merged else []
    assert labels == [label for label, n in categories if n > 0]  # order kept, nothing invented
