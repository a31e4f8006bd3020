"""Study definitions: ``surveys/<study>/study.yaml`` resolved into paths and instruments.

A study names its participant id column, its instruments (looked up in the study folder's own
``instruments/`` first, then in the library) and its waves: an ordered mapping of 2 to 12, in time
order, the first being the baseline and ``analysis.primary`` (default: the second) the primary
endpoint; every name is a role the code reads from here, never a literal. A wave is an export file whose
path is relative to the study folder, written either as the path alone (a plain UTF-8 CSV whose
item columns are named by item id) or as a mapping that says how to read it: its ``format``
(csv, tsv, excel, spss, qualtrics, redcap), ``encoding``, ``delimiter``, ``sheet``, the REDCap
``event`` of the wave, and how export columns map to item ids (``columns`` and
``column_pattern``). The study-wide ``data`` options say which rows are usable (``unfinished``,
``duplicates``, ``consent``), which cells mean "missing" (``missing_values``), how ids are
normalised (``id_case``) and pseudonymised (``pseudonymise``), and which columns identify people
(``identifiers``). ``subgroups`` names baseline-export columns holding a participant attribute
(a cohort, a site) by which results are also broken down (exploratory; :mod:`pipeline.subgroups`).
``groups`` makes it a two-group study: a baseline-export column whose values say whether each
participant is in the program group or the comparison group (:class:`Groups`; values compared
with case and whitespace ignored, :func:`normalise_group_value`), how they were assigned
(``randomised`` or ``not-randomised``), optional report labels and the What Works Clearinghouse
attrition boundary (``cautious`` or ``liberal``).
The README's "Running a study" section and its subsections document every field.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import PipelineError, join_problems
from .instruments import ID_PATTERN, LIBRARY_DIR, Instrument, Scale, clashing_ids, find_instrument, load_instrument
from .privacy import identifying_reason
from .yamlio import describe_validation_error, read_yaml_mapping

STUDY_FILE = "study.yaml"
#: Wave names: identifiers that every fielding target accepts (REDCap, XLSForm, SPSS), and that can
#: never be confused with a path or a column suffix.
WAVE_NAME = r"^[a-z][a-z0-9_]{0,25}$"
MIN_WAVES, MAX_WAVES = 2, 12


class AnalysisOptions(BaseModel):
    """Which multiple-testing correction decides a variable's ``outcome``, at which alpha, whether
    instruments' secondary scores (``role: secondary``) join the analysed family, which wave is the
    primary endpoint (default: the second), and the equivalence margin (in d_z) of a maintenance test."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    correction: Literal["holm", "fdr"] = "holm"
    alpha: float = Field(default=0.05, gt=0, lt=1)
    include_secondary: bool = False
    primary: str | None = None
    maintenance_margin_dz: float | None = Field(default=None, gt=0, le=2)


