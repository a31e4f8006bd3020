"""Instrument definitions: the declarative YAML files in ``instruments/`` as validated Python objects.

An instrument file declares its response scale, its items (short content labels, never item
wording), which items are reverse-keyed, one or more scales with a scoring rule, and the
published facts a reviewer needs: reliability, norms, bands and cut-offs, each with its source
and how well it was verified. Worked examples (responses with the score the manual's rule gives
by hand) sit in the same file and run as tests.

The shape of a file is checked by pydantic models with unknown keys refused (a misspelt
``reverse:`` must not be ignored); the cross-references (scale items exist, ids unique,
``min_items`` in range) are checked afterwards so that each message can name the field that is
wrong. Deeper checks (bands, norms, examples) live in :mod:`pipeline.instrument_check`.

Licensed content (item wording, a commercial subscale key) never goes in a shared file: it goes
in a local *overlay*, ``instruments/local/<id>.yaml`` (git-ignored), merged over the library file
when the instrument is loaded (:func:`apply_overlay`).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import PipelineError
from .yamlio import describe_validation_error, read_yaml_mapping

#: Item, scale and instrument ids become column names, so they are restricted to identifiers.
ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"

#: Where the instrument library lives when the package runs from its repository.
LIBRARY_DIR = Path(__file__).resolve().parent.parent / "instruments"

#: Environment variable naming the folder of local overlays (default ``instruments/local``).
LOCAL_DIR_VARIABLE = "IMPACT_LOCAL_INSTRUMENTS"

Method = Literal["mean", "sum", "difference"]
Direction = Literal["better", "worse", "neutral"]
Role = Literal["primary", "secondary"]
LicenceClass = Literal["public-domain", "free-research", "permission-required", "commercial"]
#: How a published fact was checked, after the fact sheet's labels [V], [S] and [U].
Evidence = Literal["verified", "secondary", "unverified"]
#: Where a scale's ``min_items`` comes from: the instrument's manual, or the project's convention.
MissingBasis = Literal["manual", "project-convention"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ResponseScale(_Strict):
    """The integer response range shared by all items, with optional anchor labels."""

    min: int
    max: int
    labels: dict[int, str] | None = None


class Item(_Strict):
    """One questionnaire item: an id (its column name in exports) and a short content label.

    ``text`` (the item's wording) is accepted only from a local overlay, never from a shared file.
    """

    id: str = Field(pattern=ID_PATTERN)
    label: str = Field(min_length=1)
    reverse: bool = False
    text: str | None = None


class Band(_Strict):
    """One published score band, ``min`` to ``max`` inclusive."""

    min: float
    max: float
    label: str = Field(min_length=1)


class Bands(_Strict):
    """Published bands that together cover the scale's whole score range."""

    levels: list[Band] = Field(min_length=2)
    source: str = Field(min_length=1)
    evidence: Evidence


class Cutoff(_Strict):
    """A published cut-off: a respondent is a "case" at or above (or at or below) ``score``."""

    name: str = Field(min_length=1)
    score: float
    case_when: Literal["at_or_above", "at_or_below"]
    meaning: str | None = None
    source: str = Field(min_length=1)
    evidence: Evidence


class Scale(_Strict):
    """A score computed from some of the instrument's items, or from two of its other scales.

    ``method`` is ``mean`` (mean of answered items), ``sum`` (prorated: mean of answered items
    times the number of items, so a missing item does not lower the total) or ``difference``
    (the first scale named in ``of`` minus the second, e.g. SPANE-B = P - N). A respondent with
    fewer than ``min_items`` answered items gets no score; when omitted, every item is required.
    ``reverse_items``, when given, replaces the items' own ``reverse`` flags for this scale only
    (as the keys of psych's ``scoreItems`` are per scale).
    """

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    items: list[str] = Field(default_factory=list)
    of: list[str] | None = None
    method: Method
    min_items: int | None = None
    missing_basis: MissingBasis | None = None
    reverse_items: list[str] | None = None
    higher_is: Direction
    role: Role = "primary"
    domain: str | None = None
    missing_rule: str | None = None
    description: str | None = None
    bands: Bands | None = None
    cutoffs: list[Cutoff] = Field(default_factory=list)

    @property
    def is_composite(self) -> bool:
        """True for a score computed from other scales (``method: difference``)."""
        return self.method == "difference"

    @property
    def required_items(self) -> int:
        """The number of answered items needed for a score."""
        return len(self.items) if self.min_items is None else self.min_items


class Reliability(_Strict):
    """A published reliability figure: one ``value`` or a ``low``-``high`` range."""

    scale: str
    statistic: Literal["alpha", "omega", "test-retest", "split-half"]
    value: float | None = None
    low: float | None = None
    high: float | None = None
    interval: str | None = None
    sample: str | None = None
    source: str = Field(min_length=1)
    evidence: Evidence


class Norm(_Strict):
    """A published reference mean (and SD, where known) for one scale in one population."""

    scale: str
    mean: float
    sd: float | None = None
    n: int | None = None
    population: str = Field(min_length=1)
    source: str = Field(min_length=1)
    evidence: Evidence


class Example(_Strict):
    """A worked example: responses (an item left out or null is unanswered) and expected scores.

    An expected score is a number, an exact fraction written as text (``"31/6"``) or null for
    "not scored" (too few items answered). ``working`` shows the hand calculation.
    """

    description: str = Field(min_length=1)
    responses: dict[str, int | None]
    expect: dict[str, float | str | None] = Field(min_length=1)
    working: str | None = None


class Instrument(_Strict):
    """A validated instrument definition (see the README, "Instrument files")."""

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    short_name: str | None = None
    version: str | None = None
    citation: str = Field(min_length=1)
    license: LicenceClass
    license_note: str | None = None
    response: ResponseScale
    items: list[Item] = Field(min_length=1)
    scales: list[Scale] = Field(min_length=1)
    reliability: list[Reliability] = Field(default_factory=list)
    norms: list[Norm] = Field(default_factory=list)
    examples: list[Example] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def item_ids(self) -> list[str]:
        return [item.id for item in self.items]

    @property
    def reverse_item_ids(self) -> set[str]:
        return {item.id for item in self.items if item.reverse}

    @property
    def column_ids(self) -> list[str]:
        """The item and scale ids: the instrument's export and score column names."""
        return self.item_ids + [scale.id for scale in self.scales]

    @property
    def label(self) -> str:
        """How reports name the instrument: its short name if it has one."""
        return self.short_name or self.name

    @property
    def primary_scales(self) -> list[Scale]:
        """The scales analysed as outcomes by default (``role: primary``)."""
        return [scale for scale in self.scales if scale.role == "primary"]

    def scale(self, scale_id: str) -> Scale:
        """The scale with id ``scale_id`` (KeyError if there is none)."""
        for scale in self.scales:
            if scale.id == scale_id:
                return scale
        raise KeyError(scale_id)

    def reversed_in(self, scale: Scale) -> list[str]:
        """The items reverse-keyed when scoring ``scale``: its own key if it has one, else the items' flags."""
        if scale.reverse_items is not None:
            return list(scale.reverse_items)
        return [item_id for item_id in scale.items if item_id in self.reverse_item_ids]

    def items_of(self, scale: Scale) -> list[str]:
        """Every item a scale's score depends on (for a difference, the items of both its scales)."""
        if not scale.is_composite:
            return list(scale.items)
        ids: list[str] = []
        for part in scale.of or []:
            ids += [item for item in self.items_of(self.scale(part)) if item not in ids]
        return ids


def _scale_problems(instrument: Instrument, index: int, scale: Scale, item_ids: set[str]) -> list[tuple[str, str]]:
    where = f"scales[{index}] ({scale.id})"
    problems: list[tuple[str, str]] = []
    if scale.id in item_ids:
        problems.append((f"{where}.id", f"scale id '{scale.id}' is also an item id; scale ids name score columns"))
    if scale.is_composite:
        parts = scale.of or []
        if scale.items or scale.min_items is not None or scale.reverse_items is not None:
            problems.append((where, "a difference scale takes 'of: [first, second]' and no items, min_items or reverse_items"))
        if len(parts) != 2:
            problems.append((f"{where}.of", f"a difference needs exactly two scale ids (first minus second), got {len(parts)}"))
        for part in parts:
            target = next((s for s in instrument.scales if s.id == part), None)
            if target is None:
                problems.append((f"{where}.of", f"unknown scale '{part}': not in this file's scales"))
            elif target.is_composite or part == scale.id:
                problems.append((f"{where}.of", f"'{part}' must be a scale scored from items"))
        return problems
    if scale.of is not None:
        problems.append((f"{where}.of", f"'of' is only for method 'difference', not '{scale.method}'"))
    if not scale.items:
        problems.append((f"{where}.items", "a mean or sum scale needs at least one item"))
    unknown = [item for item in scale.items if item not in item_ids]
    if unknown:
        problems.append((f"{where}.items", f"unknown item(s) {', '.join(unknown)}: not in this file's items"))
    repeated = sorted({item for item in scale.items if scale.items.count(item) > 1})
    if repeated:
        problems.append((f"{where}.items", f"item(s) listed twice: {', '.join(repeated)}"))
    if scale.min_items is not None and not 1 <= scale.min_items <= len(scale.items):
        problems.append(
            (f"{where}.min_items", f"must be between 1 and the scale's {len(scale.items)} items, got {scale.min_items}")
        )
    outside = [item for item in scale.reverse_items or [] if item not in scale.items]
    if outside:
        problems.append((f"{where}.reverse_items", f"item(s) {', '.join(outside)} are not among this scale's items"))
    return problems


def _reliability_problems(instrument: Instrument) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for index, entry in enumerate(instrument.reliability):
        where = f"reliability[{index}] ({entry.scale})"
        single = entry.value is not None and entry.low is None and entry.high is None
        ranged = entry.value is None and entry.low is not None and entry.high is not None
        if not (single or ranged):
            problems.append((where, "give either 'value' or both 'low' and 'high'"))
        figures = [f for f in (entry.value, entry.low, entry.high) if f is not None]
        if any(not 0 < f <= 1 for f in figures):
            problems.append((where, f"reliability must lie in (0, 1], got {', '.join(map(str, figures))}"))
        if entry.low is not None and entry.high is not None and entry.low > entry.high:
            problems.append((where, f"low ({entry.low}) is above high ({entry.high})"))
    return problems


def _norm_problems(instrument: Instrument) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for index, norm in enumerate(instrument.norms):
        where = f"norms[{index}] ({norm.scale})"
        if norm.sd is not None and norm.sd <= 0:
            problems.append((f"{where}.sd", f"must be positive, got {norm.sd}"))
        if norm.n is not None and norm.n < 1:
            problems.append((f"{where}.n", f"must be at least 1, got {norm.n}"))
    return problems


def _example_problems(instrument: Instrument, item_ids: set[str], scale_ids: list[str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    low, high = instrument.response.min, instrument.response.max
    for index, example in enumerate(instrument.examples):
        where = f"examples[{index}]"
        unknown = [key for key in example.responses if key not in item_ids]
        if unknown:
            problems.append((f"{where}.responses", f"unknown item(s) {', '.join(unknown)}"))
        outside = [f"{key}={value}" for key, value in example.responses.items() if value is not None and not low <= value <= high]
        if outside:
            problems.append((f"{where}.responses", f"{', '.join(outside)} outside the response range {low}..{high}"))
        unknown = [key for key in example.expect if key not in scale_ids]
        if unknown:
            problems.append((f"{where}.expect", f"unknown scale(s) {', '.join(unknown)}"))
    return problems


def clashing_ids(owned) -> list[tuple[str, str, str]]:
    """Ids claimed by two owners, as ``(id, first owner, later owner)`` in the order met.

    ``owned`` is an iterable of ``(owner, ids)`` pairs; an owner may repeat an id of its own.
    """
    first: dict[str, str] = {}
    clashes = []
    for owner, ids in owned:
        for name in ids:
            earlier = first.setdefault(name, owner)
            if earlier != owner:
                clashes.append((name, earlier, owner))
    return clashes


def reference_problems(instrument: Instrument) -> list[tuple[str, str]]:
    """Cross-reference checks pydantic cannot express, as (field path, problem) pairs."""
    problems: list[tuple[str, str]] = []
    low, high = instrument.response.min, instrument.response.max
    if low >= high:
        problems.append(("response", f"min ({low}) must be less than max ({high})"))
    for value in (instrument.response.labels or {}):
        if not low <= value <= high:
            problems.append((f"response.labels.{value}", f"label for {value} lies outside {low}..{high}"))

    item_ids: set[str] = set()
    for index, item in enumerate(instrument.items):
        if item.id in item_ids:
            problems.append((f"items[{index}] ({item.id}).id", f"duplicate item id '{item.id}'"))
        item_ids.add(item.id)

    scale_ids = [scale.id for scale in instrument.scales]
    for index, scale in enumerate(instrument.scales):
        if scale_ids.index(scale.id) != index:
            problems.append((f"scales[{index}] ({scale.id}).id", f"duplicate scale id '{scale.id}'"))
        problems += _scale_problems(instrument, index, scale, item_ids)
    for field, entries in (("reliability", instrument.reliability), ("norms", instrument.norms)):
        for index, entry in enumerate(entries):
            if entry.scale not in scale_ids:
                problems.append((f"{field}[{index}] ({entry.scale}).scale", f"unknown scale '{entry.scale}'"))
    problems += _reliability_problems(instrument)
    problems += _norm_problems(instrument)
    problems += _example_problems(instrument, item_ids, scale_ids)
    return problems


def parse_instrument(data: dict, source: Path | str = "<instrument>") -> Instrument:
    """Validate a parsed instrument mapping; raise :class:`PipelineError` with one clear line if it is wrong."""
    try:
        instrument = Instrument.model_validate(data)
    except ValidationError as exc:
        raise PipelineError(describe_validation_error(source, exc, data)) from None
    problems = reference_problems(instrument)
    if problems:
        raise PipelineError(f"{source}: " + "; ".join(f"{field}: {message}" for field, message in problems))
    return instrument


def local_overlay_dir() -> Path:
    """The folder of local, git-ignored overlays: ``$IMPACT_LOCAL_INSTRUMENTS`` or ``instruments/local``."""
    return Path(os.environ.get(LOCAL_DIR_VARIABLE) or LIBRARY_DIR / "local")


#: What an overlay may contribute: wording for existing items, more scales, and more published facts.
OVERLAY_FIELDS = {"extends", "items", "scales", "examples", "notes", "reliability", "norms"}


def apply_overlay(base: dict, overlay: dict, source: Path | str) -> dict:
    """Merge a local overlay over an instrument's data and return the merged mapping.

    ``items`` are matched by id and their fields updated (an overlay may add ``text`` but not new
    items); ``scales`` with an existing id replace that scale, others are added; ``examples``,
    ``notes``, ``reliability`` and ``norms`` are appended. Anything else is refused, so an overlay
    cannot quietly change a published scoring rule it does not name.
    """
    unknown = sorted(set(overlay) - OVERLAY_FIELDS)
    if unknown:
        raise PipelineError(
            f"{source}: {', '.join(unknown)}: an overlay may only hold {', '.join(sorted(OVERLAY_FIELDS))}"
        )
    if overlay.get("extends") != base.get("id"):
        raise PipelineError(f"{source}: extends: must name the instrument it overlays ('{base.get('id')}')")
    merged = copy.deepcopy(base)
    items = {item.get("id"): item for item in merged.get("items", []) if isinstance(item, dict)}
    for index, extra in enumerate(overlay.get("items") or []):
        if not isinstance(extra, dict) or extra.get("id") not in items:
            raise PipelineError(f"{source}: items[{index}]: overlays add fields to existing items only; no item '{extra.get('id') if isinstance(extra, dict) else extra}'")
        items[extra["id"]].update(extra)
    scales = merged.setdefault("scales", [])
    for extra in overlay.get("scales") or []:
        position = next((i for i, s in enumerate(scales) if isinstance(extra, dict) and s.get("id") == extra.get("id")), None)
        if position is None:
            scales.append(extra)
        else:
            scales[position] = extra
    for field in ("examples", "notes", "reliability", "norms"):
        if overlay.get(field):
            merged[field] = list(merged.get(field) or []) + list(overlay[field])
    return merged


def _wording_problems(data: dict) -> list[str]:
    return [
        f"items[{index}] ({item.get('id')}).text"
        for index, item in enumerate(data.get("items") or [])
        if isinstance(item, dict) and "text" in item
    ]


def load_instrument(path: Path, overlay_dir: Path | None = None) -> Instrument:
    """Read and validate one instrument file, merged with its local overlay if there is one.

    The file's ``id`` must match its file name. Item wording (``text``) is refused in the file
    itself: it may come only from the overlay ``<overlay_dir>/<id>.yaml``.
    """
    path = Path(path)
    data = read_yaml_mapping(path)
    wording = _wording_problems(data)
    if wording:
        raise PipelineError(
            f"{path}: {', '.join(wording)}: item wording must not be shipped in a shared file; "
            "keep it in a local overlay (instruments/local/, see the README)"
        )
    overlay_dir = local_overlay_dir() if overlay_dir is None else overlay_dir
    overlay_path = overlay_dir / f"{path.stem}.yaml"
    source: str | Path = path
    if overlay_path.is_file() and overlay_path.resolve() != path.resolve():
        data = apply_overlay(data, read_yaml_mapping(overlay_path), overlay_path)
        source = f"{path} + {overlay_path}"
    instrument = parse_instrument(data, source)
    if instrument.id != path.stem:
        raise PipelineError(
            f"{path}: id: '{instrument.id}' does not match the file name; name the file {instrument.id}.yaml"
        )
    return instrument


def find_instrument(instrument_id: str, search_dirs: list[Path]) -> Path:
    """Return the first ``<id>.yaml`` (or ``.yml``) found in ``search_dirs``, in order."""
    for directory in search_dirs:
        for suffix in (".yaml", ".yml"):
            candidate = directory / f"{instrument_id}{suffix}"
            if candidate.is_file():
                return candidate
    looked = ", ".join(str(d) for d in search_dirs)
    raise PipelineError(f"instrument '{instrument_id}' not found (looked for {instrument_id}.yaml in: {looked})")


def instrument_files(directory: Path) -> list[Path]:
    """The instrument files directly inside ``directory`` (``*.yaml`` and ``*.yml``), sorted."""
    return sorted(path for path in Path(directory).glob("*.y*ml") if path.suffix in (".yaml", ".yml"))


def library_instruments(library_dir: Path = LIBRARY_DIR) -> list[Instrument]:
    """Load every instrument file in the library, sorted by id."""
    return [load_instrument(path) for path in instrument_files(library_dir)]
