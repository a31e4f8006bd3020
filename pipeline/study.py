"""Study definitions: ``surveys/<study>/study.yaml`` resolved into paths and instruments.

A study names its participant id column, its instruments (looked up in the study folder's own
``instruments/`` first, then in the library) and its two waves. A wave is an export file whose
path is relative to the study folder, written either as the path alone (a plain UTF-8 CSV whose
item columns are named by item id) or as a mapping that says how to read it: its ``format``
(csv, tsv, excel, spss, qualtrics, redcap), ``encoding``, ``delimiter``, ``sheet``, the REDCap
``event`` of the wave, and how export columns map to item ids (``columns`` and
``column_pattern``). The study-wide ``data`` options say which rows are usable (``unfinished``,
``duplicates``, ``consent``), which cells mean "missing" (``missing_values``), how ids are
normalised (``id_case``) and pseudonymised (``pseudonymise``), and which columns identify people
(``identifiers``). ``subgroups`` names baseline-export columns holding a participant attribute
(a cohort, a site) by which results are also broken down (exploratory; :mod:`pipeline.subgroups`).
The README's "Running a study" section and its subsections document every field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import PipelineError
from .instruments import LIBRARY_DIR, Instrument, Scale, clashing_ids, find_instrument, load_instrument
from .privacy import identifying_columns
from .yamlio import describe_validation_error, read_yaml_mapping

WAVES = ("pre", "post")
STUDY_FILE = "study.yaml"


class AnalysisOptions(BaseModel):
    """Which multiple-testing correction decides a variable's ``outcome``, at which alpha, and
    whether instruments' secondary scores (``role: secondary``) join the analysed family."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    correction: Literal["holm", "fdr"] = "holm"
    alpha: float = Field(default=0.05, gt=0, lt=1)
    include_secondary: bool = False


class ReportOptions(BaseModel):
    """How the reports are made (``report:`` in ``study.yaml``): an optional logo inside the study
    folder, the small-cell suppression threshold, and an optional archival/accessible PDF variant."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    logo: str | None = None
    suppression_threshold: int = Field(default=10, ge=1, le=100)
    pdf_variant: Literal["pdf/ua-1", "pdf/ua-2", "pdf/a-3a", "pdf/a-3u"] | None = None

    @field_validator("suppression_threshold")
    @classmethod
    def _threshold_hides_something(cls, threshold: int) -> int:
        if threshold == 2:
            raise ValueError('2 would hide nothing ("<2" can only mean 1): use 1 to turn suppression off, or 3 or more')
        return threshold


LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")


FORMAT_BY_SUFFIX = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".xlsx": "excel", ".sav": "spss"}


class WaveSource(BaseModel):
    """How to read one wave's export (``waves.pre`` / ``waves.post`` in ``study.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    file: str = Field(min_length=1)
    format: Literal["csv", "tsv", "excel", "spss", "qualtrics", "redcap"] | None = None
    encoding: str = "utf-8"
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)
    sheet: str | None = None
    event: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    column_pattern: str | None = None

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


class StudyConfig(BaseModel):
    """The fields of ``study.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = Field(min_length=1)
    id_column: str = Field(min_length=1)
    instruments: list[str] = Field(min_length=1)
    waves: dict[Literal["pre", "post"], WaveSource]
    identifiers: list[str] = Field(default_factory=list)
    subgroups: list[str] = Field(default_factory=list)
    data: DataOptions = DataOptions()
    program: str | None = None
    organisation: str | None = None
    period: str | None = None
    description: str | None = None
    analysis: AnalysisOptions = AnalysisOptions()
    enrolled: int | None = Field(default=None, ge=1)
    report: ReportOptions = ReportOptions()

    @field_validator("waves", mode="before")
    @classmethod
    def _path_is_a_csv_source(cls, waves):
        """A wave written as a bare path is a plain CSV: the same as ``{file: <path>}``."""
        if not isinstance(waves, dict):
            return waves
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


@dataclass(frozen=True)
class Study:
    """A study with its files resolved and its instruments loaded."""

    folder: Path
    config: StudyConfig
    instruments: tuple[Instrument, ...]
    instrument_files: tuple[Path, ...]

    @property
    def wave_sources(self) -> dict[str, WaveSource]:
        """How each wave's export is read (``waves`` in ``study.yaml``)."""
        return dict(self.config.waves)

    @property
    def wave_files(self) -> dict[str, Path]:
        """Each wave's export file, resolved against the study folder."""
        return {wave: self.folder / source.file for wave, source in self.config.waves.items()}

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def logo_file(self) -> Path | None:
        """The report logo (``report.logo``), resolved inside the study folder; checked at load."""
        logo = self.config.report.logo
        return (self.folder / logo).resolve() if logo else None

    @property
    def id_column(self) -> str:
        return self.config.id_column

    @property
    def scales(self) -> list[tuple[Instrument, Scale]]:
        """The analysed scales, in study order, with their instruments: every primary scale, plus
        the secondary ones when ``analysis.include_secondary`` is set. All scales are scored."""
        wanted = ("primary", "secondary") if self.config.analysis.include_secondary else ("primary",)
        return [(i, scale) for i in self.instruments for scale in i.scales if scale.role in wanted]


