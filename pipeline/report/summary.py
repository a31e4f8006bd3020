"""The summary's headline: how many variables improved, worsened or changed, and each of them in
words; in a study with a comparison group, how many the program group did better on than the
comparison group (:func:`comparison_headline`)."""

from __future__ import annotations

import math

import pandas as pd
from markupsafe import Markup

from ..analyze import classify_outcome
from ..between_groups import DISAGREE, classify_comparison
from ..suppression import TOO_FEW
from .words import change_in_words, difference_in_words, effect_size_in_words, format_number, label_in_sentence


def improved_before_correction(results: pd.DataFrame, alpha: float) -> int:
    """How many variables ``classify_outcome`` calls improved when given the unadjusted p."""
    outcomes = map(classify_outcome, results["mean_diff"], results["p"], results["higher_is"], [alpha] * len(results))
    return sum(outcome == "improved" for outcome in outcomes)


def headline(results: pd.DataFrame, correction_name: str, ranges: dict[str, tuple[float, float]], alpha: float = 0.05) -> dict:
    """Counts for the headline sentence and the variables that improved, worsened or changed, in words."""

    def named(outcome: str) -> list[dict]:
        rows = results.loc[results["outcome"] == outcome]
        return [
            {
                "name": row["name"],
                "instrument": row["instrument"],
                "change": change_in_words(row["mean_diff"], row["higher_is"], *ranges[row["variable"]]),
                "d_z": format_number(row["d_z"]),
                "size": effect_size_in_words(row["d_z"]),
            }
            for _, row in rows.iterrows()
        ]

    improved, worsened, changed = named("improved"), named("worsened"), named("changed")
    withheld = int((results["outcome"] == TOO_FEW).sum())
    reported = f"{len(results)} variables" if not withheld else f"the {len(results) - withheld} variables with enough pairs to report"
    return {
        "total": len(results),
        "withheld": withheld,
        "improved": improved,
        "worsened": worsened,
        "changed": changed,
        "before_correction": improved_before_correction(results, alpha),
        "sentence": f"Significant improvement in {len(improved)} of {reported}",
        "correction_name": correction_name,
    }


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def wave_sentences(results: pd.DataFrame, changes: pd.DataFrame, study, alpha: float, margin_dz: float | None = None) -> list[str]:
    """What happened at each later wave but the primary endpoint, in plain words (three or more waves).

    For each such wave: how many of the variables ``improved`` at the primary endpoint
    (``results``) are also ``improved`` in the change from baseline to that wave (``changes``;
    "still" after the primary endpoint, "already" before it), new improvements, significant
    worsening since the primary endpoint (maintenance rows), and, when ``margin_dz`` is set, how
    many maintenance rows the equivalence test (TOST) shows to stay within the margin. ``results``
    and ``changes`` as published: a withheld row counts as "too few to report", never as a result.
    Empty for two waves.
    """
    if len(study.wave_names) < 3 or changes.empty:
        return []
    baseline, primary = study.baseline, study.primary
    start = label_in_sentence(study.wave_label(baseline))
    end = label_in_sentence(study.wave_label(primary))
    improved = results.loc[results["outcome"] == "improved", "variable"].tolist()
    names = dict(zip(results["variable"], results["name"]))
    sentences = []
    for wave in study.later_waves:
        if wave == primary:
            continue
        at = label_in_sentence(study.wave_label(wave))
        rows = changes.loc[(changes["from_wave"] == baseline) & (changes["to_wave"] == wave)].set_index("variable")
        reported = rows.loc[rows["outcome"] != TOO_FEW]
        if reported.empty:
            sentences.append(f"Too few people answered at {at} to report any change to then.")
            continue
        outcome = reported["outcome"]
        held = [v for v in improved if outcome.get(v) == "improved"]
        unknown = [v for v in improved if v not in outcome.index]
        later = wave in study.wave_names[study.wave_names.index(primary) + 1 :]
        if improved:
            sentence = (
                f"At {at}, {len(held)} of the {len(improved)} improvements were {'still' if later else 'already'} "
                f"significant against {start}"
            )
            if unknown:
                sentence += f" ({len(unknown)} with too few answers at {at} to report)"
            new = [v for v in outcome.index[outcome == "improved"] if v not in improved]
            if new:
                sentence += f", and {len(new)} more variable{'s' if len(new) > 1 else ''} had improved significantly by then"
            sentences.append(sentence + ".")
        else:
            count = int((outcome == "improved").sum())
            sentences.append(f"At {at}, {count} of the {len(reported)} variables with enough answers were significantly improved against {start}.")
        worse = reported.index[outcome == "worsened"].tolist()
        if worse:
            sentences.append(f"At {at}, {_names([names[v] for v in worse])} {'was' if len(worse) == 1 else 'were'} significantly worse than at {start}.")
        if later:
            since = changes.loc[(changes["from_wave"] == primary) & (changes["to_wave"] == wave)]
            since = since.loc[since["outcome"] != TOO_FEW]
            fell = since.loc[since["outcome"] == "worsened", "name"].tolist()
            if fell:
                sentences.append(
                    f"Between {end} and {at}, {len(fell)} variable{'s' if len(fell) > 1 else ''} lost ground significantly: {_names(fell)}."
                )
            if margin_dz is not None:
                tested = since.dropna(subset=["p_tost"])
                if not tested.empty:
                    within = int((tested["p_tost"] < alpha).sum())
                    sentences.append(
                        Markup(
                            "An equivalence test (two one-sided tests, margin d<sub>z</sub> \u00b1{}) showed {} of the {} variables "
                            "to stay within the margin between {} and {} (p &lt; {})."
                        ).format(format_number(margin_dz), within, len(tested), end, at, alpha)
                    )
    return sentences