class ReportOptions(BaseModel):
    """How the reports are made (``report:`` in ``study.yaml``): an optional logo inside the study
    folder, the order in which domains are listed (unlisted ones follow in study order), the cover's
    subtitle, the small-cell suppression threshold, and an optional archival/accessible PDF variant."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    logo: str | None = None
    domain_order: list[Annotated[str, Field(min_length=1, max_length=60)]] | None = None
    subtitle: str | None = Field(default=None, min_length=1, max_length=160)
    suppression_threshold: int = Field(default=10, ge=1, le=100)
    pdf_variant: Literal["pdf/ua-1", "pdf/ua-2", "pdf/a-3a", "pdf/a-3u"] | None = None

    @field_validator("suppression_threshold")
    @classmethod
    def _threshold_hides_something(cls, threshold: int) -> int:
        if threshold == 2:
            raise ValueError('2 would hide nothing ("<2" can only mean 1): use 1 to turn suppression off, or 3 or more')
        return threshold


LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")


def delimiter_problem(delimiter: str) -> str | None:
    """Why ``delimiter`` cannot separate columns (the quote character, a line end, a letter or digit,
    an invisible character), or None; a tab is fine."""
    if delimiter == "\t":
        return None
    if delimiter in "\"'":
        return "the quote character"
    if delimiter in "\r\n":
        return "a line end"
    if delimiter.isalnum():
        return "a letter or digit, which the data contain"
    if not delimiter.isprintable():
        return "an invisible character"
    return None


def text_encoding(name: str) -> bool | None:
    """True when ``name`` is a codec that turns bytes into text, False for one that does not
    (base64, zlib, rot13...), None for an unknown name."""
    try:
        return bool(getattr(codecs.lookup(name), "_is_text_encoding", True))
    except LookupError:
        return None


FORMAT_BY_SUFFIX = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".xlsx": "excel", ".sav": "spss"}


class WaveSource(BaseModel):
    """How to read one wave's export (``waves.<wave>`` in ``study.yaml``), and how reports name it:
    ``label`` (e.g. "6 months after") and ``weeks`` since baseline (spaces a trajectory chart)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    file: str = Field(min_length=1)
    format: Literal["csv", "tsv", "excel", "spss", "qualtrics", "redcap", "odk"] | None = None
    encoding: str = "utf-8"
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)
    sheet: str | None = None
    event: str | None = None
    dictionary: str | None = Field(default=None, min_length=1)
    columns: dict[str, str] = Field(default_factory=dict)
    column_pattern: str | None = None
    label: str | None = Field(default=None, min_length=1, max_length=40)
    weeks: float | None = Field(default=None, ge=0, le=1040)

    @field_validator("weeks", mode="before")
    @classmethod
    def _weeks_is_a_number(cls, weeks):
        """``weeks: 26`` (an integer) is as good as ``26.0``; strict mode would refuse it."""
        return float(weeks) if isinstance(weeks, int) and not isinstance(weeks, bool) else weeks

    @field_validator("delimiter")
    @classmethod
    def _delimiter_separates(cls, delimiter: str | None) -> str | None:
        """A delimiter is one printable separator (or a tab): not a letter, digit, quote or line break."""
        why = delimiter_problem(delimiter) if delimiter is not None else None
        if why:
            raise ValueError(f"{delimiter!r} cannot separate columns: it is {why}; use the character between the export's columns, e.g. ';', '|' or '\\t'")
        return delimiter

    @field_validator("encoding")
    @classmethod
    def _known_text_encoding(cls, encoding: str) -> str:
        if not text_encoding(encoding):
            raise ValueError(f"{encoding[:40]!r} is not a text encoding; use e.g. utf-8, latin-1, cp1252 or utf-16")
        return encoding

    @property
    def resolved_format(self) -> str:
        """The declared format, else the one the file name implies (``.xlsx`` excel, ``.sav`` spss, else csv)."""
        return self.format or FORMAT_BY_SUFFIX.get(Path(self.file).suffix.lower(), "csv")

    def export_column(self, item_id: str) -> str:
        """The export column holding ``item_id``: an explicit mapping, else the pattern, else the id itself."""
        if item_id in self.columns:
            return self.columns[item_id]
        if self.column_pattern:
            return self.column_pattern.replace("{item}", item_id)
        return item_id


class Consent(BaseModel):
    """A consent column and the answers that mean "consented"; other rows are excluded as ``no_consent``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    column: str = Field(min_length=1)
    accept: list[str] = Field(default_factory=lambda: ["1", "yes", "true", "agree", "i agree"], min_length=1)


class Pseudonymise(BaseModel):
    """Replace participant ids by HMAC-SHA-256 codes; the key comes from an environment variable or a file outside the repository."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    key_env: str | None = "IMPACT_ID_KEY"
    key_file: str | None = None


class DataOptions(BaseModel):
    """Which rows and cells are usable, and how ids are handled (``data:`` in ``study.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    unfinished: Literal["exclude", "keep"] = "exclude"
    duplicates: Literal["most_complete", "latest", "first", "stop"] = "most_complete"
    timestamp_column: str | None = None
    consent: Consent | None = None
    missing_values: list[str] = Field(default_factory=list)
    id_case: Literal["preserve", "lower", "upper"] = "preserve"
    pseudonymise: Pseudonymise | None = None
    allow_outside: bool = False


#: The two groups of a two-group study, in the order tables list them.
GROUP_ROLES = ("program", "comparison")
#: Longest value a ``groups.program`` / ``groups.comparison`` list may hold (a group is a short category).
GROUP_VALUE_MAX_LENGTH = 200
DEFAULT_GROUP_LABELS = {"program": "Program group", "comparison": "Comparison group"}


def normalise_group_value(value) -> str:
    """A group value as it is compared: every whitespace character removed, then case-folded.

    >>> [normalise_group_value(v) for v in [" Program ", "PROGRAM", "wait list", "Waitlist"]]
    ['program', 'program', 'waitlist', 'waitlist']
    """
    return "".join(str(value).split()).casefold()


class GroupLabels(BaseModel):
    """How reports name the two groups (``groups.labels``), e.g. ``{program: Purpose Pathways, comparison: Waitlist}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    program: str | None = Field(default=None, min_length=1, max_length=40)
    comparison: str | None = Field(default=None, min_length=1, max_length=40)


