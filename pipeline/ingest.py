"""Ingest: read one wave's export, untouched, as a table of text with the SHA-256 of its bytes.

Formats (``format:`` of a wave in ``study.yaml``; see the README, "Export formats"):

* ``csv`` / ``tsv``: delimited text in UTF-8 (a byte-order mark is fine) or the declared
  ``encoding``; ``delimiter`` overrides the comma or tab;
* ``excel``: an ``.xlsx`` workbook, the first sheet or the named ``sheet``;
* ``spss``: a ``.sav`` file read with pyreadstat; user-defined missing codes become missing and
  values are the stored codes, not their labels (the value labels are kept beside the table, in
  ``WaveExport.value_labels``, for columns that are shown as text such as subgroups);
* ``qualtrics``: a Qualtrics CSV with its 3 header rows (export tags, question text, ImportId)
  or the legacy 2-row form (``V1`` .. ``V10`` then the metadata names in row 2);
* ``redcap``: a REDCap records export (one file for both waves, told apart by
  ``redcap_event_name``).

Every cell is kept as text ("" when empty); turning text into item values is the job of
:mod:`pipeline.validate`, which can then report each bad cell instead of a parser silently
turning it into a missing value. The table's index is the row number a researcher finds the
row under: the spreadsheet row for text and Excel files (the header is row 1, Qualtrics data
start at row 4, or 3 in the legacy form) and the case number for SPSS files.

Raw files are opened read-only, read once, and never written.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import PipelineError
from .study import WaveSource

#: Spreadsheet row number of the first data row of a one-header file (the header is row 1).
FIRST_DATA_ROW = 2
DELIMITERS = {"csv": ",", "tsv": "\t", "qualtrics": ",", "redcap": ","}
LIKELY_DELIMITERS = [";", "\t", "|", ","]
IMPORT_ID = re.compile(r'^\{\s*"ImportId"\s*:')
LEGACY_QUALTRICS = re.compile(r"^V\d+$")


@dataclass(frozen=True)
class WaveExport:
    """One wave's export as read: every cell as text, indexed by the row number the user sees."""

    wave: str
    path: Path
    sha256: str
    format: str
    table: pd.DataFrame
    #: SPSS value labels: column -> code as text in ``table`` -> label (empty for other formats).
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        return len(self.table)