def _study_problems(config: StudyConfig, instruments: list[Instrument]) -> list[str]:
    problems = []
    missing_waves = [wave for wave in WAVES if wave not in config.waves]
    if missing_waves:
        problems.append(f"waves: needs both 'pre' and 'post' files; missing {', '.join(missing_waves)}")
    duplicates = sorted({i for i in config.instruments if config.instruments.count(i) > 1})
    if duplicates:
        problems.append(f"instruments: listed twice: {', '.join(duplicates)}")
    for column, first, later in clashing_ids((i.id, i.column_ids) for i in instruments):
        problems.append(
            f"instruments: '{column}' is defined by both {first} and {later}; item and scale ids must be unique within a study"
        )
    columns = {column for instrument in instruments for column in instrument.column_ids}
    if config.id_column in columns or config.id_column == "wave":
        problems.append(f"id_column: '{config.id_column}' clashes with an item or scale id (or 'wave')")
    problems.extend(_subgroup_problems(config, instruments))
    return problems


def _subgroup_problems(config: StudyConfig, instruments: list[Instrument]) -> list[str]:
    """``subgroups`` must name distinct attribute columns of the baseline export: not the id column, not
    an item (by id or by its export column), and not an identifying column, which never leaves validation."""
    problems = []
    repeated = sorted({name for name in config.subgroups if config.subgroups.count(name) > 1})
    if repeated:
        problems.append(f"subgroups: listed twice: {', '.join(repeated)}")
    owners = {
        column: f"{'an item' if column in instrument.item_ids else 'a scale'} id of instrument {instrument.id}"
        for instrument in instruments
        for column in instrument.column_ids
    }
    baseline = config.waves.get("pre")
    exported = {baseline.export_column(item_id): item_id for i in instruments for item_id in i.item_ids} if baseline else {}
    identifying = identifying_columns(config.identifiers, baseline.resolved_format if baseline else "csv")
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
                f"subgroups: '{name}' is the baseline export's column of item {exported[name]} (waves.pre); a subgroup is a "
                "column holding a participant attribute such as a cohort or site"
            )
        elif name in identifying:
            declared = name in config.identifiers
            listed = "listed under identifiers" if declared else "a column Qualtrics fills with personal data"
            remedy = "remove it from one of the two lists" if declared else "remove it from subgroups"
            problems.append(
                f"subgroups: '{name}' is {listed}: identifying columns are dropped at validation, before anything is "
                f"written, so results cannot be broken down by them; {remedy}, or break results down by a coarser "
                "column that does not identify people"
            )
    return problems


def load_study(folder: Path, library_dir: Path = LIBRARY_DIR) -> Study:
    """Read ``folder/study.yaml``, resolve wave paths and load its instruments."""
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
        raise PipelineError(f"{path}: id_column: '{config.id_column}' is not a plain column name")

    search_dirs = [folder / "instruments", library_dir]
    files = [find_instrument(instrument_id, search_dirs) for instrument_id in config.instruments]
    instruments = [load_instrument(file) for file in files]
    problems = _study_problems(config, instruments)
    if problems:
        raise PipelineError(f"{path}: " + "; ".join(problems))
    wave_problems = _wave_problems(config.waves, instruments)
    if wave_problems:
        raise PipelineError(f"{path}: " + "; ".join(wave_problems))
    if config.report.logo:
        _check_logo(path, folder, config.report.logo)
    return Study(folder, config, tuple(instruments), tuple(files))


def _wave_problems(sources: dict[str, WaveSource], instruments: list[Instrument]) -> list[str]:
    problems = []
    item_ids = {item_id for instrument in instruments for item_id in instrument.item_ids}
    for wave, source in sources.items():
        unknown = sorted(set(source.columns) - item_ids)
        if unknown:
            problems.append(f"waves.{wave}.columns: {', '.join(unknown)} is not an item of the study's instruments")
        if source.column_pattern is not None and "{item}" not in source.column_pattern:
            problems.append(f"waves.{wave}.column_pattern: must contain {{item}}, e.g. 'T1_{{item}}'")
        if (source.resolved_format == "redcap") != (source.event is not None):
            problems.append(f"waves.{wave}: a REDCap export needs 'event' (its redcap_event_name) and only REDCap uses it")
        if source.sheet is not None and source.resolved_format != "excel":
            problems.append(f"waves.{wave}.sheet: only Excel files have sheets")
    return problems


def _check_logo(path: Path, folder: Path, logo: str) -> None:
    """The logo must be an image file inside the study folder: the report may read no other file."""
    file = (folder / logo).resolve()
    if not file.is_relative_to(folder.resolve()):
        raise PipelineError(f"{path}: report.logo: '{logo}' is outside the study folder; copy the logo into the study folder")
    if file.suffix.lower() not in LOGO_SUFFIXES:
        raise PipelineError(f"{path}: report.logo: '{logo}' must be a {', '.join(LOGO_SUFFIXES)} image")
    if not file.is_file():
        raise PipelineError(f"{path}: report.logo: '{logo}' not found in the study folder")


def _is_plain_column_name(text: str) -> bool:
    # Export headers may hold spaces or dots; those are fine as long as the name is not empty.
    return bool(text.strip()) and text == text.strip() and not re.search(r"[\r\n]", text)


__all__ = ["Study", "StudyConfig", "AnalysisOptions", "DataOptions", "ReportOptions", "WaveSource", "WAVES", "load_study"]
