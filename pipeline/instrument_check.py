"""Checking instrument definitions: everything ``impact instruments check`` verifies.

Loading a file (:mod:`pipeline.instruments`) already refuses a wrong shape and broken
cross-references. This module adds the checks that need the scoring rules:

* bands cover every score the rules can produce, once each (no gaps, no overlaps);
* cut-offs, norms and worked examples lie inside the scale's possible range;
* every worked example scores exactly as its file states, through the production scorer;
* ids are unique across every file checked together (the library and a study's own folder),
  because item ids name export columns and scale ids name score columns;
* no ``TODO`` placeholder from ``impact instruments new`` is left.

Completeness is reported as *warnings* (an error says the definition is wrong; a warning says
it is not yet fit for the library): fewer than two worked examples for a scale, none with a
missing item, ``missing_basis`` not stated, no licence note, no pinned version. ``--strict``
turns warnings into errors; the library is checked strictly by ``make test``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Literal

import numpy as np
import pandas as pd

from .errors import PipelineError
from .instruments import LIBRARY_DIR, Instrument, Scale, clashing_ids, instrument_files, load_instrument
from .score import ScoreCheckTooLarge, WorkBudget, reachable_scores, score_instrument, score_range
from .yamlio import shown

Severity = Literal["error", "warning"]

#: Absolute tolerance for a worked example: the hand calculation is exact, floating point is not.
EXAMPLE_TOLERANCE = 1e-9

# At most 15 digits each: a longer numerator or denominator is no hand calculation, and int() of
# thousands of digits is slow (and a float of the quotient may overflow).
_FRACTION = re.compile(r"^\s*(-?\d{1,15})\s*/\s*(\d{1,15})\s*$")


@dataclass(frozen=True)
class Finding:
    """One problem found in one file: where, what, and whether it is an error or a warning."""

    source: str
    field: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.source}: {self.field}: " if self.field else f"{self.source}: "
        return f"{where}{self.message}" + (" (warning)" if self.severity == "warning" else "")


@dataclass(frozen=True)
class ExampleOutcome:
    """One expected score of one worked example, with the score the pipeline computes."""

    example: int
    scale: str
    expected: float | None
    computed: float | None

    @property
    def agrees(self) -> bool:
        if self.expected is None or self.computed is None:
            return self.expected is None and self.computed is None
        return abs(self.expected - self.computed) <= EXAMPLE_TOLERANCE * max(1.0, abs(self.expected))


def expected_score(value: float | str | None) -> float | None:
    """An example's expected score as a float: a number, an exact fraction ``"31/6"``, or None."""
    if value is None or isinstance(value, (int, float)):
        return None if value is None else float(value)
    match = _FRACTION.match(value)
    if not match or int(match.group(2)) == 0:
        raise ValueError(f"{shown(value)} is not a number or a fraction such as \"31/6\"")
    return float(Fraction(int(match.group(1)), int(match.group(2))))


def example_outcomes(instrument: Instrument) -> list[ExampleOutcome]:
    """Score every worked example with the production scorer and pair it with its expected scores.

    Unparseable expected values are skipped here; :func:`definition_findings` reports them.
    """
    if not instrument.examples:
        return []
    column = {item_id: position for position, item_id in enumerate(instrument.item_ids)}
    # Filled from each example's own responses: work in proportion to what the file holds.
    cells = np.full((len(instrument.examples), len(column)), np.nan)
    for row, example in enumerate(instrument.examples):
        for item_id, value in example.responses.items():
            if value is not None and item_id in column:
                cells[row, column[item_id]] = value
    responses = pd.DataFrame(cells, columns=instrument.item_ids)
    scores = score_instrument(responses, instrument)
    outcomes = []
    for index, example in enumerate(instrument.examples):
        for scale_id, value in example.expect.items():
            if scale_id not in scores.columns:
                continue
            try:
                expected = expected_score(value)
            except ValueError:
                continue
            computed = scores.loc[index, scale_id]
            outcomes.append(ExampleOutcome(index, scale_id, expected, None if np.isnan(computed) else float(computed)))
    return outcomes


def _decimal(value: float) -> Fraction:
    # A bound written as 4.31 means exactly 431/100, not the nearest binary float.
    return Fraction(repr(value))