GroupValue = Annotated[str, Field(min_length=1, max_length=GROUP_VALUE_MAX_LENGTH)]


class Groups(BaseModel):
    """A two-group study (``groups:`` in ``study.yaml``): the baseline-export ``column`` holding each
    participant's group, the values meaning the ``program`` group and the ``comparison`` group (case
    and whitespace ignored), how participants were assigned, optional report ``labels``, and the
    What Works Clearinghouse attrition boundary (``cautious`` by default, or ``liberal``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    column: str = Field(min_length=1)
    program: list[GroupValue] = Field(min_length=1)
    comparison: list[GroupValue] = Field(min_length=1)
    assignment: Literal["randomised", "not-randomised"]
    labels: GroupLabels = GroupLabels()
    attrition_boundary: Literal["cautious", "liberal"] = "cautious"

    @field_validator("program", "comparison", mode="before")
    @classmethod
    def _values_are_a_list_of_text(cls, values, info):
        """``program: program`` is a slip for ``program: [program]``; a whole number (``[1]``) is the
        text of that number, as the export holds it; YAML's true/false (``yes``, ``no``) must be quoted."""
        role = info.field_name
        if isinstance(values, str):
            example = values if values.isprintable() and len(values) <= 20 else role
            raise ValueError(f"must be a list of values, e.g. {role}: [{example}]")
        if isinstance(values, list):
            if not values:
                raise ValueError(f"must list at least one value, e.g. {role}: [{'program' if role == 'program' else 'waitlist'}]")
            if any(isinstance(value, bool) for value in values):
                raise ValueError("a value YAML reads as true/false (yes, no, on, off): write it in quotes, e.g. ['yes']")
            return [str(value) if isinstance(value, int) else value for value in values]
        return values

    @field_validator("program", "comparison")
    @classmethod
    def _values_are_not_blank(cls, values: list[str]) -> list[str]:
        if any(not normalise_group_value(value) for value in values):
            raise ValueError("a value is blank; a blank cell is in neither group (its row is excluded as unknown_group)")
        return values

    def role_of(self, value: str) -> str | None:
        """The group ``value`` names, "program" or "comparison", or None (a blank, or a value in neither list)."""
        folded = normalise_group_value(value)
        if not folded:
            return None
        for role in GROUP_ROLES:
            if folded in {normalise_group_value(v) for v in getattr(self, role)}:
                return role
        return None

    def label(self, role: str) -> str:
        """How reports name the group ``role``: ``labels.<role>``, else "Program group" / "Comparison group"."""
        if role not in GROUP_ROLES:
            raise ValueError(f"not a group role: {role!r}; one of {', '.join(GROUP_ROLES)}")
        return getattr(self.labels, role) or DEFAULT_GROUP_LABELS[role]