# --- two groups -----------------------------------------------------------------------------

def better_before_correction(results: pd.DataFrame, alpha: float) -> int:
    """How many variables the program group did better on by the ANCOVA's unadjusted p (two-group ``results``)."""
    outcomes = map(classify_comparison, results["ancova_diff"], results["ancova_p"], results["higher_is"], [alpha] * len(results))
    return sum(outcome == "program better" for outcome in outcomes)


def comparison_headline(results: pd.DataFrame, names: dict, correction_name: str, ranges: dict, design, alpha: float = 0.05) -> dict:
    """The headline of a two-group study: the causal question answered in plain words.

    Counts read the published ``results`` (the between-group rows at the primary endpoint) by
    their ``outcome`` (:func:`pipeline.between_groups.classify_comparisons`): with a randomised
    design the ANCOVA's, adjusted for the baseline score and corrected across the variables
    (Vickers & Altman, 2001); without randomisation a variable counts only where the ANCOVA and
    the difference in differences agree, and those where they disagree are listed apart. Each
    variable named gets its adjusted difference in the scale's units and d_ppc2 (Morris, 2008) in
    Cohen's words. Nothing here reads either group's own change: a change significant in one
    group and not in the other is no evidence of a difference between them (Bland & Altman, 2011).
    """

    def named(outcome: str) -> list[dict]:
        rows = results.loc[results["outcome"] == outcome]
        return [
            {
                "name": row["name"],
                "instrument": row["instrument"],
                "difference": difference_in_words(row["ancova_diff"], row["higher_is"], *ranges[row["variable"]]),
                "ci": f"{format_number(row['ancova_ci_low'])} to {format_number(row['ancova_ci_high'])}",
                "d": format_number(row["d_ppc2"]),
                "size": effect_size_in_words(row["d_ppc2"]) if not math.isnan(row["d_ppc2"]) else "undefined",
            }
            for _, row in rows.iterrows()
        ]

    better, worse, different, disagree = (named(o) for o in ("program better", "program worse", "different", DISAGREE))
    withheld = int((results["outcome"] == TOO_FEW).sum())
    reported = f"{len(results)} variables" if not withheld else f"the {len(results) - withheld} variables with enough participants to report"
    sentence = (
        f"Compared with {names['comparison_in_sentence']}, participants of {names['program_in_sentence']} "
        f"improved more on {len(better)} of {reported}"
    )
    return {
        "total": len(results),
        "withheld": withheld,
        "better": better,
        "worse": worse,
        "changed": different,
        "disagree": disagree,
        "before_correction": better_before_correction(results, alpha),
        "sentence": sentence,
        "agreement": "" if design.randomised else ", by both analyses",
        "correction_name": correction_name,
    }


def comparison_wave_sentences(results: pd.DataFrame, comparison: pd.DataFrame, study, names: dict) -> list[str]:
    """What the comparison showed at each later wave but the primary endpoint (three or more waves):
    how many of the variables the program group did better on at the primary endpoint it still
    (or, before it, already) did better on at that wave, new ones, and those it did worse on,
    each against the comparison group at that same wave. Both tables as published; empty for two waves."""
    if len(study.wave_names) < 3 or comparison.empty:
        return []
    primary = study.primary
    end = label_in_sentence(study.wave_label(primary))
    better = results.loc[results["outcome"] == "program better", "variable"].tolist()
    labels = dict(zip(results["variable"], results["name"]))
    sentences = []
    for wave in study.later_waves:
        if wave == primary:
            continue
        at = label_in_sentence(study.wave_label(wave))
        rows = comparison.loc[comparison["wave"] == wave].set_index("variable")
        reported = rows.loc[rows["outcome"] != TOO_FEW]
        if reported.empty:
            sentences.append(f"Too few people answered at {at} to compare the groups then.")
            continue
        outcome = reported["outcome"]
        later = wave in study.wave_names[study.wave_names.index(primary) + 1 :]
        if better:
            held = [v for v in better if outcome.get(v) == "program better"]
            sentence = (
                f"At {at}, participants of {names['program_in_sentence']} were {'still' if later else 'already'} doing better than "
                f"{names['comparison_in_sentence']} on {len(held)} of the {len(better)} variables they did better on at {end}"
            )
            new = [v for v in outcome.index[outcome == "program better"] if v not in better]
            if new:
                sentence += f", and on {len(new)} more"
            sentences.append(sentence + ".")
        else:
            count = int((outcome == "program better").sum())
            sentences.append(f"At {at}, participants of {names['program_in_sentence']} did better than {names['comparison_in_sentence']} on {count} of the {len(reported)} variables with enough answers.")
        worse = reported.index[outcome == "program worse"].tolist()
        if worse:
            sentences.append(f"At {at}, they did worse on {_names([labels.get(v, v) for v in worse])}.")
    return sentences
