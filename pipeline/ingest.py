"""Ingest: read one wave's export file as text, untouched, with its SHA-256.

Every cell is kept as text here; turning text into item values is the job of
:mod:`pipeline.validate`, which can then report each bad cell instead of a parser silently
turning it into a missing value. Row numbers are spreadsheet rows: the header is row 1 and the
first participant is row 2.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import PipelineError

#: Spreadsheet row number of the first data row (the header is row 1).
FIRST_DATA_ROW = 2


@dataclass(frozen=True)
class WaveExport:
    """One wave's export as read: every cell as text, indexed by spreadsheet row number."""

    wave: str
    path: Path
    sha256: str
    table: pd.DataFrame

    @property
    def rows_read(self) -> int:
        return len(self.table)


def parse_csv(content: bytes, source: Path | str) -> pd.DataFrame:
    """Parse CSV bytes (UTF-8, with or without a byte-order mark) into a text table.

    Raises :class:`PipelineError` for an empty file, a file that is not UTF-8, rows with more
    fields than the header, and repeated or blank column names (which pandas would silently
    rename or drop).
    """
    if not content.strip():
        raise PipelineError(f"{source}: the file is empty; export the wave again with a header row")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PipelineError(
            f"{source}: not UTF-8 text (byte {exc.start}); re-export as 'CSV UTF-8' or save it with UTF-8 encoding"
        ) from None
    try:
        grid = pd.read_csv(
            io.StringIO(text), header=None, dtype=str, keep_default_na=False, skip_blank_lines=True
        )
    except pd.errors.ParserError as exc:
        raise PipelineError(f"{source}: cannot read as CSV ({_first_line(exc)}); check the delimiter and quoting") from None
    header = [str(name).strip() for name in grid.iloc[0]]
    blank = [str(position + 1) for position, name in enumerate(header) if not name]
    if blank:
        raise PipelineError(f"{source}: row 1: column(s) {', '.join(blank)} have no name; name or delete them")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise PipelineError(f"{source}: row 1: column name(s) used twice: {', '.join(repeated)}; each column needs its own name")
    table = grid.iloc[1:].copy()
    table.columns = header
    table.index = pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + len(table), name="row")
    return table


def read_wave(wave: str, path: Path) -> WaveExport:
    """Read the export for ``wave`` from ``path`` (opened read-only, never modified)."""
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except FileNotFoundError:
        raise PipelineError(f"{path}: file for wave '{wave}' not found; check waves.{wave} in study.yaml") from None
    except IsADirectoryError:
        raise PipelineError(f"{path}: wave '{wave}' names a folder, not a file; check waves.{wave} in study.yaml") from None
    table = parse_csv(content, path)
    return WaveExport(wave=wave, path=path, sha256=hashlib.sha256(content).hexdigest(), table=table)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
