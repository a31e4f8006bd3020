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
import re
import stat
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import PipelineError
from .errors import MESSAGE_LIMIT, join_problems, printable, shown
from .yamlio import describe_validation_error, plain_name, read_yaml_mapping

#: Item, scale and instrument ids become column names, so they are restricted to identifiers.
ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"
#: Longest id: ids are column and file names, and messages quote them.
ID_MAX_LENGTH = 64

#: Most response options (``max - min + 1``): room for a 0-100 slider or a 0-1000 visual analogue
#: scale. Checks reason about the range arithmetically, but a cap keeps every score's exact
#: denominators, and the work of checking bands (:mod:`pipeline.instrument_check`), small.
MAX_RESPONSE_OPTIONS = 1001
#: Most items in one instrument file (the longest common inventories have a few hundred).
MAX_ITEMS = 1000
#: Most band levels per scale (published bandings have two to seven).
MAX_BAND_LEVELS = 20
#: Most worked examples per file (they are scored together: examples x items cells).
MAX_EXAMPLES = 100

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
    # allow_inf_nan: a NaN bound compares false with everything, so a band or norm would silently pass.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class ResponseScale(_Strict):
    """The integer response range shared by all items, with optional anchor labels."""

    min: int
    max: int
    labels: dict[int, str] | None = None


class Item(_Strict):
    """One questionnaire item: an id (its column name in exports) and a short content label.

    ``text`` (the item's wording) is accepted only from a local overlay, never from a shared file.
    """

    id: str = Field(pattern=ID_PATTERN, max_length=ID_MAX_LENGTH)
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

    id: str = Field(pattern=ID_PATTERN, max_length=ID_MAX_LENGTH)
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

    id: str = Field(pattern=ID_PATTERN, max_length=ID_MAX_LENGTH)
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
        flagged = self.reverse_item_ids  # a property: computed once, not once per item
        return [item_id for item_id in scale.items if item_id in flagged]

    def items_of(self, scale: Scale) -> list[str]:
        """Every item a scale's score depends on (for a difference, the items of both its scales)."""
        if not scale.is_composite:
            return list(scale.items)
        ids: dict[str, None] = {}
        for part in scale.of or []:
            ids.update(dict.fromkeys(self.items_of(self.scale(part))))
        return list(ids)


def _listed(names, most: int = 3) -> str:
    """Names for a message: the first ``most`` as written, then how many more (a list may be long)."""
    names = [plain_name(name) for name in names]
    more = len(names) - most
    return ", ".join(names[:most]) + (f" and {more} more" if more > 0 else "")


def _scale_problems(index: int, scale: Scale, scales: dict[str, Scale], item_ids: set[str]) -> list[tuple[str, str]]:
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
        for part in parts[:2]:
            target = scales.get(part)
            if target is None:
                problems.append((f"{where}.of", f"unknown scale {shown(part)}: not in this file's scales"))
            elif target.is_composite or part == scale.id:
                problems.append((f"{where}.of", f"{shown(part)} must be a scale scored from items"))
        return problems
    if scale.of is not None:
        problems.append((f"{where}.of", f"'of' is only for method 'difference', not '{scale.method}'"))
    if not scale.items:
        problems.append((f"{where}.items", "a mean or sum scale needs at least one item"))
    unknown = [item for item in scale.items if item not in item_ids]
    if unknown:
        problems.append((f"{where}.items", f"unknown item(s) {_listed(unknown)}: not in this file's items"))
    repeated = sorted(item for item, count in Counter(scale.items).items() if count > 1)
    if repeated:
        problems.append((f"{where}.items", f"item(s) listed twice: {_listed(repeated)}"))
    if scale.min_items is not None and not 1 <= scale.min_items <= len(scale.items):
        problems.append(
            (f"{where}.min_items", f"must be between 1 and the scale's {len(scale.items)} items, got {shown(scale.min_items)}")
        )
    members = set(scale.items)
    outside = [item for item in scale.reverse_items or [] if item not in members]
    if outside:
        problems.append((f"{where}.reverse_items", f"item(s) {_listed(outside)} are not among this scale's items"))
    if scale.bands is not None and len(scale.bands.levels) > MAX_BAND_LEVELS:
        problems.append(
            (f"{where}.bands.levels", f"{len(scale.bands.levels)} bands; at most {MAX_BAND_LEVELS} are supported (published bandings have two to seven)")
        )
    return problems