def decode_text(content: bytes, encoding: str, source: Path | str) -> str:
    """Bytes as text in ``encoding`` (UTF-8 also accepts a byte-order mark), or a message saying what to set."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not encoding.lower().startswith("utf-16"):
        raise PipelineError(f"{source}: the file is UTF-16 text; set 'encoding: utf-16' for this wave in study.yaml, or re-export as CSV UTF-8")
    name = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        return content.decode(name)
    except LookupError:
        raise PipelineError(f"{source}: unknown encoding '{encoding}' in study.yaml; use e.g. utf-8, latin-1, cp1252 or utf-16") from None
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise PipelineError(
            f"{source}: line {line}: not {encoding} text (byte {exc.start}); re-export as 'CSV UTF-8', or set the file's encoding "
            "for this wave in study.yaml (e.g. 'encoding: latin-1' or 'cp1252' for older Excel and SPSS exports)"
        ) from None


def parse_delimited(text: str, delimiter: str, source: Path | str) -> pd.DataFrame:
    """Every row of delimited text as strings (no header interpretation), quotes and embedded newlines honoured."""
    try:
        return pd.read_csv(
            io.StringIO(text), header=None, dtype=str, keep_default_na=False, skip_blank_lines=True, sep=delimiter, engine="c"
        )
    except pd.errors.ParserError as exc:
        raise PipelineError(
            f"{source}: cannot read as {'tab' if delimiter == chr(9) else repr(delimiter)}-delimited text "
            f"({_first_line(exc)}); check the delimiter and quoting"
        ) from None
    except pd.errors.EmptyDataError:
        raise PipelineError(f"{source}: the file has no rows; export the wave again with a header row") from None


def table_from_grid(grid: pd.DataFrame, header: list[str], first_data_row: int, source: Path | str) -> pd.DataFrame:
    """Name the grid's columns by ``header`` and number its rows from ``first_data_row``.

    Trailing columns without a name and without any value (left by trailing commas) are dropped;
    any other nameless or repeated column name stops the run, because pandas would silently
    rename or drop it.
    """
    header = [str(name).strip().lstrip("\ufeff") for name in header]
    while header and not header[-1] and (grid.iloc[:, len(header) - 1].astype(str).str.strip() == "").all():
        header.pop()
        grid = grid.iloc[:, : len(header)]
    blank = [str(position + 1) for position, name in enumerate(header) if not name]
    if blank:
        raise PipelineError(f"{source}: row 1: column(s) {', '.join(blank)} have no name; name or delete them")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise PipelineError(f"{source}: row 1: column name(s) used twice: {', '.join(repeated)}; each column needs its own name")
    table = grid.copy()
    table.columns = header
    table.index = pd.RangeIndex(first_data_row, first_data_row + len(table), name="row")
    return table.fillna("")


def read_delimited(content: bytes, source_spec: WaveSource, path: Path) -> pd.DataFrame:
    """A CSV, TSV or REDCap export: one header row."""
    fmt = source_spec.resolved_format
    delimiter = source_spec.delimiter or DELIMITERS[fmt]
    text = decode_text(content, source_spec.encoding, path)
    if not text.strip():
        raise PipelineError(f"{path}: the file is empty; export the wave again with a header row")
    grid = parse_delimited(text, delimiter, path)
    header = list(grid.iloc[0])
    if len(header) == 1:
        _suggest_delimiter(str(header[0]), delimiter, path)
    table = table_from_grid(grid.iloc[1:], header, FIRST_DATA_ROW, path)
    if fmt == "redcap" and "redcap_event_name" not in table.columns:
        raise PipelineError(
            f"{path}: row 1: no 'redcap_event_name' column; export the REDCap records of a longitudinal project "
            "with event names (raw data), or read the file as format: csv"
        )
    return table


def read_qualtrics(content: bytes, source_spec: WaveSource, path: Path) -> pd.DataFrame:
    """A Qualtrics CSV/TSV export: 3 header rows (tags, question text, ImportId JSON) or the legacy 2."""
    text = decode_text(content, source_spec.encoding, path)
    if not text.strip():
        raise PipelineError(f"{path}: the file is empty; download the data table from Qualtrics again")
    grid = parse_delimited(text, source_spec.delimiter or ",", path)
    tags = [str(value) for value in grid.iloc[0]]
    if len(grid) >= 3 and sum(bool(IMPORT_ID.match(str(value))) for value in grid.iloc[2]) >= len(tags) / 2:
        return table_from_grid(grid.iloc[3:], tags, 4, path)
    if tags and LEGACY_QUALTRICS.match(tags[0]) and len(grid) >= 2:
        names = [str(grid.iloc[1, position]) if LEGACY_QUALTRICS.match(tag) else tag for position, tag in enumerate(tags)]
        return table_from_grid(grid.iloc[2:], names, 3, path)
    raise PipelineError(
        f"{path}: not a Qualtrics export: row 3 holds no ImportId entries and row 1 does not start with V1 (legacy form); "
        "download 'CSV' from Qualtrics' Data & Analysis tab without removing header rows, or read the file as format: csv"
    )


def excel_cell_text(value) -> str:
    """An Excel cell as the text a researcher sees: whole numbers without '.0', dates in ISO form."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date, time, pd.Timestamp)):
        return value.isoformat()
    return str(value)