def _show(value: Fraction) -> str:
    return str(int(value)) if value.denominator == 1 else f"{float(value):.4g}"


#: How many offending scores a gap or overlap message lists (one more is looked for, to say "...").
SHOWN_SCORES = 5


def coverage_regions(bounds: list[tuple[Fraction, Fraction]]) -> list[tuple[Fraction | None, Fraction | None, bool, int]]:
    """The number line cut at the bands' bounds, ascending: ``(low, high, is_point, bands holding it)``.

    Each band is closed, ``min`` to ``max``; a band with ``min`` above ``max`` holds nothing.
    Regions alternate between open intervals (``None`` for an unbounded end) and the bounds
    themselves, and counts come from sorted bounds by bisection, so this is linear in the bands
    and independent of how many scores the scale can take.
    """
    valid = [(low, high) for low, high in bounds if low <= high]
    lows, highs = sorted(low for low, _ in valid), sorted(high for _, high in valid)
    regions: list[tuple[Fraction | None, Fraction | None, bool, int]] = []
    previous: Fraction | None = None
    for point in sorted({bound for band in valid for bound in band}):
        # A band holds the open interval (previous, point) iff min <= previous and max >= point.
        inside = 0 if previous is None else bisect_right(lows, previous) - bisect_right(highs, previous)
        regions.append((previous, point, False, inside))
        regions.append((point, point, True, bisect_right(lows, point) - bisect_left(highs, point)))
        previous = point
    regions.append((previous, None, False, 0))
    return regions


def band_findings(instrument: Instrument, index: int, scale: Scale, source: str, budget: WorkBudget | None = None) -> list[Finding]:
    """Bands must lie in the score range and hold every reachable score exactly once.

    Reachable scores are never listed: the bands cut the number line into regions held by no
    band (gaps) or by two or more (overlaps), and :class:`pipeline.score.ReachableScores` finds
    the first few possible scores in each such region arithmetically. The work is a few
    searches per band (at most :data:`pipeline.instruments.MAX_BAND_LEVELS` of them), each
    linear in the answered-item counts (for a difference, in pairs of them), whatever the
    response range; it is charged to ``budget`` and, should that run out (a difference of two
    long prorated scales), the bands are reported as not checked (a warning) instead.
    """
    if scale.bands is None:
        return []
    where = f"scales[{index}] ({scale.id}).bands"
    low, high = score_range(instrument, scale)
    levels = scale.bands.levels
    findings = []
    for position, band in enumerate(levels):
        if band.min > band.max:
            findings.append(Finding(source, f"{where}.levels[{position}]", f"min {band.min:g} is above max {band.max:g}"))
        if band.min < low or band.max > high:
            findings.append(
                Finding(source, f"{where}.levels[{position}]", f"{band.min:g}..{band.max:g} reaches outside the score range {low}..{high}")
            )
    bounds = [(_decimal(band.min), _decimal(band.max)) for band in levels]
    wanted = SHOWN_SCORES + 1
    unbanded: list[Fraction] = []
    doubled: list[Fraction] = []
    try:
        reachable = reachable_scores(instrument, scale, budget)
        for start, end, is_point, holders in coverage_regions(bounds):
            found = unbanded if holders == 0 else doubled if holders > 1 else None
            if found is None or len(found) >= wanted:
                continue
            if is_point:
                found += [start] if start in reachable else []
            else:
                found += reachable.between(start, end, True, True, wanted - len(found))
            if len(unbanded) >= wanted and len(doubled) >= wanted:
                break
    except ScoreCheckTooLarge:
        findings.append(
            Finding(source, where, "too many possible scores to check these bands exactly; check them by hand, or simplify the scale", "warning")
        )
        return findings
    if unbanded:
        listed = ", ".join(_show(score) for score in unbanded[:SHOWN_SCORES]) + (" ..." if len(unbanded) > SHOWN_SCORES else "")
        findings.append(Finding(source, where, f"gap: reachable score(s) {listed} fall in no band"))
    if doubled:
        listed = ", ".join(_show(score) for score in doubled[:SHOWN_SCORES]) + (" ..." if len(doubled) > SHOWN_SCORES else "")
        findings.append(Finding(source, where, f"overlap: score(s) {listed} fall in more than one band"))
    return findings


