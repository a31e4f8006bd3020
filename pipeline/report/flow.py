"""The participant flow ("Who took part"): the boxes of the CONSORT-style diagram, with small counts
suppressed; one column (:func:`participant_flow`), or one per group in a study with a comparison
group (:func:`group_participant_flow`)."""

from __future__ import annotations

import pandas as pd

from ..charts import consort_diagram_svg, flow_diagram_svg, svg_data_uri
from ..suppression import publish_counts, suppress_count
from ..validate import EXCLUSION_REASONS
from .words import label_in_sentence

#: Exclusion reasons (pipeline.validate.EXCLUSION_REASONS) in a funder's words.
REASON_WORDS = {
    "preview": "previews and tests",
    "spam": "flagged as spam",
    "rejected": "rejected by a reviewer",
    "unfinished": "not finished",
    "no_consent": "no consent",
    "empty": "no usable answers",
    "missing_id": "no participant id",
    "invalid_id": "unreadable participant id",
    "unknown_group": "no group recorded, or one the study does not name",
    "duplicate": "repeat answers of one person",
}


def matched_key(study, wave: str) -> str:
    """The flow count of participants valid at the baseline and at ``wave`` (``matched`` for the primary endpoint)."""
    return "matched" if wave == study.primary else f"matched_{wave}"


def lost_key(study, wave: str) -> str:
    """The flow count of participants valid at the baseline but not at ``wave``: with two waves
    ``<baseline>_only`` (the run's own count), otherwise ``lost_<wave>`` (valid at baseline − matched)."""
    return f"{study.baseline}_only" if len(study.wave_names) == 2 else f"lost_{wave}"


def analysed_range(n_pairs: pd.Series, threshold: int) -> str:
    """The published pair counts of a contrast over the variables, as one count or a range ("89–112")."""
    n_pairs = n_pairs.astype(int)
    low, high = suppress_count(int(n_pairs.min()), threshold), suppress_count(int(n_pairs.max()), threshold)
    return low if low == high else f"{low}\u2013{high}"


