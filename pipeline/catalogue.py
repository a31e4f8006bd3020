"""Catalogue: the instrument library as a codebook an ethics board or a new fellow can read.

Per instrument: citation, licence, response scale, items (content labels and reverse flags,
never wording unless a licensed user asks for it locally), scales with their scoring and
missing-item rules in words, direction, reliability, norms, bands and cut-offs, and the worked
examples. Everything here turns definitions into a template context; rendering reuses the
report's hardened jinja2 environment and WeasyPrint fetcher.
"""

from __future__ import annotations

from .instrument_check import example_outcomes
from .instruments import Instrument, Scale
from .report import format_number, render_html
from .score import score_range

EVIDENCE_MARKS = {"verified": "V", "secondary": "S", "unverified": "U"}
LICENCE_WORDS = {
    "public-domain": "public domain",
    "free-research": "free for research",
    "permission-required": "permission required",
    "commercial": "commercial (paid licence)",
}
SHORT_DIRECTIONS = {"better": "\u2191 better", "worse": "\u2193 better", "neutral": "two-sided"}
CASE_SIGNS = {"at_or_above": "\u2265", "at_or_below": "\u2264"}
DIRECTION_WORDS = {"better": "higher is better", "worse": "lower is better", "neutral": "no direction (two-sided)"}


def _number(value: float) -> str:
    """A published figure as written: whole numbers without decimals, others trimmed."""
    text = str(int(value)) if float(value).is_integer() else f"{value:g}"
    return text.replace("-", "\u2212")


def _answer(value: int | None) -> str:
    return "\u2014" if value is None else str(value)


def item_numbers(instrument: Instrument, item_ids: list[str]) -> str:
    """Item ids as their published positions in ascending order, e.g. ``1, 4, 5, 6, 9``."""
    position = {item_id: index + 1 for index, item_id in enumerate(instrument.item_ids)}
    return ", ".join(str(number) for number in sorted(position[item_id] for item_id in item_ids))


def scoring_rule(instrument: Instrument, scale: Scale) -> str:
    """The scoring rule of ``scale`` in words, from the definition itself."""
    low, high = score_range(instrument, scale)
    span = f"Possible scores {_number(low)} to {_number(high)}."
    if scale.is_composite:
        first, second = (instrument.scale(part) for part in scale.of)
        return f"{first.name} minus {second.name}. {span}"
    what = {"mean": "Mean", "sum": "Sum"}[scale.method]
    text = f"{what} of items {item_numbers(instrument, scale.items)}"
    reversed_items = instrument.reversed_in(scale)
    if reversed_items:
        r_low, r_high = instrument.response.min, instrument.response.max
        text += f", with item{'s' if len(reversed_items) > 1 else ''} {item_numbers(instrument, reversed_items)} reverse-keyed ({r_low + r_high} \u2212 x)"
    elif instrument.reverse_item_ids & set(scale.items):
        text += " as answered (this scale does not reverse the items flagged reverse)"
    return f"{text}. {span}"


def missing_item_rule(instrument: Instrument, scale: Scale) -> str:
    """The missing-item rule in words: how many items are needed and what happens to the others."""
    if scale.is_composite:
        return "Scored only when both component scores exist."
    n, needed = len(scale.items), scale.required_items
    if needed == n:
        rule = f"All {n} items required."
    elif scale.method == "sum":
        rule = f"At least {needed} of {n} items; a missing item is prorated (mean of answered items \u00d7 {n})."
    else:
        rule = f"At least {needed} of {n} items; mean of the answered items."
    basis = {"manual": "Manual's rule.", "project-convention": "Project convention (no manual rule)."}.get(scale.missing_basis or "", "")
    return f"{rule} {basis}".strip()


def _reliability_text(entry) -> str:
    def apa(value: float) -> str:  # two decimals, no leading zero (APA style for values bounded by 1)
        return f"{value:.2f}".removeprefix("0")

    figure = apa(entry.value) if entry.value is not None else f"{apa(entry.low)}\u2013{apa(entry.high)}"
    name = {"alpha": "\u03b1", "omega": "\u03c9", "test-retest": "test\u2013retest r", "split-half": "split-half r"}[entry.statistic]
    return f"{name} = {figure}" + (f" ({entry.interval})" if entry.interval else "")