def _range_findings(instrument: Instrument, source: str) -> list[Finding]:
    """Cut-offs, norms and expected example scores must be possible scores of their scale."""
    findings = []
    ranges = {scale.id: score_range(instrument, scale) for scale in instrument.scales}
    for index, scale in enumerate(instrument.scales):
        low, high = ranges[scale.id]
        for position, cutoff in enumerate(scale.cutoffs):
            if not low <= cutoff.score <= high:
                findings.append(
                    Finding(source, f"scales[{index}] ({scale.id}).cutoffs[{position}].score", f"{cutoff.score:g} is outside the score range {low}..{high}")
                )
    for index, norm in enumerate(instrument.norms):
        low, high = ranges[norm.scale]
        if not low <= norm.mean <= high:
            findings.append(Finding(source, f"norms[{index}] ({norm.scale}).mean", f"{norm.mean:g} is outside the score range {low}..{high}"))
        if norm.sd is not None and norm.sd > (high - low) / 2:
            findings.append(
                Finding(source, f"norms[{index}] ({norm.scale}).sd", f"{norm.sd:g} is impossible on {low}..{high} (an SD cannot exceed half the range)")
            )
    for index, example in enumerate(instrument.examples):
        for scale_id, value in example.expect.items():
            try:
                expected = expected_score(value)
            except ValueError as exc:
                findings.append(Finding(source, f"examples[{index}].expect.{scale_id}", str(exc)))
                continue
            low, high = ranges[scale_id]
            if expected is not None and not low <= expected <= high:
                findings.append(Finding(source, f"examples[{index}].expect.{scale_id}", f"{expected:g} is outside the score range {low}..{high}"))
    return findings


def _example_findings(instrument: Instrument, source: str) -> list[Finding]:
    findings = []
    for outcome in example_outcomes(instrument):
        if not outcome.agrees:
            stated = "not scored" if outcome.expected is None else f"{outcome.expected:.10g}"
            computed = "no score" if outcome.computed is None else f"{outcome.computed:.10g}"
            findings.append(
                Finding(
                    source,
                    f"examples[{outcome.example}].expect.{outcome.scale}",
                    f"the file states {stated} but the scoring rules give {computed}; recheck the hand calculation and the definition",
                )
            )
    return findings