def participant_flow(run, threshold: int, results: pd.DataFrame | None = None, changes: pd.DataFrame | None = None) -> dict:
    """The participant flow as published: the boxes of the diagram, with small counts suppressed.

    Main chain: (enrolled, when ``study.yaml`` declares it) → answers received at baseline → valid
    at baseline, then with two waves → valid at both times (matched) → analysed per variable, the
    side boxes giving the exclusions by reason and the follow-up wave; with three or more waves
    one box per later wave (valid answers there, how many of them are matched with a baseline
    answer and analysed), its side box that wave's exclusions by reason and the people with a
    valid baseline answer who gave none there. Counts follow :func:`publish_counts`; ``shown``
    has every count by its key in ``run.flow`` plus ``excluded_<wave>`` and ``lost_<wave>``.
    """
    study = run.study
    baseline, later = study.baseline, study.later_waves
    flow = dict(run.flow)
    counts, totals = dict(flow), []
    reasons = {}
    for wave in study.wave_names:
        prefix = f"excluded_{wave}_"
        reasons[wave] = [key for key in flow if key.startswith(prefix) and key[len(prefix):] in EXCLUSION_REASONS]
        counts[f"excluded_{wave}"] = sum(flow[key] for key in reasons[wave])
        totals += [(f"excluded_{wave}", reasons[wave]), (f"rows_{wave}", [f"valid_{wave}", f"excluded_{wave}"])]
    valid_baseline = f"valid_{baseline}"
    for wave in later:
        lost = lost_key(study, wave)
        counts.setdefault(lost, flow[valid_baseline] - flow[matched_key(study, wave)])
        totals.append((valid_baseline, [matched_key(study, wave), lost]))
    totals += [(f"valid_{wave}", [matched_key(study, wave), f"{wave}_only"]) for wave in later]
    enrolled = study.config.enrolled
    if enrolled is not None and enrolled >= flow[valid_baseline]:
        counts |= {"enrolled": enrolled, "not_at_baseline": enrolled - flow[valid_baseline]}
        totals.append(("enrolled", [valid_baseline, "not_at_baseline"]))
    shown = {key: str(value) for key, value in publish_counts(counts, totals, threshold).items()}

    def reason_lines(wave: str) -> list[str]:
        prefix = f"excluded_{wave}_"
        return [f"{REASON_WORDS.get(key[len(prefix):], key[len(prefix):])}: {shown[key]}" for key in reasons[wave]]

    results = run.results if results is None else results
    analysed = analysed_range(results["n_pairs"], threshold)
    main, side = [], []
    if "enrolled" in counts:
        main.append({"count": shown["enrolled"], "label": "enrolled in the program"})
        side.append({"title": f"No valid baseline answer: {shown['not_at_baseline']}", "lines": []})
    roles = {
        "valid_baseline": shown[valid_baseline],
        "matched": shown["matched"],
        "lost": {wave: shown[lost_key(study, wave)] for wave in later},
    }
    if len(later) == 1:
        primary = study.primary
        main.append({"count": shown[f"rows_{baseline}"], "label": "answers received before the program (baseline)"})
        side.append(
            {"title": f"Excluded at baseline: {shown[f'excluded_{baseline}']}", "lines": reason_lines(baseline) or ["none needed excluding"]}
        )
        main.append({"count": shown[valid_baseline], "label": "people with a valid baseline answer"})
        side.append(
            {
                "title": f"No valid follow-up answer: {shown[lost_key(study, primary)]}",
                "lines": [
                    f"Follow-up answers received: {shown[f'rows_{primary}']}",
                    f"excluded at follow-up: {shown[f'excluded_{primary}']}",
                    *[f"\u2003{line}" for line in reason_lines(primary)],
                    f"valid follow-up answers: {shown[f'valid_{primary}']}",
                    f"of these, no valid baseline answer: {shown[f'{primary}_only']}",
                ],
            }
        )
        main.append({"count": shown["matched"], "label": "people with valid answers at both times (matched)"})
        side.append({"title": "Left out of a variable", "lines": ["if that questionnaire was incomplete", "at either time"]})
        main.append({"count": analysed, "label": "analysed, per variable (participants with a score at both times)"})
        chain = " \u2192 ".join(f"{box['count']} {box['label']}" for box in main)
        summary = f"Participant flow: {chain}. {side[-2]['title']}; excluded at baseline: {shown[f'excluded_{baseline}']}."
        return {"main": main, "side": side, "shown": shown, "analysed": analysed, "alt": summary, **roles}

    label = study.wave_label
    pairs = {}
    if changes is not None and not changes.empty:
        for wave in later:
            rows = changes.loc[(changes["from_wave"] == baseline) & (changes["to_wave"] == wave), "n_pairs"]
            pairs[wave] = analysed_range(rows, threshold) if not rows.empty else "\u2014"
    else:
        pairs[study.primary] = analysed
    main.append({"count": shown[f"rows_{baseline}"], "label": f"answers received at {label(baseline)} (baseline)"})
    side.append(
        {"title": f"Excluded at baseline: {shown[f'excluded_{baseline}']}", "lines": reason_lines(baseline) or ["none needed excluding"]}
    )
    main.append({"count": shown[valid_baseline], "label": f"people with a valid answer at {label(baseline)} (baseline)"})
    for wave in later:
        side.append(
            {
                "title": f"Excluded at {label(wave)}: {shown[f'excluded_{wave}']}",
                "lines": [
                    *(reason_lines(wave) or ["none needed excluding"]),
                    f"answers received: {shown[f'rows_{wave}']}",
                    f"no valid answer then: {shown[lost_key(study, wave)]} of those with a valid baseline answer",
                ],
            }
        )
        analysed_here = f"; analysed per variable: {pairs[wave]}" if wave in pairs else ""
        main.append(
            {
                "count": shown[f"valid_{wave}"],
                "label": f"people with a valid answer at {label(wave)}{' (primary endpoint)' if wave == study.primary else ''}: "
                f"{shown[matched_key(study, wave)]} also at baseline (matched), {shown[f'{wave}_only']} not{analysed_here}",
            }
        )
    side.append({"title": "Left out of a variable", "lines": ["if that questionnaire was incomplete", "at baseline or at that wave"]})
    chain = " \u2192 ".join(f"{box['count']} {box['label']}" for box in main)
    summary = f"Participant flow, one box per wave: {chain}. Excluded at baseline: {shown[f'excluded_{baseline}']}."
    return {"main": main, "side": side, "shown": shown, "analysed": analysed, "alt": summary, **roles}


def flow_svg(flow: dict) -> str:
    """The diagram of a published flow (:func:`participant_flow`) as a ``data:`` URL."""
    return svg_data_uri(flow_diagram_svg(flow["main"], flow["side"]))