def instrument_entry(instrument: Instrument, include_wording: bool = False) -> dict:
    """One instrument's section of the catalogue as plain data for the template."""
    scales_of_item: dict[str, list[str]] = {item_id: [] for item_id in instrument.item_ids}
    for scale in instrument.scales:
        for item_id in scale.items:
            scales_of_item[item_id].append(scale.name)
    labels = instrument.response.labels or {}
    outcomes = example_outcomes(instrument)
    return {
        "id": instrument.id,
        "title": instrument.name + (f" ({instrument.short_name})" if instrument.short_name else ""),
        "label": instrument.label,
        "version": instrument.version or "",
        "citation": instrument.citation,
        "licence": LICENCE_WORDS[instrument.license],
        "licence_class": instrument.license,
        "licence_note": instrument.license_note or "",
        "response": f"{instrument.response.min} to {instrument.response.max}",
        "anchors": [{"value": value, "label": labels[value]} for value in sorted(labels)],
        "items": [
            {
                "number": index + 1,
                "id": item.id,
                "label": item.label,
                "reverse": item.reverse,
                "scales": ", ".join(scales_of_item[item.id]) or "not scored (filler)",
                "text": item.text if include_wording else None,
            }
            for index, item in enumerate(instrument.items)
        ],
        "scales": [
            {
                "id": scale.id,
                "name": scale.name,
                "role": scale.role,
                "domain": scale.domain or "",
                "scoring": scoring_rule(instrument, scale),
                "missing": missing_item_rule(instrument, scale),
                "missing_note": scale.missing_rule or "",
                "direction": DIRECTION_WORDS[scale.higher_is],
                "bands": None
                if scale.bands is None
                else {
                    "levels": [f"{_number(b.min)}\u2013{_number(b.max)} {b.label}" for b in scale.bands.levels],
                    "source": scale.bands.source,
                    "evidence": EVIDENCE_MARKS[scale.bands.evidence],
                },
                "cutoffs": [
                    {
                        "text": f"{c.name}: {CASE_SIGNS[c.case_when]} {_number(c.score)}"
                        + (f" ({c.meaning})" if c.meaning else ""),
                        "source": c.source,
                        "evidence": EVIDENCE_MARKS[c.evidence],
                    }
                    for c in scale.cutoffs
                ],
            }
            for scale in instrument.scales
        ],
        "reliability": [
            {
                "scale": instrument.scale(r.scale).name,
                "figure": _reliability_text(r),
                "sample": r.sample or "",
                "source": r.source,
                "evidence": EVIDENCE_MARKS[r.evidence],
            }
            for r in instrument.reliability
        ],
        "norms": [
            {
                "scale": instrument.scale(n.scale).name,
                "mean": _number(n.mean),
                "sd": _number(n.sd) if n.sd is not None else "not reported",
                "n": f"{n.n:,}" if n.n else "",
                "population": n.population,
                "source": n.source,
                "evidence": EVIDENCE_MARKS[n.evidence],
            }
            for n in instrument.norms
        ],
        "examples": [
            {
                "description": example.description,
                "responses": ", ".join(
                    f"{item_numbers(instrument, [item_id])}={_answer(example.responses.get(item_id))}"
                    for item_id in instrument.item_ids
                ),
                "expected": "; ".join(
                    f"{instrument.scale(o.scale).name} "
                    + ("not scored" if o.computed is None else format_number(o.computed, 2).rstrip("0").rstrip("."))
                    + ("" if o.agrees else " (DISAGREES with the file)")
                    for o in outcomes
                    if o.example == index
                ),
                "working": example.working or "",
            }
            for index, example in enumerate(instrument.examples)
        ],
        "notes": list(instrument.notes),
    }


def catalogue_context(instruments: list[Instrument], generated: str, include_wording: bool = False, study: dict | None = None) -> dict:
    """The whole codebook: an overview row per scale and a section per instrument. ``study`` (a study's
    codebook for its field team): ``name``, ``waves`` (in words) and ``fielding`` (instrument id -> what
    ``impact field`` writes for its items and what the researcher must do)."""
    overview = [
        {
            "instrument": instrument.label,
            "anchor": instrument.id,
            "scale": scale.name,
            "id": scale.id,
            "role": scale.role,
            "n_items": len(instrument.items_of(scale)),
            "range": "\u2013".join(_number(v) for v in score_range(instrument, scale)),
            "method": scale.method,
            "direction": SHORT_DIRECTIONS[scale.higher_is],
            "licence": LICENCE_WORDS[instrument.license],
        }
        for instrument in instruments
        for scale in instrument.scales
    ]
    return {
        "generated": generated,
        "include_wording": include_wording,
        "overview": overview,
        "primary_count": sum(row["role"] == "primary" for row in overview),
        "instruments": [
            instrument_entry(instrument, include_wording) | {"fielding": (study or {}).get("fielding", {}).get(instrument.id, "")}
            for instrument in instruments
        ],
        "study": study,
    }


def render_catalogue_html(instruments: list[Instrument], generated: str, include_wording: bool = False, study: dict | None = None) -> str:
    """The codebook as one self-contained HTML document (of the library, or of one study: :func:`catalogue_context`)."""
    return render_html(catalogue_context(instruments, generated, include_wording, study), template="catalogue.html.j2")


def study_codebook(study) -> dict:
    """The ``study`` argument of :func:`catalogue_context` for a loaded :class:`~pipeline.study.Study`."""
    from .fielding import item_wording

    waves = [study.wave_label(wave) for wave in study.wave_names]
    return {
        "name": study.name,
        "waves": ", ".join(waves[:-1]) + f" and {waves[-1]}",
        "fielding": {instrument.id: item_wording(instrument)[1].todo for instrument in study.instruments},
    }
