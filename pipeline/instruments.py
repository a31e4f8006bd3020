"""Instrument definitions: the declarative YAML files in ``instruments/`` as validated Python objects.

An instrument file declares its response scale, its items (short content labels, never item
wording), which items are reverse-keyed, and one or more scales with a scoring rule. The shape of
a file is checked by pydantic models with unknown keys refused (a misspelt ``reverse:`` must not
be ignored); the cross-references (scale items exist, ids unique, ``min_items`` in range) are
checked afterwards so that each message can name the field that is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import PipelineError
from .yamlio import describe_validation_error, read_yaml_mapping

#: Item, scale and instrument ids become column names, so they are restricted to identifiers.
ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"

#: Where the instrument library lives when the package runs from its repository.
LIBRARY_DIR = Path(__file__).resolve().parent.parent / "instruments"

Method = Literal["mean", "sum"]
Direction = Literal["better", "worse", "neutral"]
LicenceClass = Literal["public-domain", "free-research", "permission-required", "commercial"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ResponseScale(_Strict):
    """The integer response range shared by all items, with optional anchor labels."""

    min: int
    max: int
    labels: dict[int, str] | None = None


class Item(_Strict):
    """One questionnaire item: an id (its column name in exports) and a short content label."""

    id: str = Field(pattern=ID_PATTERN)
    label: str = Field(min_length=1)
    reverse: bool = False


class Scale(_Strict):
    """A score computed from some of the instrument's items.

    ``method`` is ``mean`` (mean of answered items) or ``sum`` (prorated: mean of answered
    items times the number of items, so a missing item does not lower the total). A
    respondent with fewer than ``min_items`` answered items gets no score; when omitted,
    every item is required.
    """

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    items: list[str] = Field(min_length=1)
    method: Method
    min_items: int | None = None
    higher_is: Direction
    domain: str | None = None
    missing_rule: str | None = None
    description: str | None = None

    @property
    def required_items(self) -> int:
        """The number of answered items needed for a score."""
        return len(self.items) if self.min_items is None else self.min_items


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
    notes: list[str] = Field(default_factory=list)

    @property
    def item_ids(self) -> list[str]:
        return [item.id for item in self.items]

    @property
    def reverse_item_ids(self) -> set[str]:
        return {item.id for item in self.items if item.reverse}

    @property
    def label(self) -> str:
        """How reports name the instrument: its short name if it has one."""
        return self.short_name or self.name


def reference_problems(instrument: Instrument) -> list[tuple[str, str]]:
    """Cross-reference checks pydantic cannot express, as (field path, problem) pairs."""
    problems: list[tuple[str, str]] = []
    low, high = instrument.response.min, instrument.response.max
    if low >= high:
        problems.append(("response", f"min ({low}) must be less than max ({high})"))
    for value in (instrument.response.labels or {}):
        if not low <= value <= high:
            problems.append((f"response.labels.{value}", f"label for {value} lies outside {low}..{high}"))

    seen_items: set[str] = set()
    for index, item in enumerate(instrument.items):
        if item.id in seen_items:
            problems.append((f"items[{index}] ({item.id}).id", f"duplicate item id '{item.id}'"))
        seen_items.add(item.id)

    seen_scales: set[str] = set()
    for index, scale in enumerate(instrument.scales):
        where = f"scales[{index}] ({scale.id})"
        if scale.id in seen_scales:
            problems.append((f"{where}.id", f"duplicate scale id '{scale.id}'"))
        if scale.id in seen_items:
            problems.append((f"{where}.id", f"scale id '{scale.id}' is also an item id; scale ids name score columns"))
        seen_scales.add(scale.id)
        unknown = [item for item in scale.items if item not in seen_items]
        if unknown:
            problems.append((f"{where}.items", f"unknown item(s) {', '.join(unknown)}: not in this file's items"))
        repeated = sorted({item for item in scale.items if scale.items.count(item) > 1})
        if repeated:
            problems.append((f"{where}.items", f"item(s) listed twice: {', '.join(repeated)}"))
        if scale.min_items is not None and not 1 <= scale.min_items <= len(scale.items):
            problems.append(
                (f"{where}.min_items", f"must be between 1 and the scale's {len(scale.items)} items, got {scale.min_items}")
            )
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


def load_instrument(path: Path) -> Instrument:
    """Read and validate one instrument file. The file's ``id`` must match its file name."""
    instrument = parse_instrument(read_yaml_mapping(path), path)
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


def library_instruments(library_dir: Path = LIBRARY_DIR) -> list[Instrument]:
    """Load every instrument file in the library, sorted by id."""
    return [load_instrument(path) for path in sorted(library_dir.glob("*.y*ml"))]