def _placeholders(value, path: str = "") -> Iterable[str]:
    if isinstance(value, str):
        if "TODO" in value:
            yield path or "(top level)"
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _placeholders(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for position, inner in enumerate(value):
            yield from _placeholders(inner, f"{path}[{position}]")


def completeness_findings(instrument: Instrument, source: str) -> list[Finding]:
    """What a library definition still lacks (warnings): examples, missing-data basis, licence note, version."""
    findings = []
    if not instrument.version:
        findings.append(Finding(source, "version", "pin the form (item order, response coding) this file follows", "warning"))
    if not instrument.license_note:
        findings.append(Finding(source, "license_note", "add a one-line note on the licence terms and their source", "warning"))
    for index, scale in enumerate(instrument.scales):
        where = f"scales[{index}] ({scale.id})"
        if not scale.is_composite and scale.missing_basis is None:
            findings.append(
                Finding(source, f"{where}.missing_basis", "say whether min_items follows the manual or the project convention", "warning")
            )
        items = set(instrument.items_of(scale))
        covering = [example for example in instrument.examples if scale.id in example.expect]
        if len(covering) < 2:
            findings.append(Finding(source, f"{where}", f"needs at least two worked examples, has {len(covering)}", "warning"))
        if covering and not any(any(example.responses.get(item) is None for item in items) for example in covering):
            findings.append(Finding(source, f"{where}", "needs a worked example with a missing item", "warning"))
    return findings


def definition_findings(instrument: Instrument, source: str) -> list[Finding]:
    """Every check of one loaded definition (errors and completeness warnings)."""
    findings = [
        Finding(source, field, "still holds a TODO placeholder; fill it in")
        for field in _placeholders(instrument.model_dump(exclude_none=True))
    ]
    budget = WorkBudget()  # one for the whole definition: its many scales share it
    for index, scale in enumerate(instrument.scales):
        findings += band_findings(instrument, index, scale, source, budget)
    findings += _range_findings(instrument, source)
    findings += _example_findings(instrument, source)
    findings += completeness_findings(instrument, source)
    return findings


def uniqueness_findings(loaded: list[tuple[str, Instrument]]) -> list[Finding]:
    """Instrument, item and scale ids must be unique across all files checked together.

    One finding per pair of clashing files, naming the shared ids (item ids name export columns
    and scale ids name score columns, so a clash would mix two instruments' data).
    """
    by_pair: dict[tuple[str, str], list[str]] = {}
    for name, first, later in clashing_ids((source, [i.id, *i.column_ids]) for source, i in loaded):
        by_pair.setdefault((later, first), []).append(name)
    instrument_ids = {source: instrument.id for source, instrument in loaded}
    findings = []
    for (source, owner), shared in by_pair.items():
        shown = ", ".join(shared[:6]) + (f" and {len(shared) - 6} more" if len(shared) > 6 else "")
        findings.append(
            Finding(source, "id" if shared[0] == instrument_ids[source] else "items", f"{shown} already defined in {owner}; ids must be unique across the library and a study's instruments (rename, or drop the copy)")
        )
    return findings


def naming_findings(instrument: Instrument, source: str) -> list[Finding]:
    """Ids that break the portable naming rule of ``impact field`` (pipeline.fielding.NAME_RULE), with the targets they would break."""
    from .fielding import naming_rule_breaks

    return [Finding(source, "id" if line.startswith("instrument") else "items", line, "warning") for line in naming_rule_breaks(instrument)]


def case_clash_findings(loaded: list[tuple[str, Instrument]]) -> list[Finding]:
    """Instrument and item ids that differ only in case: one name to REDCap, XLSForm tools and most statistics packages."""
    seen: dict[str, tuple[str, str]] = {}
    findings = []
    for source, instrument in loaded:
        for name in [instrument.id, *instrument.item_ids]:
            first = seen.setdefault(name.casefold(), (name, source))
            if first[0] != name:
                findings.append(
                    Finding(source, "items" if name != instrument.id else "id", f"'{name}' clashes with '{first[0]}' ({first[1]}) ignoring case; fielded names must be unique ignoring case", "warning")
                )
    return findings


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def files_to_check(paths: list[Path], library_dir: Path = LIBRARY_DIR) -> list[Path]:
    """The files named by ``paths`` plus the library (for uniqueness); the library alone by default.

    A path may be an instrument file, a folder of them, or a study folder (its ``instruments/``).
    """
    files = instrument_files(library_dir)
    for path in paths:
        path = Path(path)
        if path.is_dir() and (path / "study.yaml").is_file():
            files += instrument_files(path / "instruments") if (path / "instruments").is_dir() else []
        elif path.is_dir():
            files += instrument_files(path)
        elif path.exists():  # a file; a FIFO or device too, for the reader to refuse by name
            files.append(path)
        else:
            raise PipelineError(f"{path}: no such file or folder; give instrument files, folders of them, or a study folder")
    unique: dict[Path, Path] = {}
    for file in files:
        unique.setdefault(file.resolve(), file)
    return list(unique.values())


def check_files(files: list[Path], strict: bool = False) -> tuple[list[Finding], int]:
    """Check instrument files together; return (findings, number of files that loaded)."""
    findings: list[Finding] = []
    loaded: list[tuple[str, Instrument]] = []
    for file in files:
        source = display_path(file)
        try:
            instrument = load_instrument(file)
        except PipelineError as exc:
            message = str(exc).replace(str(file), source)
            prefix = f"{source}: "
            findings.append(Finding(source, "", message[len(prefix):] if message.startswith(prefix) else message))
            continue
        loaded.append((source, instrument))
        findings += definition_findings(instrument, source)
        findings += naming_findings(instrument, source)
    findings += uniqueness_findings(loaded)
    findings += case_clash_findings(loaded)
    if strict:
        findings = [Finding(f.source, f.field, f.message, "error") for f in findings]
    return findings, len(loaded)


__all__ = [
    "EXAMPLE_TOLERANCE",
    "ExampleOutcome",
    "Finding",
    "band_findings",
    "check_files",
    "completeness_findings",
    "definition_findings",
    "example_outcomes",
    "expected_score",
    "files_to_check",
    "uniqueness_findings",
]
