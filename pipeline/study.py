"""Study definitions: ``surveys/<study>/study.yaml`` resolved into paths and instruments.

A study names its participant id column, its instruments (looked up in the study folder's own
``instruments/`` first, then in the library) and its two waves, each an export file whose path
is relative to the study folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import PipelineError
from .instruments import LIBRARY_DIR, Instrument, Scale, clashing_ids, find_instrument, load_instrument
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


class StudyConfig(BaseModel):
    """The fields of ``study.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = Field(min_length=1)
    id_column: str = Field(min_length=1)
    instruments: list[str] = Field(min_length=1)
    waves: dict[Literal["pre", "post"], str]
    program: str | None = None
    organisation: str | None = None
    period: str | None = None
    description: str | None = None
    analysis: AnalysisOptions = AnalysisOptions()


@dataclass(frozen=True)
class Study:
    """A study with its files resolved and its instruments loaded."""

    folder: Path
    config: StudyConfig
    instruments: tuple[Instrument, ...]
    instrument_files: tuple[Path, ...]
    wave_files: dict[str, Path]

    @property
    def name(self) -> str:
        return self.config.name

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
    wave_files = {wave: (folder / config.waves[wave]) for wave in WAVES}
    return Study(folder, config, tuple(instruments), tuple(files), wave_files)


def _is_plain_column_name(text: str) -> bool:
    # Export headers may hold spaces or dots; those are fine as long as the name is not empty.
    return bool(text.strip()) and text == text.strip() and not re.search(r"[\r\n]", text)


__all__ = ["Study", "StudyConfig", "AnalysisOptions", "WAVES", "load_study"]