class StudyConfig(BaseModel):
    """The fields of ``study.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = Field(min_length=1)
    id_column: str = Field(min_length=1)
    instruments: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(min_length=1)
    waves: dict[Annotated[str, Field(pattern=WAVE_NAME)], WaveSource] = Field(min_length=MIN_WAVES, max_length=MAX_WAVES)
    identifiers: list[str] = Field(default_factory=list)
    subgroups: list[str] = Field(default_factory=list)
    groups: Groups | None = None
    data: DataOptions = DataOptions()
    program: str | None = None
    organisation: str | None = None
    period: str | None = None
    description: str | None = None
    analysis: AnalysisOptions = AnalysisOptions()
    #: Where the run computes: ``memory`` (pandas), ``duckdb`` (out of core, :mod:`pipeline.engine_duckdb`),
    #: or ``auto``: DuckDB above ``engine_duckdb.AUTO_DUCKDB_BYTES`` of exports.
    engine: Literal["auto", "memory", "duckdb"] = "auto"
    enrolled: int | None = Field(default=None, ge=1)
    report: ReportOptions = ReportOptions()

    @field_validator("waves", mode="before")
    @classmethod
    def _path_is_a_csv_source(cls, waves):
        """A wave written as a bare path is a plain CSV: the same as ``{file: <path>}``."""
        if not isinstance(waves, dict):
            if isinstance(waves, list):
                raise ValueError("waves must be a mapping in time order, e.g. waves: {pre: pre.csv, post: post.csv}")
            return waves
        if not MIN_WAVES <= len(waves) <= MAX_WAVES:
            raise ValueError(
                f"a study has {MIN_WAVES} to {MAX_WAVES} waves in time order (the first is the baseline); found {len(waves)}"
            )
        for wave in waves:
            if not isinstance(wave, str) or not re.match(WAVE_NAME, wave):
                raise ValueError(
                    f"wave name {str(wave)[:30]!r} must be lower-case letters, digits and _ (a letter first, at most 26), e.g. followup_6m"
                )
        for wave, entry in waves.items():
            if not isinstance(entry, (str, dict)):
                raise ValueError(f"waves.{wave} must be a file path or a mapping such as {{file: pre.csv, format: csv}}")
        return {wave: {"file": entry} if isinstance(entry, str) else entry for wave, entry in waves.items()}

    @field_validator("subgroups", mode="before")
    @classmethod
    def _subgroups_are_a_list(cls, subgroups):
        """``subgroups: cohort`` is a common slip for ``subgroups: [cohort]``: say so rather than "not a list"."""
        if isinstance(subgroups, str):
            raise ValueError(f"subgroups must be a list of column names, e.g. subgroups: [{subgroups}]")
        return subgroups

    @field_validator("groups", mode="before")
    @classmethod
    def _groups_are_a_mapping(cls, groups):
        """``groups: arm`` (the column alone) says too little: show the mapping it needs."""
        if isinstance(groups, (str, list)):
            column = groups if isinstance(groups, str) and groups.isprintable() and 0 < len(groups) <= 20 else "arm"
            raise ValueError(
                f"groups is a mapping, e.g. groups: {{column: {column}, program: [program], comparison: [waitlist], assignment: randomised}}"
            )
        return groups


@dataclass(frozen=True)
class Study:
    """A study with its files resolved and its instruments loaded."""

    folder: Path
    config: StudyConfig
    instruments: tuple[Instrument, ...]
    instrument_files: tuple[Path, ...]

    @property
    def wave_names(self) -> tuple[str, ...]:
        """The waves in time order, as ``study.yaml`` lists them; the first is the baseline."""
        return tuple(self.config.waves)

    @property
    def baseline(self) -> str:
        return self.wave_names[0]

    @property
    def primary(self) -> str:
        """The primary endpoint: ``analysis.primary``, else the second wave."""
        return self.config.analysis.primary or self.wave_names[1]

    @property
    def later_waves(self) -> tuple[str, ...]:
        """Every wave after the baseline, in time order."""
        return self.wave_names[1:]

    def wave_label(self, wave: str) -> str:
        """How reports name ``wave``: its ``label``, else its name."""
        return self.config.waves[wave].label or wave

    @property
    def wave_sources(self) -> dict[str, WaveSource]:
        """How each wave's export is read (``waves`` in ``study.yaml``)."""
        return dict(self.config.waves)

    @property
    def wave_files(self) -> dict[str, Path]:
        """Each wave's export file, resolved against the study folder."""
        return {wave: self.folder / source.file for wave, source in self.config.waves.items()}

    @property
    def export_bytes(self) -> int:
        """The size of the waves' exports together (a missing file counts 0: the run reports it)."""
        return sum(path.stat().st_size for path in self.wave_files.values() if path.is_file())

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def input_files(self) -> list[Path]:
        """Every file the run reads: study.yaml, the exports and their data dictionaries, the
        instrument files, the logo and a key file; outputs may never land on or around one of them."""
        files = [self.folder / STUDY_FILE, *self.wave_files.values(), *self.instrument_files]
        files += [self.folder / source.dictionary for source in self.config.waves.values() if source.dictionary]
        if self.logo_file:
            files.append(self.logo_file)
        key = self.config.data.pseudonymise
        if key is not None and key.key_file:
            files.append(Path(key.key_file).expanduser())
        return files

    @property
    def logo_file(self) -> Path | None:
        """The report logo (``report.logo``), resolved inside the study folder; checked at load."""
        logo = self.config.report.logo
        return (self.folder / logo).resolve() if logo else None

    @property
    def id_column(self) -> str:
        return self.config.id_column

    @property
    def groups(self) -> Groups | None:
        """The program and comparison groups (``groups:`` in ``study.yaml``), or None for a one-group study."""
        return self.config.groups

    @property
    def scales(self) -> list[tuple[Instrument, Scale]]:
        """The analysed scales, in study order, with their instruments: every primary scale, plus
        the secondary ones when ``analysis.include_secondary`` is set. All scales are scored."""
        wanted = ("primary", "secondary") if self.config.analysis.include_secondary else ("primary",)
        return [(i, scale) for i in self.instruments for scale in i.scales if scale.role in wanted]


