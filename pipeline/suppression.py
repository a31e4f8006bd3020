"""Small-cell suppression: counts as they may be published in a report.

One threshold ``t`` (``report.suppression_threshold`` in ``study.yaml``, default 10) governs every
published count. The rules follow the CMS cell-size suppression policy (no count of 1 to t − 1
shown, "including values derivable from other reported cells") with its remedies of suppressing,
coarsening and collapsing cells (CMS, 2020; SAGE Encyclopedia of Survey Research Methods, "Cell
suppression"):

* **Primary suppression.** A count from 1 to t − 1 is shown as ``<t``. Zero is shown: it discloses
  nobody.
* **Totals are coarsened, not subtracted from.** Where counts add up (rows read = valid + excluded;
  valid at baseline = matched + baseline only) and a part is not shown exactly, the total is shown
  as the range its parts allow (e.g. ``148–156``), so the hidden part cannot be worked out by
  subtraction. The coarsening climbs through every total the hidden part belongs to.
* **Categories are collapsed.** In a breakdown whose total is shown (e.g. improved / unchanged /
  deteriorated), a category from 1 to t − 1 people is merged with its neighbour and labelled as both.

A threshold of 1 turns suppression off (for a researcher's internal copy).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: The default small-cell threshold: counts of 1 to 9 are shown as "<10".
DEFAULT_THRESHOLD = 10


def suppress_count(n: int, threshold: int = DEFAULT_THRESHOLD) -> str:
    """A count for publication: ``<threshold`` when it is between 1 and threshold − 1.

    >>> suppress_count(4), suppress_count(0), suppress_count(1234)
    ('<10', '0', '1,234')
    """
    return f"<{threshold}" if 0 < n < threshold else f"{n:,}"


@dataclass(frozen=True)
class PublishedCount:
    """A count as published: exact, or known only to lie in [low, high]."""

    value: int
    low: int
    high: int
    threshold: int

    @property
    def exact(self) -> bool:
        return self.low == self.high

    @property
    def primary(self) -> bool:
        """True when the count itself is a small cell (shown as ``<t``)."""
        return 0 < self.value < self.threshold

    def __str__(self) -> str:
        if self.primary:
            return f"<{self.threshold}"
        if self.exact:
            return f"{self.value:,}"
        return f"{self.low:,}\u2013{self.high:,}"


def publish_counts(counts: dict[str, int], totals: list[tuple[str, list[str]]], threshold: int) -> dict[str, PublishedCount]:
    """Counts as they may be published, with primary suppression and coarsened totals.

    ``totals`` lists the additive relations, ``(total, [parts])`` with ``counts[total] ==
    sum(counts[part])``. A small count is hidden (``<t``: known to lie in 1..t − 1); a total with any
    part not shown exactly becomes the range of the sums of its parts' bounds, and that is repeated
    until nothing changes, so no hidden count can be recovered from a total and the other parts. A
    total in several relations (the people allocated to a group = those followed up at each later
    wave + those not) takes the widest range any of them allows, so each of its hidden parts stays hidden.

    >>> shown = publish_counts({"read": 150, "valid": 147, "excluded": 3}, [("read", ["valid", "excluded"])], 10)
    >>> {key: str(value) for key, value in shown.items()}
    {'read': '148–156', 'valid': '147', 'excluded': '<10'}
    >>> twice = publish_counts({"valid": 150, "post": 147, "lost_post": 3, "followup": 145, "lost_followup": 5},
    ...                        [("valid", ["post", "lost_post"]), ("valid", ["followup", "lost_followup"])], 10)
    >>> str(twice["valid"])
    '146–156'
    """
    for total, parts in totals:
        if counts[total] != sum(counts[part] for part in parts):
            raise ValueError(f"{total} = {counts[total]} is not the sum of {parts}")
    shown = {}
    for key, n in counts.items():
        small = 0 < n < threshold
        shown[key] = PublishedCount(n, 1 if small else n, threshold - 1 if small else n, threshold)
    changed = True
    while changed:  # bounds only widen and are bounded by the parts', so this stops
        changed = False
        for total, parts in totals:
            if shown[total].primary or all(shown[part].exact and not shown[part].primary for part in parts):
                continue
            low, high = sum(shown[part].low for part in parts), sum(shown[part].high for part in parts)
            low, high = min(low, shown[total].low), max(high, shown[total].high)  # the widest any relation of the total allows
            if (low, high) != (shown[total].low, shown[total].high):
                shown[total] = PublishedCount(counts[total], low, high, threshold)
                changed = True
    return shown


def collapse_small_categories(categories: list[tuple[str, int]], threshold: int) -> list[tuple[str, int]]:
    """An ordered breakdown with every category of 1 to t − 1 merged into a neighbour.

    The smallest such category is merged with its smaller neighbour (labels joined with "or"),
    and that is repeated until every category is 0 or at least ``threshold``, or one is left.
    Empty categories are dropped.

    >>> collapse_small_categories([("improved", 40), ("unchanged", 67), ("deteriorated", 3)], 10)
    [('improved', 40), ('unchanged or deteriorated', 70)]
    """
    merged = [(label, n) for label, n in categories if n > 0]
    while len(merged) > 1:
        small = [index for index, (_, n) in enumerate(merged) if n < threshold]
        if not small:
            break
        index = min(small, key=lambda i: merged[i][1])
        neighbours = [i for i in (index - 1, index + 1) if 0 <= i < len(merged)]
        other = min(neighbours, key=lambda i: merged[i][1])
        first, second = sorted((index, other))
        label = f"{merged[first][0]} or {merged[second][0]}"
        merged[first:second + 1] = [(label, merged[first][1] + merged[second][1])]
    return merged


# --- results tables as published ------------------------------------------------------------

#: Columns of a results row that describe the variable (and, in a two-group study, the group) or
#: count people, never a score: kept when the row's statistics are withheld (counts are then shown
#: through ``suppress_count``).
DESCRIPTIVE_COLUMNS = (
    "variable", "name", "group", "instrument", "domain", "higher_is", "n_pre", "n_post", "n_pairs", "wave", "from_wave", "to_wave", "contrast",
)  # fmt: skip
#: The outcome a withheld row is published with.
TOO_FEW = "too few to report"
#: Statistics of the intention-to-treat mixed model, which also use participants scored at one wave only.
MIXED_MODEL_COLUMNS = ("lmm_estimate", "lmm_se", "lmm_df", "lmm_t", "lmm_p")


def _blank(frame: pd.DataFrame, rows: pd.Series, columns: list[str]) -> pd.DataFrame:
    """``frame`` with the cells of ``rows`` x ``columns`` missing (NaN in numeric columns, None in text ones)."""
    if not rows.any():
        return frame
    for column in columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])
        frame[column] = frame[column].astype(float if numeric else object)
        frame.loc[rows.to_numpy(), column] = float("nan") if numeric else None
    return frame


def publishable_results(results: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """``results`` (``results.csv``, or ``changes.csv``: one row per contrast) as both reports may show
    it: no statistic of fewer than ``t`` people.

    * A variable with 1 to t − 1 pairs has every statistic withheld (means, SDs, change, tests,
      effect sizes, reliability, reliable change, the mixed model) and outcome ``"too few to
      report"``: with one or two pairs the means and SDs give each person's scores away, and
      every other statistic is a function of the same few scores.
    * The mixed model also uses the participants scored at one wave only (``lmm_n − n_pairs``
      of them). When they are 1 to t − 1, the ``lmm_*`` figures (``MIXED_MODEL_COLUMNS``) are
      withheld: with the pairs' means, SDs and change published, the estimate is a known
      function of those few people's scores and could be solved for them.

    A column ``withheld`` says which rows were blanked. A threshold of 1 withholds nothing.

    >>> table = pd.DataFrame({"variable": ["a", "b"], "n_pairs": [2, 40], "lmm_n": [2, 43], "mean_pre": [3.5, 3.1],
    ...                       "lmm_estimate": [0.5, 0.4], "outcome": ["improved", "improved"]})
    >>> publishable_results(table, 10)[["mean_pre", "lmm_estimate", "outcome", "withheld"]].values.tolist()
    [[nan, nan, 'too few to report', True], [3.1, nan, 'improved', False]]
    """
    shown = results.copy()
    n_pairs = shown["n_pairs"].astype(int)
    small = (n_pairs > 0) & (n_pairs < threshold)
    statistics = [column for column in shown.columns if column not in DESCRIPTIVE_COLUMNS]
    shown = _blank(shown, small, statistics)
    if small.any():  # notes too describe the few scores ("every participant changed by the same amount")
        for column, value in (("outcome", TOO_FEW), ("note", "")):
            if column in shown.columns:
                shown.loc[small.to_numpy(), column] = value
    if "lmm_n" in shown.columns:
        singletons = shown["lmm_n"].fillna(0).astype(int) - n_pairs
        shown = _blank(shown, (singletons > 0) & (singletons < threshold), [c for c in MIXED_MODEL_COLUMNS if c in shown.columns])
    shown["withheld"] = small.to_numpy()
    return shown


def publishable_attrition(attrition: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """``attrition.csv`` as both reports may show it: a comparison whose completers or non-completers
    number 1 to t − 1 has its means, SDs, standardized difference and p withheld (one
    non-completer's baseline score follows from their "group" mean).

    >>> table = pd.DataFrame({"n_completers": [40, 40], "n_noncompleters": [1, 12], "mean_noncompleters": [2.0, 3.0], "std_diff": [0.5, 0.1]})
    >>> publishable_attrition(table, 10)[["mean_noncompleters", "std_diff"]].values.tolist()
    [[nan, nan], [3.0, 0.1]]
    """
    shown = attrition.copy()
    counts = shown[["n_completers", "n_noncompleters"]].fillna(0).astype(int)
    small = ((counts > 0) & (counts < threshold)).any(axis=1)
    statistics = [column for column in shown.columns if column not in (*DESCRIPTIVE_COLUMNS, "n_completers", "n_noncompleters", "note")]
    return _blank(shown, small, statistics)


def publishable_trajectory(trajectory: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """``trajectory.csv`` as both reports may show it: a wave scored for 1 to t − 1 people on a
    variable has its observed mean and SD and the model's mean at that wave withheld (the model's
    mean there is close to a function of those few scores), and ``withheld`` says so.

    >>> table = pd.DataFrame({"variable": ["a", "a"], "wave": ["pre", "post"], "n": [40, 3], "mean": [3.1, 2.0], "lmm_mean": [3.1, 2.2]})
    >>> publishable_trajectory(table, 10)[["mean", "lmm_mean", "withheld"]].values.tolist()
    [[3.1, 3.1, False], [nan, nan, True]]
    """
    shown = trajectory.copy()
    counts = shown["n"].fillna(0).astype(int)
    small = (counts > 0) & (counts < threshold)
    shown = _blank(shown, small, [column for column in shown.columns if column not in (*DESCRIPTIVE_COLUMNS, "n")])
    shown["withheld"] = small.to_numpy()
    return shown


#: The mixed model's figures in trajectory.csv (its mean at each wave).
TRAJECTORY_MODEL_COLUMNS = ("lmm_mean", "lmm_se", "lmm_df", "lmm_ci_low", "lmm_ci_high")


def publishable_waves(results: pd.DataFrame, changes: pd.DataFrame, trajectory: pd.DataFrame, threshold: int) -> dict[str, pd.DataFrame]:
    """``results``, ``changes`` and ``trajectory`` as the reports may show them side by side.

    Each goes through its own rule first (:func:`publishable_results`, :func:`publishable_trajectory`);
    then two rules hold across them, because their figures are linked:

    * **The mixed model, all or nothing per variable.** Its contrasts and wave means are
      differences and sums of one another, and one fit uses every score of every wave. When a
      wave has 1 to t − 1 scores of a variable, or any contrast leaves 1 to t − 1 participants
      outside its pairs (the ``lmm_n`` rule above), every ``lmm_*`` figure of that variable is
      withheld, in all three tables.
    * **A wave's mean beside a paired mean of the same wave.** trajectory.csv's mean and SD at a
      wave are over everyone scored there; a published contrast gives the mean and SD of its
      pairs at that wave. When the two groups differ by 1 to t − 1 people, their scores follow by
      subtraction (at the baseline these are the non-completers :func:`publishable_attrition`
      protects), so the trajectory's mean and SD there are withheld (``withheld`` stays the
      small-wave flag).

    With two waves neither rule withholds more than the tables' own rules (a small wave leaves
    fewer than t pairs). ``changes`` may be empty (the result is then as given).

    >>> results = pd.DataFrame({"variable": ["a"], "n_pairs": [40], "lmm_n": [48], "lmm_estimate": [0.4]})
    >>> changes = pd.DataFrame({"variable": ["a", "a"], "from_wave": ["pre", "pre"], "to_wave": ["post", "fu"],
    ...                         "n_pairs": [40, 5], "lmm_n": [48, 48], "lmm_estimate": [0.4, 0.1], "outcome": ["improved"] * 2})
    >>> trajectory = pd.DataFrame({"variable": ["a"] * 3, "wave": ["pre", "post", "fu"], "n": [52, 43, 5],
    ...                            "mean": [3.0, 3.4, 3.1], "lmm_mean": [3.0, 3.4, 3.1]})
    >>> shown = publishable_waves(results, changes, trajectory, 10)
    >>> shown["results"]["lmm_estimate"].tolist(), shown["trajectory"]["mean"].tolist()
    ([nan], [3.0, nan, nan])
    """
    shown = {
        "results": publishable_results(results, threshold),
        "changes": publishable_results(changes, threshold) if not changes.empty else changes.copy(),
        "trajectory": publishable_trajectory(trajectory, threshold) if not trajectory.empty else trajectory.copy(),
    }
    if trajectory.empty:
        return shown
    counts = trajectory["n"].fillna(0).astype(int)
    model_withheld = set(trajectory.loc[(counts > 0) & (counts < threshold), "variable"])
    for table in (results, changes):
        if "lmm_n" in table.columns and not table.empty:
            outside = table["lmm_n"].fillna(0).astype(int) - table["n_pairs"].astype(int)
            model_withheld |= set(table.loc[(outside > 0) & (outside < threshold), "variable"])
    for name, columns in (("results", MIXED_MODEL_COLUMNS), ("changes", MIXED_MODEL_COLUMNS), ("trajectory", TRAJECTORY_MODEL_COLUMNS)):
        frame = shown[name]
        if not frame.empty:
            shown[name] = _blank(frame, frame["variable"].isin(model_withheld), [c for c in columns if c in frame.columns])
    if changes.empty:
        return shown
    sizes = trajectory.set_index(["variable", "wave"])["n"].fillna(0).astype(int)
    revealing = set()
    published_pairs = changes.loc[~shown["changes"]["withheld"].to_numpy()]
    for _, row in published_pairs.iterrows():
        for wave in (row["from_wave"], row["to_wave"]):
            difference = int(sizes.get((row["variable"], wave), 0)) - int(row["n_pairs"])
            if 0 < difference < threshold:
                revealing.add((row["variable"], wave))
    keys = pd.Series(list(zip(shown["trajectory"]["variable"], shown["trajectory"]["wave"])))
    shown["trajectory"] = _blank(shown["trajectory"], keys.isin(revealing), [c for c in ("mean", "sd") if c in trajectory.columns])
    return shown


# --- two groups --------------------------------------------------------------------------------

#: Columns of a ``comparison.csv`` row that describe the variable or count people: kept when its statistics are withheld.
COMPARISON_DESCRIPTIVE_COLUMNS = (
    *DESCRIPTIVE_COLUMNS, "n_program", "n_comparison", "n_baseline_program", "n_baseline_comparison", "lmm_n",
)  # fmt: skip
#: The baseline balance of a comparison row, over everyone scored at baseline (the same in every wave's row of a variable).
BASELINE_BALANCE_COLUMNS = ("baseline_smd", "baseline_equivalence")
#: The two-group mixed model's interaction in ``comparison.csv``.
COMPARISON_MODEL_COLUMNS = ("lmm_diff", "lmm_se", "lmm_df", "lmm_t", "lmm_p")
#: The groups of a two-group study, in order (pipeline.study.GROUP_ROLES).
ROLES = ("program", "comparison")


def _baseline_columns(role: str) -> list[str]:
    return [f"mean_baseline_{role}", f"sd_baseline_{role}"]


def publishable_comparison(comparison: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """``comparison.csv`` (or a two-group ``results.csv``) as both reports may show it.

    * A row where either group has 1 to t − 1 participants scored at baseline and at that wave
      (``n_program``, ``n_comparison``) has every statistic withheld but the baseline balance
      (over everyone scored at baseline, its own rule below), outcome ``"too few to report"``
      and a ``note`` saying which group was too small: each group's means, SDs and correlation
      describe its few people, and every test is a function of them.
    * A group's baseline mean and SD (``mean_baseline_<group>``, ``sd_baseline_<group>``) are
      withheld, with ``baseline_smd`` and its reading, when 1 to t − 1 people of it were scored at
      baseline, or when they are over 1 to t − 1 more people than a published paired baseline mean
      of that group (``mean_from_<group>`` of any wave's row of the variable): the few people's
      baseline scores would follow by subtraction (the non-completers of
      :func:`publishable_attrition`). Withheld in every row of the variable, where it repeats.
    * The mixed model's interaction (``lmm_*``) is withheld when 1 to t − 1 of its participants
      (``lmm_n``) are outside the row's pairs, as :func:`publishable_results` does.

    A column ``withheld`` says which rows had their statistics withheld. A threshold of 1 withholds nothing.

    >>> table = pd.DataFrame({"variable": ["a", "b"], "n_program": [40, 4], "n_comparison": [38, 41], "n_baseline_program": [52, 6],
    ...     "n_baseline_comparison": [38, 44], "mean_from_program": [3.0, 3.1], "mean_baseline_program": [3.0, 3.2],
    ...     "sd_baseline_program": [1.0, 1.1], "mean_baseline_comparison": [3.1, 3.0], "sd_baseline_comparison": [1.0, 0.9],
    ...     "baseline_smd": [-0.1, 0.2], "baseline_equivalence": ["adjustment needed"] * 2, "ancova_diff": [0.4, 0.9],
    ...     "lmm_n": [84, 50], "lmm_diff": [0.4, 0.8], "outcome": ["program better"] * 2, "note": ["", ""]})
    >>> shown = publishable_comparison(table, 10)
    >>> shown[["ancova_diff", "outcome", "withheld"]].values.tolist()
    [[0.4, 'program better', False], [nan, 'too few to report', True]]
    >>> shown[["mean_baseline_program", "mean_baseline_comparison", "baseline_smd"]].values.tolist()  # b: 6 of the program group at baseline
    [[3.0, 3.1, -0.1], [nan, 3.0, nan]]
    """
    shown = comparison.copy()
    sizes = {role: shown[f"n_{role}"].fillna(0).astype(int) for role in ROLES}
    small = pd.Series(False, index=shown.index)
    notes = pd.Series("", index=shown.index, dtype=object)
    for role in ROLES:
        few = (sizes[role] > 0) & (sizes[role] < threshold)
        notes[few & (notes == "")] = f"fewer than {threshold} of the {role} group scored at both waves: statistics withheld"
        small |= few
    balance = [
        *BASELINE_BALANCE_COLUMNS, *(column for role in ROLES for column in _baseline_columns(role)),
    ]  # fmt: skip
    statistics = [column for column in shown.columns if column not in (*COMPARISON_DESCRIPTIVE_COLUMNS, *balance, "note")]
    shown = _blank(shown, small, statistics)
    if small.any():
        shown.loc[small.to_numpy(), "outcome"] = TOO_FEW
        shown.loc[small.to_numpy(), "note"] = notes[small].to_numpy()
    for role in ROLES:
        at_baseline = shown[f"n_baseline_{role}"].fillna(0).astype(int)
        outside = at_baseline - sizes[role]
        revealing = ((at_baseline > 0) & (at_baseline < threshold)) | ((outside > 0) & (outside < threshold) & ~small)
        variables = set(shown.loc[revealing, "variable"])
        rows = shown["variable"].isin(variables)
        shown = _blank(shown, rows, [c for c in (*_baseline_columns(role), *BASELINE_BALANCE_COLUMNS) if c in shown.columns])
    if "lmm_n" in shown.columns:
        pairs = sizes["program"] + sizes["comparison"]
        singletons = shown["lmm_n"].fillna(0).astype(int) - pairs
        shown = _blank(shown, (singletons > 0) & (singletons < threshold), [c for c in COMPARISON_MODEL_COLUMNS if c in shown.columns])
    shown["withheld"] = small.to_numpy()
    return shown


def publishable_groups(
    comparison: pd.DataFrame, group_results: pd.DataFrame, changes: pd.DataFrame, trajectory: pd.DataFrame, threshold: int
) -> dict[str, pd.DataFrame]:
    """A two-group study's tables as the reports may show them side by side: ``comparison``
    (:func:`publishable_comparison`) and each group's own ``group_results``, ``changes`` and
    ``trajectory`` (their ``group`` column), each group through :func:`publishable_waves`.

    The tables share figures, so three rules hold across them:

    * **Each group's own outsiders.** Within a group, a contrast's mixed-model figures are withheld
      (as :func:`publishable_results` withholds them) when 1 to t − 1 of that group's people were
      scored at one of its two waves only (the trajectory's n at both waves less twice the pairs):
      the two-group model's ``lmm_n`` counts both groups, so it cannot show them.
    * **One model, all or nothing per variable.** One fit per variable gives the interaction of
      ``comparison`` and every group's model contrasts and means; when any of them is withheld,
      all of that variable's are, in every table.
    * **The baseline mean of a group.** ``comparison``'s ``mean_baseline_<group>`` is the group's
      observed baseline mean in ``trajectory``: when either table withholds it, both do (with the
      baseline ``baseline_smd`` and its reading).

    Returns ``comparison``, ``group_results``, ``changes`` and ``trajectory`` (the last three with
    their ``group`` column and ``withheld`` flags as :func:`publishable_waves` sets them).
    """
    shown_comparison = publishable_comparison(comparison, threshold)
    published: dict[str, pd.DataFrame] = {}
    parts: dict[str, list[pd.DataFrame]] = {"group_results": [], "changes": [], "trajectory": []}
    model_withheld = set()
    if not comparison.empty:  # the interaction's own rule (publishable_comparison)
        singletons = comparison["lmm_n"].fillna(0).astype(int) - comparison["n_program"].fillna(0).astype(int) - comparison["n_comparison"].fillna(0).astype(int)
        model_withheld |= set(comparison.loc[(singletons > 0) & (singletons < threshold), "variable"])
    for role in ROLES:
        own = {
            name: table.loc[table["group"] == role] if "group" in table.columns else table.iloc[:0]
            for name, table in (("group_results", group_results), ("changes", changes), ("trajectory", trajectory))
        }
        shown = publishable_waves(own["group_results"], own["changes"], own["trajectory"], threshold)
        for name in parts:
            parts[name].append(shown["results" if name == "group_results" else name])
        if own["trajectory"].empty:
            continue
        sizes = own["trajectory"].set_index(["variable", "wave"])["n"].fillna(0).astype(int)
        model_withheld |= {variable for (variable, _), n in sizes.items() if 0 < n < threshold}
        for table in (own["group_results"], own["changes"]):
            if "lmm_n" in table.columns and not table.empty:
                outside = table["lmm_n"].fillna(0).astype(int) - table["n_pairs"].astype(int)
                model_withheld |= set(table.loc[(outside > 0) & (outside < threshold), "variable"])
        for _, row in own["changes"].iterrows():
            scored = int(sizes.get((row["variable"], row["from_wave"]), 0)) + int(sizes.get((row["variable"], row["to_wave"]), 0))
            if 0 < scored - 2 * int(row["n_pairs"]) < threshold:
                model_withheld.add(row["variable"])
    for name, frames in parts.items():
        frame = pd.concat(frames).sort_index(kind="stable") if frames else pd.DataFrame()
        columns = TRAJECTORY_MODEL_COLUMNS if name == "trajectory" else MIXED_MODEL_COLUMNS
        published[name] = _blank(frame, frame["variable"].isin(model_withheld), [c for c in columns if c in frame.columns]) if not frame.empty else frame
    shown_comparison = _blank(shown_comparison, shown_comparison["variable"].isin(model_withheld), [c for c in COMPARISON_MODEL_COLUMNS if c in shown_comparison.columns])
    shown_trajectory = published["trajectory"]
    if not shown_trajectory.empty and not shown_comparison.empty:
        first_wave = trajectory.groupby(["variable", "group"], sort=False)["wave"].first()  # each variable's first wave: the baseline
        at_baseline = pd.Series(
            [first_wave.get((variable, group)) == wave for variable, group, wave in zip(shown_trajectory["variable"], shown_trajectory["group"], shown_trajectory["wave"])],
            index=shown_trajectory.index,
        )
        for role in ROLES:
            rows = at_baseline & (shown_trajectory["group"] == role)
            hidden = set(shown_trajectory.loc[rows & shown_trajectory["mean"].isna() & (shown_trajectory["n"].fillna(0) > 0), "variable"])
            hidden |= set(shown_comparison.loc[shown_comparison[f"mean_baseline_{role}"].isna() & (shown_comparison[f"n_baseline_{role}"].fillna(0) > 0), "variable"])
            shown_comparison = _blank(shown_comparison, shown_comparison["variable"].isin(hidden), [*_baseline_columns(role), *BASELINE_BALANCE_COLUMNS])
            shown_trajectory = _blank(shown_trajectory, rows & shown_trajectory["variable"].isin(hidden), ["mean", "sd"])
        published["trajectory"] = shown_trajectory
    return {"comparison": shown_comparison, **published}


def publishable_retention(retention: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """``retention.csv`` as both reports may show it: counts as text, small ones hidden.

    Per group, the allocated are, at every later wave, the followed-up plus those lost; a count
    of 1 to t − 1 (followed up or lost) is shown as ``<t`` and the allocated total coarsened to the
    range its parts allow, over every wave at once (:func:`publish_counts`, as the flow diagram
    counts them, so the two agree and cannot be played against each other). A group's attrition
    percentage at a wave is withheld when any of its counts there is not shown exactly (it would
    give the hidden count back), and the overall and differential attrition and the attrition
    level when either group's is. ``withheld`` says which rows lost a percentage.

    >>> table = pd.DataFrame({"wave": ["post"], "allocated_program": [40], "followed_program": [36],
    ...     "allocated_comparison": [40], "followed_comparison": [20], "attrition_program_pct": [10.0],
    ...     "attrition_comparison_pct": [50.0], "overall_attrition_pct": [30.0], "differential_attrition_pct": [40.0],
    ...     "boundary": ["cautious"], "attrition_level": ["high"], "note": [""]})
    >>> publishable_retention(table, 10)[["allocated_program", "followed_program", "attrition_program_pct", "attrition_comparison_pct", "attrition_level"]].values.tolist()
    [['37–45', '36', nan, 50.0, None]]
    """
    shown = retention.copy()
    if retention.empty:
        shown["withheld"] = pd.Series(dtype=bool)
        return shown
    counts, totals = {}, []
    for role in ROLES:
        counts[f"allocated_{role}"] = int(retention[f"allocated_{role}"].iloc[0])
        for index, row in retention.iterrows():
            followed = int(row[f"followed_{role}"])
            counts |= {f"followed_{index}_{role}": followed, f"lost_{index}_{role}": counts[f"allocated_{role}"] - followed}
            totals.append((f"allocated_{role}", [f"followed_{index}_{role}", f"lost_{index}_{role}"]))
    published = publish_counts(counts, totals, threshold)
    withheld = pd.Series(False, index=shown.index)
    for role in ROLES:
        allocated = published[f"allocated_{role}"]
        shown[f"allocated_{role}"] = pd.Series(str(allocated), index=shown.index, dtype=object)
        shown[f"followed_{role}"] = pd.Series([str(published[f"followed_{index}_{role}"]) for index in shown.index], index=shown.index, dtype=object)
        for index in shown.index:
            parts = (allocated, published[f"followed_{index}_{role}"], published[f"lost_{index}_{role}"])
            if not all(count.exact and not count.primary for count in parts):
                shown.loc[index, f"attrition_{role}_pct"] = float("nan")
                withheld[index] = True
    shown = _blank(shown, withheld, ["overall_attrition_pct", "differential_attrition_pct", "attrition_level"])
    shown["withheld"] = withheld.to_numpy()
    return shown