def group_participant_flow(run, threshold: int, results: pd.DataFrame | None = None, names: dict | None = None) -> dict:
    """The participant flow of a two-group study as published: the boxes of a two-column CONSORT
    diagram (Schulz, Altman & Moher, 2010, Figure 1), with small counts suppressed.

    Before the allocation: (enrolled, when ``study.yaml`` declares it) → answers received at
    baseline (assessed), its side box the exclusions by reason (``unknown_group`` among them: a
    baseline row naming no group of the study) → people with a valid baseline answer, each
    allocated to the group their baseline answer names. Then one column per group: allocated to
    it (``allocated_<group>``), at each later wave those with a valid answer then
    (``matched_<wave>_<group>``) and those without (allocated − followed up), and the analysed:
    the range over the variables of ``n_program`` / ``n_comparison`` in the published ``results``
    (the pairs at the primary endpoint). Counts follow :func:`publish_counts`, with every total
    above (rows = valid + excluded; valid = both groups' allocated; allocated = followed + not, at
    each wave); ``shown`` has each by its key, ``lost_<wave>_<group>`` included, and
    ``later_exclusions`` the later waves' exclusions by reason in one sentence (they are not
    counted by group: an excluded row's group is not read). ``names`` are the groups' names by
    role (:func:`pipeline.report.words.group_names`)."""
    from .words import group_names

    study = run.study
    names = group_names(study) if names is None else names
    baseline, later = study.baseline, study.later_waves
    flow = dict(run.flow)
    roles = ("program", "comparison")
    counts, totals, reasons = dict(flow), [], {}
    for wave in study.wave_names:
        prefix = f"excluded_{wave}_"
        reasons[wave] = [key for key in flow if key.startswith(prefix) and key[len(prefix):] in EXCLUSION_REASONS]
        counts[f"excluded_{wave}"] = sum(flow[key] for key in reasons[wave])
        totals += [(f"excluded_{wave}", reasons[wave]), (f"rows_{wave}", [f"valid_{wave}", f"excluded_{wave}"])]
    valid_baseline = f"valid_{baseline}"
    totals.append((valid_baseline, [f"allocated_{role}" for role in roles]))
    for wave in later:
        totals.append((f"valid_{wave}", [matched_key(study, wave), f"{wave}_only"]))
        for role in roles:
            counts[f"lost_{wave}_{role}"] = flow[f"allocated_{role}"] - flow[f"matched_{wave}_{role}"]
            totals.append((f"allocated_{role}", [f"matched_{wave}_{role}", f"lost_{wave}_{role}"]))
    enrolled = study.config.enrolled
    if enrolled is not None and enrolled >= flow[valid_baseline]:
        counts |= {"enrolled": enrolled, "not_at_baseline": enrolled - flow[valid_baseline]}
        totals.append(("enrolled", [valid_baseline, "not_at_baseline"]))
    shown = {key: str(value) for key, value in publish_counts(counts, totals, threshold).items()}

    def reason_lines(wave: str) -> list[str]:
        prefix = f"excluded_{wave}_"
        return [f"{REASON_WORDS.get(key[len(prefix):], key[len(prefix):])}: {shown[key]}" for key in reasons[wave]]

    results = run.results if results is None else results
    analysed = {role: analysed_range(results[f"n_{role}"], threshold) if not results.empty else "\u2014" for role in roles}
    label = study.wave_label
    randomised = getattr(study.groups, "assignment", None) == "randomised"
    main, side = [], []
    if "enrolled" in counts:
        main.append({"count": shown["enrolled"], "label": "enrolled"})
        side.append({"title": f"No valid baseline answer: {shown['not_at_baseline']}", "lines": []})
    main.append({"count": shown[f"rows_{baseline}"], "label": f"answers received at {label(baseline)} (baseline): assessed"})
    side.append({"title": f"Excluded at baseline: {shown[f'excluded_{baseline}']}", "lines": reason_lines(baseline) or ["none needed excluding"]})
    main.append(
        {
            "count": shown[valid_baseline],
            "label": "people with a valid baseline answer, "
            + ("randomised to the two groups" if randomised else "each in the group their baseline answer names"),
        }
    )
    arms = []
    for role in roles:
        column = [{"count": shown[f"allocated_{role}"], "label": f"allocated to {names[role + '_in_sentence']}", "lines": []}]
        for wave in later:
            primary = " (primary endpoint)" if wave == study.primary and len(later) > 1 else ""
            column.append(
                {
                    "count": shown[f"matched_{wave}_{role}"],
                    "label": f"with a valid answer at {label(wave)}{primary}",
                    "lines": [f"no valid answer then: {shown[f'lost_{wave}_{role}']}"],
                }
            )
        column.append(
            {
                "count": analysed[role],
                "label": f"analysed at {label(study.primary)}, per variable",
                "lines": ["a score at baseline and then"],
            }
        )
        arms.append(column)
    later_lines = []
    for wave in later:
        excluded = ", ".join(reason_lines(wave))
        later_lines.append(
            f"at {label_in_sentence(label(wave))}, {shown[f'rows_{wave}']} answers were received and {shown[f'excluded_{wave}']} excluded"
            + (f" ({excluded})" if excluded else "")
        )
    chain = " \u2192 ".join(f"{box['count']} {box['label']}" for box in main)
    columns = "; ".join(f"{names[role]}: " + " \u2192 ".join(f"{box['count']} {box['label']}" for box in arm) for role, arm in zip(roles, arms))
    summary = f"Participant flow in two groups: {chain}; then {columns}. Excluded at baseline: {shown[f'excluded_{baseline}']}."
    return {
        "main": main,
        "side": side,
        "arms": arms,
        "shown": shown,
        "analysed": analysed,
        "alt": summary,
        "valid_baseline": shown[valid_baseline],
        "allocated": {role: shown[f"allocated_{role}"] for role in roles},
        "later_exclusions": "; ".join(later_lines),
    }


def group_flow_svg(flow: dict) -> str:
    """The two-column diagram of a published two-group flow (:func:`group_participant_flow`) as a ``data:`` URL."""
    return svg_data_uri(consort_diagram_svg(flow["main"], flow["side"], flow["arms"]))