def _reliability_problems(instrument: Instrument) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for index, entry in enumerate(instrument.reliability):
        where = f"reliability[{index}] ({plain_name(entry.scale)})"
        single = entry.value is not None and entry.low is None and entry.high is None
        ranged = entry.value is None and entry.low is not None and entry.high is not None
        if not (single or ranged):
            problems.append((where, "give either 'value' or both 'low' and 'high'"))
        figures = [f for f in (entry.value, entry.low, entry.high) if f is not None]
        if any(not 0 < f <= 1 for f in figures):
            problems.append((where, f"reliability must lie in (0, 1], got {', '.join(f'{f:.6g}' for f in figures)}"))
        if entry.low is not None and entry.high is not None and entry.low > entry.high:
            problems.append((where, f"low ({entry.low:.6g}) is above high ({entry.high:.6g})"))
    return problems


def _norm_problems(instrument: Instrument) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for index, norm in enumerate(instrument.norms):
        where = f"norms[{index}] ({plain_name(norm.scale)})"
        if norm.sd is not None and norm.sd <= 0:
            problems.append((f"{where}.sd", f"must be positive, got {norm.sd:.6g}"))
        if norm.n is not None and norm.n < 1:
            problems.append((f"{where}.n", f"must be at least 1, got {shown(norm.n)}"))
    return problems