PSEUDONYMISE_HINT = "pseudonymise the ids: set data: {pseudonymise: {key_env: IMPACT_ID_KEY}} and a secret of 16+ characters in IMPACT_ID_KEY"


def _study_problems(config: StudyConfig, instruments: list[Instrument]) -> list[str]:
    problems = []
    names = list(config.waves)
    primary = config.analysis.primary
    if primary is not None and primary not in names[1:]:
        what = "the baseline (the first wave)" if primary == names[0] else "not a wave of this study"
        problems.append(f"analysis.primary: '{primary[:30]}' is {what}; name one of the later waves: {', '.join(names[1:])}")
    labels = [source.label for source in config.waves.values() if source.label]
    if len(set(labels)) < len(labels):
        problems.append("waves: two waves have the same label; give each its own, so reports can tell them apart")
    weeks = [source.weeks for source in config.waves.values()]
    if any(w is not None for w in weeks):
        if any(w is None for w in weeks):
            problems.append("waves: weeks is given for some waves only; give it for every wave (the baseline is usually 0) or for none")
        elif any(later <= earlier for earlier, later in zip(weeks, weeks[1:])):
            problems.append("waves: weeks must increase from wave to wave, in the order the waves are listed")
    folded = [name.casefold() for name in config.instruments]
    duplicates = sorted({name for name in config.instruments if folded.count(name.casefold()) > 1})
    if duplicates:
        problems.append(f"instruments: listed twice: {', '.join(duplicates)}")
    for column, first, later in clashing_ids((i.id, i.column_ids) for i in instruments):
        problems.append(
            f"instruments: '{column}' is defined by both {first} and {later}; item and scale ids must be unique within a study"
        )
    columns = {column for instrument in instruments for column in instrument.column_ids}
    if config.id_column in columns or config.id_column == "wave":
        problems.append(f"id_column: '{config.id_column}' clashes with an item or scale id (or 'wave')")
    baseline = next(iter(config.waves.values()))
    why = identifying_reason(config.id_column, config.identifiers, baseline.resolved_format)
    if why and config.data.pseudonymise is None:
        problems.append(f"id_column: '{config.id_column[:40]}' is {why}; {PSEUDONYMISE_HINT}")
    problems.extend(_subgroup_problems(config, instruments))
    problems.extend(_group_problems(config, instruments))
    return problems


def _column_owners(config: StudyConfig, instruments: list[Instrument]) -> tuple[dict[str, str], str, dict[str, str]]:
    """What already owns a column name, for the checks of attribute columns (subgroups, groups):
    every item and scale id (with what it is), the baseline wave's name, and the baseline export's
    item columns (export column -> item id)."""
    owners = {
        column: f"{'an item' if column in instrument.item_ids else 'a scale'} id of instrument {instrument.id}"
        for instrument in instruments
        for column in instrument.column_ids
    }
    baseline_name, baseline = next(iter(config.waves.items()))
    exported = {baseline.export_column(item_id): item_id for i in instruments for item_id in i.item_ids}
    return owners, baseline_name, exported


