"""The participant flow ("Who took part"): the boxes of the CONSORT-style diagram, with small counts suppressed."""

from __future__ import annotations

import pandas as pd

from ..charts import flow_diagram_svg, svg_data_uri
from ..suppression import publish_counts, suppress_count

#: Exclusion reasons (pipeline.validate.EXCLUSION_REASONS) in a funder's words.
REASON_WORDS = {
    "preview": "previews and tests",
    "spam": "flagged as spam",
    "unfinished": "not finished",
    "no_consent": "no consent",
    "empty": "no usable answers",
    "missing_id": "no participant id",
    "invalid_id": "unreadable participant id",
    "duplicate": "repeat answers of one person",
}


def participant_flow(run, threshold: int, results: pd.DataFrame | None = None) -> dict:
    """The participant flow as published: the boxes of the diagram, with small counts suppressed.

    Main chain: (enrolled, when ``study.yaml`` declares it) → answers received at baseline → valid
    at baseline → valid at both times (matched) → analysed per variable. Side boxes give the
    exclusions by reason and the follow-up wave. Counts follow :func:`publish_counts`.
    """
    flow = dict(run.flow)
    counts, totals = dict(flow), []
    reasons = {}
    for wave in ("pre", "post"):
        reasons[wave] = [key for key in flow if key.startswith(f"excluded_{wave}_")]
        counts[f"excluded_{wave}"] = sum(flow[key] for key in reasons[wave])
        totals += [(f"excluded_{wave}", reasons[wave]), (f"rows_{wave}", [f"valid_{wave}", f"excluded_{wave}"])]
    totals += [("valid_pre", ["matched", "pre_only"]), ("valid_post", ["matched", "post_only"])]
    enrolled = run.study.config.enrolled
    if enrolled is not None and enrolled >= flow["valid_pre"]:
        counts |= {"enrolled": enrolled, "not_at_baseline": enrolled - flow["valid_pre"]}
        totals.append(("enrolled", ["valid_pre", "not_at_baseline"]))
    shown = {key: str(value) for key, value in publish_counts(counts, totals, threshold).items()}

    def reason_lines(wave: str) -> list[str]:
        prefix = f"excluded_{wave}_"
        return [f"{REASON_WORDS.get(key[len(prefix):], key[len(prefix):])}: {shown[key]}" for key in reasons[wave]]

    n_pairs = (run.results if results is None else results)["n_pairs"].astype(int)
    low, high = suppress_count(int(n_pairs.min()), threshold), suppress_count(int(n_pairs.max()), threshold)
    analysed = low if low == high else f"{low}\u2013{high}"
    main, side = [], []
    if "enrolled" in counts:
        main.append({"count": shown["enrolled"], "label": "enrolled in the program"})
        side.append({"title": f"No valid baseline answer: {shown['not_at_baseline']}", "lines": []})
    main.append({"count": shown["rows_pre"], "label": "answers received before the program (baseline)"})
    side.append({"title": f"Excluded at baseline: {shown['excluded_pre']}", "lines": reason_lines("pre") or ["none needed excluding"]})
    main.append({"count": shown["valid_pre"], "label": "people with a valid baseline answer"})
    side.append(
        {
            "title": f"No valid follow-up answer: {shown['pre_only']}",
            "lines": [
                f"Follow-up answers received: {shown['rows_post']}",
                f"excluded at follow-up: {shown['excluded_post']}",
                *[f"\u2003{line}" for line in reason_lines("post")],
                f"valid follow-up answers: {shown['valid_post']}",
                f"of these, no valid baseline answer: {shown['post_only']}",
            ],
        }
    )
    main.append({"count": shown["matched"], "label": "people with valid answers at both times (matched)"})
    side.append({"title": "Left out of a variable", "lines": ["if that questionnaire was incomplete", "at either time"]})
    main.append({"count": analysed, "label": "analysed, per variable (participants with a score at both times)"})
    chain = " \u2192 ".join(f"{box['count']} {box['label']}" for box in main)
    summary = f"Participant flow: {chain}. {side[-2]['title']}; excluded at baseline: {shown['excluded_pre']}."
    return {"main": main, "side": side, "shown": shown, "analysed": analysed, "alt": summary}


def flow_svg(flow: dict) -> str:
    """The diagram of a published flow (:func:`participant_flow`) as a ``data:`` URL."""
    return svg_data_uri(flow_diagram_svg(flow["main"], flow["side"]))