def _example_problems(instrument: Instrument, item_ids: set[str], scale_ids: set[str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    low, high = instrument.response.min, instrument.response.max
    if len(instrument.examples) > MAX_EXAMPLES:
        problems.append(("examples", f"{len(instrument.examples)} worked examples; at most {MAX_EXAMPLES} are supported (two or three per scale is plenty)"))
    for index, example in enumerate(instrument.examples[:MAX_EXAMPLES]):
        where = f"examples[{index}]"
        unknown = [key for key in example.responses if key not in item_ids]
        if unknown:
            problems.append((f"{where}.responses", f"unknown item(s) {_listed(unknown)}"))
        outside = [f"{key}={value}" for key, value in example.responses.items() if value is not None and not low <= value <= high]
        if outside:
            problems.append((f"{where}.responses", f"{_listed(outside)} outside the response range {low}..{high}"))
        unknown = [key for key in example.expect if key not in scale_ids]
        if unknown:
            problems.append((f"{where}.expect", f"unknown scale(s) {_listed(unknown)}"))
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


def _response_problems(instrument: Instrument) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    low, high = instrument.response.min, instrument.response.max
    if low >= high:
        problems.append(("response", f"min ({low}) must be less than max ({high})"))
    elif high - low + 1 > MAX_RESPONSE_OPTIONS:
        # Arithmetic only: the range is never enumerated, however wide.
        problems.append(
            ("response", f"{low}..{high} gives {high - low + 1} response options; at most {MAX_RESPONSE_OPTIONS} are supported: use a narrower range such as 0..1000")
        )
    for value in instrument.response.labels or {}:
        if not low <= value <= high:
            problems.append((f"response.labels.{value}", f"label for {value} lies outside {low}..{high}"))
    if len(instrument.items) > MAX_ITEMS:
        problems.append(("items", f"{len(instrument.items)} items; at most {MAX_ITEMS} are supported in one file"))
    return problems


def reference_problems(instrument: Instrument) -> list[tuple[str, str]]:
    """Cross-reference checks pydantic cannot express, as (field path, problem) pairs.

    Every check is linear in the size of the definition (sets and counts, never a search per
    entry), and the response range is checked arithmetically against :data:`MAX_RESPONSE_OPTIONS`.
    """
    problems = _response_problems(instrument)
    item_ids: set[str] = set()
    for index, item in enumerate(instrument.items):
        if item.id in item_ids:
            problems.append((f"items[{index}] ({item.id}).id", f"duplicate item id '{item.id}'"))
        item_ids.add(item.id)

    scales: dict[str, Scale] = {}
    for index, scale in enumerate(instrument.scales):
        if scale.id in scales:
            problems.append((f"scales[{index}] ({scale.id}).id", f"duplicate scale id '{scale.id}'"))
        scales.setdefault(scale.id, scale)
    for index, scale in enumerate(instrument.scales):
        problems += _scale_problems(index, scale, scales, item_ids)
    for field, entries in (("reliability", instrument.reliability), ("norms", instrument.norms)):
        for index, entry in enumerate(entries):
            if entry.scale not in scales:
                problems.append((f"{field}[{index}] ({plain_name(entry.scale)}).scale", f"unknown scale {shown(entry.scale)}"))
    problems += _reliability_problems(instrument)
    problems += _norm_problems(instrument)
    problems += _example_problems(instrument, item_ids, set(scales))
    return problems


def parse_instrument(data: dict, source: Path | str = "<instrument>") -> Instrument:
    """Validate a parsed instrument mapping; raise :class:`PipelineError` with one clear line if it is wrong."""
    try:
        instrument = Instrument.model_validate(data)
    except ValidationError as exc:
        raise PipelineError(describe_validation_error(source, exc, data)) from None
    problems = reference_problems(instrument)
    if problems:
        raise PipelineError(join_problems(source, [f"{field}: {message}" for field, message in problems]))
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
    cannot quietly change a published scoring rule it does not name. Neither mapping has been
    validated yet, so entries of the wrong shape are left for :func:`parse_instrument` to name.
    """
    unknown = sorted((key for key in overlay if key not in OVERLAY_FIELDS), key=str)
    if unknown:
        raise PipelineError(
            join_problems(source, [f"{_listed(unknown)}: an overlay may only hold {', '.join(sorted(OVERLAY_FIELDS))}"])
        )
    if overlay.get("extends") != base.get("id"):
        raise PipelineError(join_problems(source, [f"extends: must name the instrument it overlays ({shown(base.get('id'))})"]))
    for field in OVERLAY_FIELDS - {"extends"}:
        if overlay.get(field) is not None and not isinstance(overlay[field], list):
            raise PipelineError(join_problems(source, [f"{field}: must be a list (- entries), like the instrument file's own {field}"]))
    merged = copy.deepcopy(base)
    base_items = merged.get("items") if isinstance(merged.get("items"), list) else []
    items = {item["id"]: item for item in base_items if isinstance(item, dict) and isinstance(item.get("id"), str)}
    for index, extra in enumerate(overlay.get("items") or []):
        wanted = extra.get("id") if isinstance(extra, dict) else extra
        if not isinstance(wanted, str) or wanted not in items:
            raise PipelineError(join_problems(source, [f"items[{index}]: overlays add fields to existing items only; no item {shown(wanted)}"]))
        items[wanted].update(extra)
    if overlay.get("scales"):
        scales = merged["scales"] = list(merged.get("scales")) if isinstance(merged.get("scales"), list) else []
        # Position of each base scale by id (the first, as Instrument.scale finds it): no search per overlay entry.
        position: dict[str, int] = {}
        for index, scale in enumerate(scales):
            if isinstance(scale, dict) and isinstance(scale.get("id"), str):
                position.setdefault(scale["id"], index)
        for extra in overlay["scales"]:
            wanted = extra.get("id") if isinstance(extra, dict) else None
            if isinstance(wanted, str) and wanted in position:
                scales[position[wanted]] = extra
            else:
                scales.append(extra)
    for field in ("examples", "notes", "reliability", "norms"):
        if overlay.get(field):
            own = merged.get(field)
            merged[field] = (own if isinstance(own, list) else []) + list(overlay[field])
    return merged


def _wording_problems(data: dict) -> list[str]:
    items = data.get("items")
    return [
        f"items[{index}] ({plain_name(item.get('id'))}).text"
        for index, item in enumerate(items if isinstance(items, list) else [])
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
            f"{printable(path)}: {wording[0]}{f' and {len(wording) - 1} more' if len(wording) > 1 else ''}: item wording must not be shipped in a shared file; "
            "keep it in a local overlay (instruments/local/, see the README)"
        )
    overlay_dir = local_overlay_dir() if overlay_dir is None else overlay_dir
    overlay_path = overlay_dir / f"{path.stem}.yaml"
    source: str | Path = path
    # lexists, not is_file: an overlay that is a FIFO or a broken link is refused by the reader, not skipped.
    if os.path.lexists(overlay_path) and overlay_path.resolve() != path.resolve():
        data = apply_overlay(data, read_yaml_mapping(overlay_path), overlay_path)
        source = f"{path} + {overlay_path}"
    instrument = parse_instrument(data, source)
    if instrument.id != path.stem:
        raise PipelineError(
            f"{printable(path)}: id: '{instrument.id}' does not match the file name; name the file {instrument.id}.yaml"
        )
    return instrument


def find_instrument(instrument_id: str, search_dirs: list[Path]) -> Path:
    """Return the first ``<id>.yaml`` (or ``.yml``) found in ``search_dirs``, in order.

    The id is checked against :data:`ID_PATTERN` before any path is built from it (so
    ``../elsewhere/x`` names no file), and a match must be a regular file: a FIFO, folder or
    broken link of that name is refused rather than silently skipped for the next folder.
    """
    if not isinstance(instrument_id, str) or len(instrument_id) > ID_MAX_LENGTH or not re.match(ID_PATTERN, instrument_id):
        raise PipelineError(
            f"instrument {shown(instrument_id)} is not a valid id: start with a letter, then letters, digits or underscores only"
        )
    for directory in search_dirs:
        for suffix in (".yaml", ".yml"):
            candidate = Path(directory) / f"{instrument_id}{suffix}"
            try:
                mode = os.stat(candidate).st_mode
            except FileNotFoundError:
                if os.path.lexists(candidate):
                    raise PipelineError(f"{printable(candidate)}: a broken link; point it at an instrument file or remove it") from None
                continue
            except OSError as exc:
                raise PipelineError(f"{printable(candidate)}: cannot be read ({printable(exc.strerror or exc)}); check its permissions") from None
            if not stat.S_ISREG(mode):
                raise PipelineError(f"{printable(candidate)}: not a regular file (a folder, pipe or device); an instrument must be a YAML file")
            return candidate
    looked = ", ".join(printable(d) for d in search_dirs)
    message = f"instrument '{instrument_id}' not found (looked for {instrument_id}.yaml in: {looked})"
    if len(message) > MESSAGE_LIMIT:
        message = f"instrument '{instrument_id}' not found (looked for {instrument_id}.yaml in {len(search_dirs)} folders)"
    raise PipelineError(message)


def instrument_files(directory: Path) -> list[Path]:
    """The instrument files directly inside ``directory`` (``*.yaml`` and ``*.yml``), sorted."""
    return sorted(path for path in Path(directory).glob("*.y*ml") if path.suffix in (".yaml", ".yml"))


def library_instruments(library_dir: Path = LIBRARY_DIR) -> list[Instrument]:
    """Load every instrument file in the library, sorted by id."""
    return [load_instrument(path) for path in instrument_files(library_dir)]


# --- published figures the analysis may rely on -----------------------------------------------

#: Evidence good enough for a published figure to be used in place of the sample's.
TRUSTED_EVIDENCE = ("verified", "secondary")
#: Which reliability statistic reliable change prefers when several are published (Evans et al., 1998).
RELIABILITY_PREFERENCE = ("alpha", "omega", "test-retest", "split-half")


def published_sd(instrument: Instrument, scale: Scale) -> float | None:
    """The first norm SD declared for ``scale`` with verified or secondary evidence."""
    for norm in instrument.norms:
        if norm.scale == scale.id and norm.sd is not None and norm.evidence in TRUSTED_EVIDENCE:
            return norm.sd
    return None


def published_reliability(instrument: Instrument, scale: Scale) -> tuple[float, str] | None:
    """The preferred single reliability figure declared for ``scale`` with verified or secondary evidence."""
    candidates = [
        entry
        for entry in instrument.reliability
        if entry.scale == scale.id and entry.value is not None and entry.evidence in TRUSTED_EVIDENCE
    ]
    for statistic in RELIABILITY_PREFERENCE:
        for entry in candidates:
            if entry.statistic == statistic:
                return entry.value, statistic
    return None