def _subgroup_problems(config: StudyConfig, instruments: list[Instrument]) -> list[str]:
    """``subgroups`` must name distinct attribute columns of the baseline export: not the id column, not
    an item (by id or by its export column), and not an identifying column, which never leaves validation."""
    problems = []
    repeated = sorted({name for name in config.subgroups if config.subgroups.count(name) > 1})
    if repeated:
        problems.append(f"subgroups: listed twice: {', '.join(repeated)}")
    owners, baseline_name, exported = _column_owners(config, instruments)
    baseline = config.waves[baseline_name]
    fmt = baseline.resolved_format
    for name in dict.fromkeys(config.subgroups):
        if not _is_plain_column_name(name):
            problems.append(f"subgroups: {name!r} is not a plain column name; write the column as the baseline export's header names it")
        elif name == config.id_column:
            problems.append(
                f"subgroups: '{name}' is the id_column; a subgroup is a column holding a participant attribute such as a cohort or site"
            )
        elif name in owners:
            problems.append(
                f"subgroups: '{name}' is {owners[name]}; a subgroup is a column holding a "
                "participant attribute such as a cohort or site"
            )
        elif name in exported:
            problems.append(
                f"subgroups: '{name}' is the baseline export's column of item {exported[name]} (waves.{baseline_name}); a subgroup is a "
                "column holding a participant attribute such as a cohort or site"
            )
        elif why := identifying_reason(name, config.identifiers, fmt):
            remedy = "remove it from one of the two lists" if name in config.identifiers else "remove it from subgroups"
            problems.append(f"subgroups: {name[:40]!r} is {why}: identifying columns never leave validation; {remedy}")
    return problems


def _group_problems(config: StudyConfig, instruments: list[Instrument]) -> list[str]:
    """``groups`` must give each value one group, and name a column of the baseline export that holds
    only the group: not the id column, an item (by id or by its export column), a subgroup, or an
    identifying column; and no wave may be named ``<another wave>_program`` (or ``_comparison``),
    which the participant flow's per-group counts would confuse with that wave's own."""
    groups = config.groups
    if groups is None:
        return []
    problems = []
    program = {normalise_group_value(value): value for value in groups.program}
    both = [value for value in groups.comparison if normalise_group_value(value) in program]
    if both:
        listed = ", ".join(repr(value[:40]) for value in dict.fromkeys(both[:3]))
        more = f" and {len(both) - 3} more" if len(both) > 3 else ""
        problems.append(
            f"groups: {listed}{more} is in both groups.program and groups.comparison (case and spaces ignored); "
            "a value names one group: remove it from one of the lists"
        )
    name = groups.column
    what = "groups.column names the column holding each participant's group (e.g. program or waitlist)"
    owners, baseline_name, exported = _column_owners(config, instruments)
    baseline = config.waves[baseline_name]
    if not _is_plain_column_name(name):
        problems.append(f"groups.column: {name[:40]!r} is not a plain column name; write the column as the baseline export's header names it")
    elif name == config.id_column:
        problems.append(f"groups.column: '{name[:40]}' is the id_column; {what}")
    elif name in owners:
        problems.append(f"groups.column: '{name[:40]}' is {owners[name]}; {what}")
    elif name in exported:
        problems.append(f"groups.column: '{name[:40]}' is the baseline export's column of item {exported[name]} (waves.{baseline_name}); {what}")
    elif name in config.subgroups:
        problems.append(f"groups.column: '{name[:40]}' is also in subgroups; results are given for each group already: remove it from subgroups")
    elif why := identifying_reason(name, config.identifiers, baseline.resolved_format):
        remedy = "remove it from identifiers or name another column" if name in config.identifiers else "name another column"
        problems.append(f"groups.column: {name[:40]!r} is {why}: identifying columns never leave validation; {remedy}")
    waves = set(config.waves)
    for wave in config.waves:
        for role in GROUP_ROLES:
            if f"{wave}_{role}" in waves:
                problems.append(
                    f"waves: '{wave}_{role}' reads as wave {wave}'s {role} group in the participant flow of a two-group study; rename that wave"
                )
    return problems