def read_excel(content: bytes, source_spec: WaveSource, path: Path) -> pd.DataFrame:
    """The first (or the named) sheet of an .xlsx workbook; the header is spreadsheet row 1."""
    try:
        sheets = pd.read_excel(io.BytesIO(content), sheet_name=None, header=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a damaged or foreign file
        raise PipelineError(f"{path}: cannot read as an Excel .xlsx workbook ({type(exc).__name__}); save it from Excel as .xlsx") from None
    if source_spec.sheet is not None and source_spec.sheet not in sheets:
        raise PipelineError(f"{path}: no sheet named '{source_spec.sheet}'; the workbook has {', '.join(map(str, sheets))}")
    grid = sheets[source_spec.sheet] if source_spec.sheet is not None else next(iter(sheets.values()))
    if grid.empty:
        raise PipelineError(f"{path}: the sheet is empty; export the wave again with a header row")
    grid = grid.map(excel_cell_text)
    grid = grid.loc[(grid != "").any(axis=1) | (grid.index == 0)]  # blank lines, as for CSV
    header = list(grid.iloc[0])
    rows = grid.iloc[1:]
    table = table_from_grid(rows.reset_index(drop=True), header, FIRST_DATA_ROW, path)
    table.index = pd.Index(rows.index.to_numpy() + 1, name="row")  # spreadsheet rows, blank lines counted
    return table


def read_spss(path: Path) -> pd.DataFrame:
    """An SPSS .sav file: codes (not labels) as text; user-missing codes are missing; rows are case numbers."""
    return read_spss_with_labels(path)[0]


def read_spss_with_labels(path: Path) -> tuple[pd.DataFrame, dict[str, dict[str, str]]]:
    """An SPSS .sav file as ``read_spss`` reads it, with its value labels keyed by the code as the table shows it."""
    import pyreadstat

    try:
        frame, meta = pyreadstat.read_sav(str(path), user_missing=False, apply_value_formats=False)
    except Exception as exc:  # noqa: BLE001 - pyreadstat raises its own ReadstatError and others
        raise PipelineError(f"{path}: cannot read as an SPSS .sav file ({_first_line(exc)}); save it from SPSS as .sav") from None
    table = frame.astype(object).map(excel_cell_text)
    table.index = pd.RangeIndex(1, len(table) + 1, name="row")
    labels = {
        column: {excel_cell_text(code): str(label) for code, label in codes.items()}
        for column, codes in (meta.variable_value_labels or {}).items()
    }
    return table_from_grid(table, list(table.columns), 1, path), labels


def read_wave(wave: str, path: Path, source_spec: WaveSource | None = None) -> WaveExport:
    """Read the export for ``wave`` from ``path`` (opened read-only, never modified) as ``source_spec`` says."""
    source_spec = source_spec or WaveSource(file=path.name)
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except FileNotFoundError:
        raise PipelineError(f"{path}: file for wave '{wave}' not found; check waves.{wave} in study.yaml") from None
    except IsADirectoryError:
        raise PipelineError(f"{path}: wave '{wave}' names a folder, not a file; check waves.{wave} in study.yaml") from None
    fmt = source_spec.resolved_format
    if not content.strip():
        raise PipelineError(f"{path}: the file is empty; export the wave again with a header row")
    value_labels: dict[str, dict[str, str]] = {}
    if fmt == "excel":
        table = read_excel(content, source_spec, path)
    elif fmt == "spss":
        table, value_labels = read_spss_with_labels(path)
    elif fmt == "qualtrics":
        table = read_qualtrics(content, source_spec, path)
    else:
        table = read_delimited(content, source_spec, path)
    sha256 = hashlib.sha256(content).hexdigest()
    return WaveExport(wave=wave, path=path, sha256=sha256, format=fmt, table=table, value_labels=value_labels)


def _suggest_delimiter(header: str, used: str, path: Path) -> None:
    for candidate in LIKELY_DELIMITERS:
        if candidate != used and candidate in header:
            shown = "tab" if candidate == "\t" else f"'{candidate}'"
            setting = "format: tsv" if candidate == "\t" else f"delimiter: '{candidate}'"
            raise PipelineError(
                f"{path}: row 1 reads as a single column but contains {shown}: the file separates columns with {shown}; "
                f"set '{setting}' for this wave in study.yaml"
            )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
