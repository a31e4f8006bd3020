"""Numbers and results in words, the same in both reports: statistics rounded for reading, APA
p-values, effect sizes by Cohen's benchmarks, a change on its scale, and the names of the
corrections and directions."""

from __future__ import annotations

import math


def format_number(value: float, digits: int = 2) -> str:
    """A statistic rounded for reading, with a real minus sign; an em dash when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2014"
    text = f"{value:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", "\u2212")


def format_p(p: float) -> str:
    """APA style: three decimals without a leading zero, ``<.001`` below that (APA, 2020, 6.36)."""
    if p is None or math.isnan(p):
        return "\u2014"
    if p < 0.001:
        return "<.001"
    return f"{p:.3f}".lstrip("0")


def improvement_sign(higher_is: str) -> int:
    """+1 when an increase is an improvement (or the scale has no direction), -1 when a decrease is."""
    return -1 if higher_is == "worse" else 1


#: Cohen's (1988) rough benchmarks for the size of a standardized difference.
EFFECT_SIZE_WORDS = [(0.2, "very small"), (0.5, "small"), (0.8, "medium"), (math.inf, "large")]

CORRECTION_NAMES = {"holm": "Holm (1979)", "fdr": "Benjamini\u2013Hochberg (1995) false discovery rate"}
DIRECTION_WORDS = {"better": "higher is better", "worse": "lower is better", "neutral": "no preferred direction"}


def effect_size_in_words(d: float) -> str:
    """The size of ``|d|`` by Cohen's (1988) benchmarks: very small (< 0.2), small, medium (>= 0.5), large (>= 0.8).

    >>> effect_size_in_words(-0.55)
    'medium'
    """
    return next(words for bound, words in EFFECT_SIZE_WORDS if abs(d) < bound)


def change_in_words(mean_diff: float, higher_is: str, low: float, high: float) -> str:
    """E.g. "a drop of 2.95 on its 20\u201380 scale, where lower is better"."""
    movement = "a rise" if mean_diff > 0 else "a drop"
    where = ", where lower is better" if higher_is == "worse" else ""
    return f"{movement} of {format_number(abs(mean_diff))} on its {format_number(low, 0)}\u2013{format_number(high, 0)} scale{where}"


#: Words that keep their capital inside a sentence (a label starting with one is a name).
_PROPER = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
}  # fmt: skip


def label_in_sentence(label: str) -> str:
    """A wave's label inside a sentence, after a preposition ("at", "against").

    A label of ordinary words gets "the" and a small first letter; one with a number, an
    acronym or a name in front is kept as it is.

    >>> label_in_sentence("End of program"), label_in_sentence("6 months after"), label_in_sentence("T2"), label_in_sentence("June visit")
    ('the end of program', '6 months after', 'T2', 'June visit')
    """
    first = label.split(" ", 1)[0]
    word = first.replace("-", "")
    ordinary = word.isalpha() and word[:1].isupper() and word[1:].islower() or word.islower()
    if not ordinary or any(char.isdigit() for char in label) or word.lower() in _PROPER:
        return label
    return "the " + label[:1].lower() + label[1:]


def group_names(study) -> dict[str, str]:
    """How the reports name a two-group study's groups: ``program`` and ``comparison`` as the
    study labels them (``groups.labels``; "Program group" and "Comparison group" by default), and
    ``program_in_sentence`` / ``comparison_in_sentence`` as a sentence reads them after "of" or
    "with": a study's own label kept as written ("Purpose Pathways", "the Waitlist group"), the
    defaults in small letters ("the program group")."""
    groups = study.groups
    names = {}
    for role in ("program", "comparison"):
        label = groups.label(role)
        given = getattr(groups.labels, role, None) is not None
        if not given:
            in_sentence = f"the {role} group"
        elif label.casefold().endswith("group"):
            in_sentence = f"the {label}"
        else:
            in_sentence = label if role == "program" else f"the {label} group"
        names |= {role: label, f"{role}_in_sentence": in_sentence}
    return names


def difference_amount(diff: float) -> str:
    """How much higher or lower, e.g. "0.46 higher" (an em dash when undefined).

    >>> difference_amount(0.456), difference_amount(-2.0)
    ('0.46 higher', '2.00 lower')
    """
    if diff is None or math.isnan(diff):
        return "\u2014"
    return f"{format_number(abs(diff))} {'higher' if diff > 0 else 'lower'}"


def difference_in_words(diff: float, higher_is: str, low: float, high: float) -> str:
    """A program − comparison difference on its scale, e.g. "0.46 higher on its 1\u20137 scale" or
    "1.94 lower on its 0\u201327 scale, where lower is better".

    >>> difference_in_words(-1.94, "worse", 0, 27)
    '1.94 lower on its 0\u201327 scale, where lower is better'
    """
    where = ", where lower is better" if higher_is == "worse" else ""
    return f"{difference_amount(diff)} on its {format_number(low, 0)}\u2013{format_number(high, 0)} scale{where}"


#: The outcomes of ``comparison.csv`` (pipeline.between_groups), as the reports' badges and sentences read them.
COMPARISON_OUTCOME_WORDS = {
    "program better": "better with the program",
    "program worse": "worse with the program",
    "different": "different",
    "no significant difference": "no significant difference",
    "not tested": "not tested",
    "ANCOVA and difference in differences disagree": "the two analyses disagree",
}