def load_study(folder: Path, library_dir: Path = LIBRARY_DIR) -> Study:
    """Read ``folder/study.yaml``, resolve wave paths and load its instruments.

    Every file a study names (exports, data dictionaries, its own instrument files, the logo)
    must lie inside the study folder once ``..``, absolute paths and symbolic links are resolved,
    unless ``data: {allow_outside: true}`` opens that door explicitly.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PipelineError(f"{folder}: not a folder; give the study folder that holds {STUDY_FILE}")
    path = folder / STUDY_FILE
    if not path.is_file():
        raise PipelineError(f"{path}: file not found; a study folder needs a {STUDY_FILE} (see the README)")
    data = read_yaml_mapping(path)
    try:
        config = StudyConfig.model_validate(data)
    except ValidationError as exc:
        raise PipelineError(describe_validation_error(path, exc, data)) from None
    if not _is_plain_column_name(config.id_column):
        raise PipelineError(f"{path}: id_column: {config.id_column[:60]!r} is not a plain column name")
    outside = config.data.allow_outside
    for wave, source in config.waves.items():
        check_inside(path, folder, source.file, f"waves.{wave}.file", outside)
        if source.dictionary:
            check_inside(path, folder, source.dictionary, f"waves.{wave}.dictionary", outside)
    if config.report.logo:
        check_inside(path, folder, config.report.logo, "report.logo", outside)

    own_instruments = folder / "instruments"
    search_dirs = [own_instruments, library_dir]
    files = [find_instrument(instrument_id, search_dirs) for instrument_id in config.instruments]
    for file in files:
        if file.parent == own_instruments:
            check_inside(path, folder, str(file.relative_to(folder)), f"instruments ({file.stem})", outside)
    instruments = [load_instrument(file) for file in files]
    problems = _study_problems(config, instruments)
    if problems:
        raise PipelineError(join_problems(path, problems))
    wave_problems = _wave_problems(config, instruments)
    if wave_problems:
        raise PipelineError(join_problems(path, wave_problems))
    if config.report.logo:
        _check_logo(path, folder, config.report.logo)
    return Study(folder, config, tuple(instruments), tuple(files))


def check_inside(study_file: Path, folder: Path, relative: str, field: str, allow_outside: bool = False) -> None:
    """Refuse a path from ``study.yaml`` that leads outside the study folder (absolute, by ``..`` or by a symbolic link)."""
    if allow_outside:
        return
    resolved = (folder / relative).resolve()
    if resolved.is_relative_to(folder.resolve()):
        return
    if Path(relative).is_absolute():
        how = "is an absolute path outside the study folder"
    elif ".." in Path(relative).parts:
        how = "leads outside the study folder (by '..')"
    else:
        how = "is a symbolic link that leads outside the study folder"
    raise PipelineError(f"{study_file}: {field}: {relative[:40]!r} {how}; copy it into the study folder, or set data: {{allow_outside: true}}")


def _wave_problems(config: StudyConfig, instruments: list[Instrument]) -> list[str]:
    problems = []
    item_ids = [item_id for instrument in instruments for item_id in instrument.item_ids]
    for wave, source in config.waves.items():
        for item_id in item_ids:
            column = source.export_column(item_id)
            why = identifying_reason(column, config.identifiers, source.resolved_format)
            if why:
                problems.append(
                    f"waves.{wave}: item {item_id} is read from column {column[:40]!r}, which is {why}; items are never "
                    "read from identifying columns: map the item to its own column"
                )
                break
        unknown = sorted(set(source.columns) - set(item_ids))
        if unknown:
            problems.append(f"waves.{wave}.columns: {', '.join(unknown)} is not an item of the study's instruments")
        if source.column_pattern is not None and "{item}" not in source.column_pattern:
            problems.append(f"waves.{wave}.column_pattern: must contain {{item}}, e.g. 'T1_{{item}}'")
        if (source.resolved_format == "redcap") != (source.event is not None):
            problems.append(f"waves.{wave}: a REDCap export needs 'event' (its redcap_event_name) and only REDCap uses it")
        if source.sheet is not None and source.resolved_format != "excel":
            problems.append(f"waves.{wave}.sheet: only Excel files have sheets")
        if source.dictionary is not None and source.resolved_format != "redcap":
            problems.append(f"waves.{wave}.dictionary: only REDCap exports have a data dictionary")
    return problems


def _check_logo(path: Path, folder: Path, logo: str) -> None:
    """The logo must be a safe image file (checked inside the study folder by ``check_inside``): the
    report may read no other file, and an SVG may reference nothing (:func:`pipeline.images.check_logo`)."""
    from .images import check_logo

    file = (folder / logo).resolve()
    if file.suffix.lower() not in LOGO_SUFFIXES:
        raise PipelineError(f"{path}: report.logo: {logo[:60]!r} must be a {', '.join(LOGO_SUFFIXES)} image")
    if not file.is_file():
        raise PipelineError(f"{path}: report.logo: {logo[:60]!r} not found in the study folder")
    check_logo(file)


def _is_plain_column_name(text: str) -> bool:
    # Export headers may hold spaces or dots; those are fine as long as the name is not empty.
    return bool(text.strip()) and text == text.strip() and not re.search(r"[\r\n]", text)


__all__ = [
    "Study", "StudyConfig", "AnalysisOptions", "DataOptions", "ReportOptions", "WaveSource", "WAVE_NAME", "load_study",
    "GROUP_ROLES", "GroupLabels", "Groups", "normalise_group_value",
]
