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
* ``odk``: the CSV export of an XLSForm from ODK Central or KoboToolbox (one header row of XML
  names; the tools' metadata columns are read but never asked for, except their review state).

Every cell is kept as text ("" when empty); turning text into item values is the job of
:mod:`pipeline.validate`, which can then report each bad cell instead of a parser silently
turning it into a missing value. The table's index is the row number a researcher finds the
row under: the spreadsheet row for text and Excel files (the header is row 1, Qualtrics data
start at row 4, or 3 in the legacy form) and the case number for SPSS files. Cells the reader
could not take a value from are "" in the table and listed in ``WaveExport.cell_problems``
(today: Excel formulas without a saved value); Excel error values (``#DIV/0!``, ``#N/A``) are
kept as that text, so validation lists them like any other bad or missing-marker cell.

Raw files are opened read-only, read once, and never written. Any export, however careless or
hostile, is read in bounded time and memory or refused with one :class:`PipelineError` line
that names the file and says what to do:

* only regular files (not a FIFO, device, socket or folder) of at most ``MAX_EXPORT_BYTES``;
* text: at most ``MAX_COLUMNS`` columns (counted before pandas builds them), header names
  without control characters, a delimiter that can separate columns;
* Excel: a zip of at most ``MAX_ZIP_ENTRIES`` parts unpacking to at most
  ``MAX_UNPACKED_BYTES`` with no part compressed more than ``MAX_COMPRESSION_RATIO``:1; the
  sheet is read cell by cell (its declared dimension is ignored), within Excel's own
  ``EXCEL_MAX_ROWS`` x ``MAX_COLUMNS`` and at most ``MAX_SHEET_CELLS`` table cells;
* SPSS: read in a child process (ReadStat crashes the process on some damaged files), with
  the case count its header claims checked against what the file can hold and
  ``MAX_SPSS_VALUES`` before anything is allocated for it.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import multiprocessing
import os
import re
import signal
import stat
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import PipelineError, printable, shorten
from .study import WaveSource, delimiter_problem, text_encoding

#: Spreadsheet row number of the first data row of a one-header file (the header is row 1).
FIRST_DATA_ROW = 2
DELIMITERS = {"csv": ",", "tsv": "\t", "qualtrics": ",", "redcap": ",", "odk": ","}
LIKELY_DELIMITERS = [";", "\t", "|", ","]
IMPORT_ID = re.compile(r'^\{\s*"ImportId"\s*:')
LEGACY_QUALTRICS = re.compile(r"^V\d+$")

GIB = 1024**3
#: Largest export read (bytes): far above any survey export; a bigger file is split, not read.
MAX_EXPORT_BYTES = 2 * GIB
READ_CHUNK = 1024 * 1024
#: Excel's own sheet limits (rows, columns); text files are held to the same number of columns.
EXCEL_MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
#: Zip container of an .xlsx: parts (a workbook has tens), unpacked bytes, and compression ratio
#: per part larger than 1 MiB (Apache POI's zip-bomb guard uses the same 100:1).
MAX_ZIP_ENTRIES = 10_000
MAX_UNPACKED_BYTES = 1 * GIB
MAX_COMPRESSION_RATIO = 100
#: Rows x columns of the table an Excel sheet becomes (a sparse sheet of far-apart cells would
#: otherwise become a huge table of blanks): 64 Mi cells, 512 MiB of cell pointers.
MAX_SHEET_CELLS = 2**26
#: Values (cases x variables) of an SPSS file: 256 Mi values, 2 GiB as float64.
MAX_SPSS_VALUES = 2**28
#: Deflate's largest possible compression ratio, bounding what a .zsav's bytes can hold.
ZLIB_MAX_RATIO = 1032

CELL_PROBLEM_COLUMNS = ["row", "column", "problem"]
UNSAVED_FORMULA = "formula without a saved value: open and save the file in Excel, or export values"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0/C1 controls and the Unicode line separators


def empty_cell_problems() -> pd.DataFrame:
    """A ``cell_problems`` table with no rows."""
    return pd.DataFrame(columns=CELL_PROBLEM_COLUMNS)


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
    #: Cells the reader could not take a value from: one row per cell with its ``row`` (as in
    #: ``table``'s index), ``column`` (a name of ``table``'s columns) and ``problem`` (what to do);
    #: the cell is "" in ``table``. Today only Excel formulas without a saved value
    #: (``UNSAVED_FORMULA``); empty (with these columns) for every other format.
    cell_problems: pd.DataFrame = field(default_factory=empty_cell_problems)

    @property
    def rows_read(self) -> int:
        return len(self.table)


# --- the file ---------------------------------------------------------------------------------


def read_export_bytes(wave: str, path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most MAX_EXPORT_BYTES, else a one-line refusal.

    The type is checked before opening (opening a FIFO blocks; /dev/zero never ends) and again on
    the open descriptor (another file could be swapped in between), and at most
    MAX_EXPORT_BYTES + 1 bytes are read (a file can grow after its size was checked).
    """
    if not str(path).isprintable():  # every message starts with the path: it must print on one line
        raise PipelineError(f"{printable(path)}: the file name of wave '{wave}' contains a control character; rename the file and update waves.{wave}")
    try:
        _check_regular(os.stat(path), wave, path)
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise PipelineError(f"{path}: file for wave '{wave}' not found; check waves.{wave} in study.yaml") from None
    except OSError as exc:
        raise PipelineError(f"{path}: cannot open the file for wave '{wave}' ({exc.strerror or type(exc).__name__}); check waves.{wave} and the file's permissions") from None
    with os.fdopen(descriptor, "rb", buffering=0) as handle:
        _check_regular(os.fstat(handle.fileno()), wave, path)
        # Read to the end in small chunks (one read() may return less than asked: Linux stops near
        # 2 GiB); BytesIO grows in place and getvalue() does not copy, so the peak stays near the size.
        buffer = io.BytesIO()
        try:
            while buffer.tell() <= MAX_EXPORT_BYTES:
                chunk = handle.read(min(READ_CHUNK, MAX_EXPORT_BYTES + 1 - buffer.tell()))
                if not chunk:
                    break
                buffer.write(chunk)
        except OSError as exc:
            raise PipelineError(f"{path}: cannot read the file for wave '{wave}' ({exc.strerror or type(exc).__name__}); copy the export again") from None
    if buffer.tell() > MAX_EXPORT_BYTES:
        raise _too_large(path)
    return buffer.getvalue()


def _check_regular(info: os.stat_result, wave: str, path: Path) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise PipelineError(f"{path}: wave '{wave}' names a folder, not a regular file; point waves.{wave} at the export file in study.yaml")
    if not stat.S_ISREG(info.st_mode):
        raise PipelineError(f"{path}: is not a regular file (a pipe, device or socket); point waves.{wave} at the export file in study.yaml")
    if info.st_size > MAX_EXPORT_BYTES:
        raise _too_large(path)


def _too_large(path: Path) -> PipelineError:
    return PipelineError(f"{path}: the file is larger than {MAX_EXPORT_BYTES / GIB:g} GiB, the largest export read; split the export (e.g. by site or date) into smaller files")


# --- text -------------------------------------------------------------------------------------


def decode_text(content: bytes, encoding: str, source: Path | str) -> str:
    """Bytes as text in ``encoding`` (UTF-8 also accepts a byte-order mark), or a message saying what to set."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not encoding.lower().startswith("utf-16"):
        raise PipelineError(f"{source}: the file is UTF-16 text; set 'encoding: utf-16' for this wave in study.yaml, or re-export as CSV UTF-8")
    name = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    is_text = text_encoding(name)
    if not is_text:  # base64, zlib, rot13...: codecs that do not turn bytes into text
        raise PipelineError(
            f"{source}: {'unknown encoding' if is_text is None else 'not a text encoding:'} {_quoted(encoding)} in study.yaml; "
            "use e.g. utf-8, latin-1, cp1252 or utf-16"
        )
    try:
        with warnings.catch_warnings():  # e.g. unicode_escape warns about each invalid escape
            warnings.simplefilter("ignore")
            text = content.decode(name)
        text.encode("utf-8")  # a lone surrogate (utf-16, unicode_escape) cannot be parsed or written
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise PipelineError(
            f"{source}: line {line}: not {shorten(encoding)} text (byte {exc.start}); re-export as 'CSV UTF-8', or set the file's encoding "
            "for this wave in study.yaml (e.g. latin-1 or cp1252 for older Excel and SPSS exports)"
        ) from None
    except UnicodeEncodeError as exc:
        line = text[: exc.start].count("\n") + 1
        raise PipelineError(f"{source}: line {line}: not {shorten(encoding)} text (a lone surrogate); re-export as 'CSV UTF-8'") from None
    except (UnicodeError, ValueError) as exc:  # punycode, idna...: no position to report
        raise PipelineError(f"{source}: not {shorten(encoding)} text ({_first_line(exc)}); re-export as 'CSV UTF-8' or fix the encoding in study.yaml") from None
    return text


def check_delimiter(delimiter: str, source: Path | str) -> None:
    """Refuse a delimiter that cannot separate columns (:func:`pipeline.study.delimiter_problem`)."""
    why = delimiter_problem(delimiter)
    if not why:
        return
    raise PipelineError(
        f"{source}: delimiter {_quoted(delimiter)} cannot separate columns: it is {why}; set this wave's 'delimiter:' in study.yaml "
        "to the character between columns (e.g. ';' or '|'), or remove it"
    )


def count_first_record_fields(text: str, delimiter: str, limit: int = MAX_COLUMNS) -> int:
    """The number of fields in the first non-blank record of ``text``, counting no further than ``limit + 1``.

    Hand-written because pandas builds every column before it could be counted (a header of a
    million commas takes minutes and gigabytes) and ``csv.reader`` builds the whole record. Quotes
    count as pandas' C parser reads them: only at the start of a field, ``""`` inside a quoted
    field, and an unclosed quote runs to the end.
    """
    d = re.escape(delimiter)
    one_field = re.compile(rf'(?:"[^"]*(?:""[^"]*)*"?)?[^{d}\r\n]*')
    position = re.compile(r"[\r\n]*").match(text).end()  # pandas skips blank lines
    fields = 1
    while fields <= limit:
        position = one_field.match(text, position).end()
        if position >= len(text) or text[position] != delimiter:
            break
        fields += 1
        position += 1
    return fields


def parse_delimited(text: str, delimiter: str, source: Path | str) -> pd.DataFrame:
    """Every row of delimited text as strings (no header interpretation), quotes and embedded newlines honoured.

    At most MAX_COLUMNS columns; pandas reads UTF-8 bytes (a StringIO of the text would hold 4
    bytes per character).
    """
    check_delimiter(delimiter, source)
    if count_first_record_fields(text, delimiter) > MAX_COLUMNS:
        raise _too_many_columns(source)
    try:
        grid = pd.read_csv(
            io.BytesIO(text.encode("utf-8")), encoding="utf-8", header=None, dtype=str, keep_default_na=False,
            skip_blank_lines=True, sep=delimiter, engine="c",
        )
    except pd.errors.EmptyDataError:
        raise PipelineError(f"{source}: the file has no rows; export the wave again with a header row") from None
    except (ValueError, OverflowError) as exc:  # pandas' ParserError is a ValueError
        raise PipelineError(
            f"{source}: cannot read as {'tab' if delimiter == chr(9) else _quoted(delimiter)}-delimited text "
            f"({_first_line(exc)}); check the delimiter and quoting"
        ) from None
    if grid.shape[1] > MAX_COLUMNS:
        raise _too_many_columns(source)
    return grid


def _too_many_columns(source: Path | str) -> PipelineError:
    return PipelineError(
        f"{source}: row 1 has more than {MAX_COLUMNS:,} columns (Excel's limit); check the delimiter, or delete the empty "
        "columns and export again"
    )


def table_from_grid(grid: pd.DataFrame, header: list[str], first_data_row: int, source: Path | str) -> pd.DataFrame:
    """Name the grid's columns by ``header`` and number its rows from ``first_data_row``.

    Trailing columns without a name and without any value (left by trailing commas) are dropped;
    any other nameless or repeated column name stops the run, because pandas would silently
    rename or drop it, and so does a name with a control character (a NUL, a line break), which
    no study.yaml can name and no message can show on one line.
    """
    header = [str(name).strip().lstrip("\ufeff") for name in header]
    while header and not header[-1] and (grid.iloc[:, len(header) - 1].astype(str).str.strip() == "").all():
        header.pop()
        grid = grid.iloc[:, : len(header)]
    blank = [position + 1 for position, name in enumerate(header) if not name]
    if blank:
        raise _nameless_columns(source, blank)
    for position, name in enumerate(header, start=1):
        control = CONTROL.search(name)
        if control:
            raise PipelineError(
                f"{source}: the name of column {position} ({shorten(name)}) contains the control character {shorten(control.group())}; "
                "remove it from the header and export again"
            )
    if len(set(header)) < len(header):
        seen: set[str] = set()
        repeated = sorted({name for name in header if name in seen or seen.add(name)})
        raise PipelineError(f"{source}: row 1: column name(s) used twice: {_listed(repeated)}; each column needs its own name")
    table = grid.set_axis(header, axis=1)  # no copy of the cells (pandas' copy-on-write)
    table.index = pd.RangeIndex(first_data_row, first_data_row + len(table), name="row")
    # Only a row shorter than the header leaves cells missing (empty fields are ""), and such a row's
    # last cell is one of them: when the last column has none, there is nothing to fill.
    if len(header) and table.iloc[:, -1].isna().any():
        table = table.fillna("")
    return table


def _nameless_columns(source: Path | str, positions: list[int]) -> PipelineError:
    return PipelineError(f"{source}: row 1: column(s) {_listed([str(p) for p in positions], quote=False)} have no name; name or delete them")


def _text_grid(content: bytes, source_spec: WaveSource, path: Path, default_delimiter: str, empty_advice: str) -> pd.DataFrame:
    text = decode_text(content, source_spec.encoding, path)
    if not text or text.isspace():
        raise PipelineError(f"{path}: the file is empty; {empty_advice}")
    return parse_delimited(text, source_spec.delimiter or default_delimiter, path)


def read_delimited(content: bytes, source_spec: WaveSource, path: Path) -> pd.DataFrame:
    """A CSV, TSV or REDCap export: one header row."""
    fmt = source_spec.resolved_format
    delimiter = source_spec.delimiter or DELIMITERS[fmt]
    grid = _text_grid(content, source_spec, path, DELIMITERS[fmt], "export the wave again with a header row")
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
    grid = _text_grid(content, source_spec, path, ",", "download the data table from Qualtrics again")
    tags = [str(value) for value in grid.iloc[0]]
    if len(grid) >= 3 and sum(bool(IMPORT_ID.match(str(value))) for value in grid.iloc[2]) >= len(tags) / 2:
        return table_from_grid(grid.iloc[3:], tags, 4, path)
    if tags and LEGACY_QUALTRICS.match(tags[0]) and len(grid) >= 2:
        names = [str(grid.iloc[1, position]) if LEGACY_QUALTRICS.match(tag) else tag for position, tag in enumerate(tags)]
        return table_from_grid(grid.iloc[2:], names, 3, path)
    raise PipelineError(
        f"{path}: not a Qualtrics export: row 3 holds no ImportId entries and row 1 does not start with V1 (legacy form); "
        "download the CSV from Qualtrics again with its header rows, or set format: csv"
    )


# --- Excel ------------------------------------------------------------------------------------


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


def check_xlsx_container(content: bytes, path: Path) -> None:
    """Refuse what is not an .xlsx zip (an old .xls, an encrypted workbook, text) or would unpack too far (a zip bomb)."""
    not_xlsx = f"{path}: cannot read as an Excel .xlsx workbook:"
    if content.startswith(OLE2_MAGIC):  # the container of both .xls files and encrypted .xlsx files
        if "EncryptedPackage".encode("utf-16-le") in content:
            raise PipelineError(f"{not_xlsx} it is password-protected; remove the password in Excel (File > Info > Protect Workbook), save, or export CSV")
        raise PipelineError(f"{not_xlsx} it is an old Excel 97-2003 (.xls) workbook; open it in Excel and save as Excel Workbook (.xlsx), or export CSV")
    if _looks_like_text(content[:4096]):
        raise PipelineError(f"{not_xlsx} it is a text file (a CSV saved under an .xlsx name?); rename it .csv or set 'format: csv' for this wave")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except Exception:  # noqa: BLE001 - zipfile raises BadZipFile, NotImplementedError (version), ValueError, struct.error...
        raise PipelineError(f"{not_xlsx} it is not a zip file, or a damaged one; save it from Excel as .xlsx, or export CSV") from None
    if len(parts) > MAX_ZIP_ENTRIES:
        raise PipelineError(f"{not_xlsx} it holds {len(parts):,} parts (more than {MAX_ZIP_ENTRIES:,}); save it from Excel as .xlsx again, or export CSV")
    if any(part.flag_bits & 0x1 for part in parts):
        raise PipelineError(f"{not_xlsx} it is password-protected (encrypted zip); save it from Excel without a password, or export CSV")
    unpacked = sum(part.file_size for part in parts)  # zipfile never inflates a part beyond its declared size
    if unpacked > MAX_UNPACKED_BYTES:
        raise PipelineError(
            f"{not_xlsx} it would unpack to {unpacked / GIB:.1f} GiB (more than {MAX_UNPACKED_BYTES / GIB:g} GiB): damaged or a zip bomb; "
            "export the wave as CSV, or split it"
        )
    for part in parts:
        if part.file_size > 1024 * 1024 and part.file_size > MAX_COMPRESSION_RATIO * max(part.compress_size, 1):
            raise PipelineError(
                f"{not_xlsx} a part is compressed more than {MAX_COMPRESSION_RATIO}:1, as no workbook is (a zip bomb?); "
                "save it from Excel as .xlsx again, or export CSV"
            )


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    return bool(head) and not any(byte < 0x20 and byte not in b"\t\n\r" for byte in head)


def read_excel(content: bytes, source_spec: WaveSource, path: Path) -> pd.DataFrame:
    """The first (or the named) sheet of an .xlsx workbook; the header is spreadsheet row 1."""
    return read_excel_with_problems(content, source_spec, path)[0]


def read_excel_with_problems(content: bytes, source_spec: WaveSource, path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sheet as ``read_excel`` reads it, with its formula cells that have no saved value (``cell_problems``).

    Memory is proportional to the cells the sheet holds: the sheet's declared dimension is
    ignored and nothing is padded (openpyxl's read-only rows pad to the last column of each row
    and to every missing row, and pandas then pads to the widest row). Blank lines are dropped
    but keep their spreadsheet numbers; a line that holds only formulas without a saved value is
    kept, so that its cells can be listed.
    """
    check_xlsx_container(content, path)
    from openpyxl import load_workbook

    with warnings.catch_warnings():  # openpyxl warns (on stderr) about unsupported extensions, odd dates...
        warnings.simplefilter("ignore")
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True, keep_links=False)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a damaged or foreign file
            raise _unreadable_workbook(path, exc) from None
        try:
            sheets = {sheet.title: sheet for sheet in book.worksheets}
            if source_spec.sheet is not None and source_spec.sheet not in sheets:
                raise PipelineError(f"{path}: no sheet named {_quoted(source_spec.sheet)}; the workbook has {_listed(list(sheets), quote=False)}")
            if not sheets:
                raise PipelineError(f"{path}: the workbook has no worksheet; export the wave again with a header row")
            sheet = sheets[source_spec.sheet] if source_spec.sheet is not None else next(iter(sheets.values()))
            rows = list(_sheet_rows(book, sheet, path))
        except PipelineError:
            raise
        except Exception as exc:  # noqa: BLE001 - as above, while the sheet's XML is parsed
            raise _unreadable_workbook(path, exc) from None
        finally:
            book.close()
    if not rows:
        raise PipelineError(f"{path}: the sheet is empty; export the wave again with a header row")
    width = max(max([*texts, *unsaved], default=0) for _, texts, unsaved in rows)
    header_texts, header_unsaved = (rows[0][1], rows[0][2]) if rows[0][0] == 1 else ({}, [])
    if header_unsaved:
        raise PipelineError(f"{path}: row 1: column {header_unsaved[0]}'s name is a {UNSAVED_FORMULA}")
    header = [header_texts.get(column, "") for column in range(1, width + 1)]
    body = [row for row in rows if row[0] != 1]
    if len(body) * width > MAX_SHEET_CELLS:
        raise PipelineError(
            f"{path}: the sheet spans {len(body) + 1:,} rows x {width:,} columns, more than {MAX_SHEET_CELLS:,} cells; "
            "delete stray cells far from the data, or export CSV"
        )
    nameless = sorted({column for _, _, unsaved in body for column in unsaved if not header[column - 1].strip()})
    if nameless:  # a column of formulas only would otherwise be dropped as empty
        raise _nameless_columns(path, nameless)
    grid = np.full((len(body), width), "", dtype=object)
    for position, (_, texts, _) in enumerate(body):
        for column, text in texts.items():
            grid[position, column - 1] = text
    table = table_from_grid(pd.DataFrame(grid), header, FIRST_DATA_ROW, path)
    table.index = pd.Index([number for number, _, _ in body], dtype="int64", name="row")
    problems = pd.DataFrame(
        [(number, table.columns[column - 1], UNSAVED_FORMULA) for number, _, unsaved in body for column in unsaved],
        columns=CELL_PROBLEM_COLUMNS,
    )
    return table, (problems if len(problems) else empty_cell_problems())


def _sheet_rows(book, sheet, path: Path):
    """(row number, {column: text}, [columns of formulas without a saved value]) for each row holding anything.

    Uses openpyxl's own sheet parser (what its read-only rows are built on) rather than the rows,
    to see each cell once and unpadded, and to tell a formula without a saved value from an empty
    cell: data_only=True reads both as None. A formula's saved value is a non-empty ``<v>``, or an
    empty one in a text cell (``t="str"``: the formula gave ""); openpyxl and other writers that
    do not calculate write no ``<v>`` or an empty one.
    """
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    class CellParser(WorkSheetParser):
        def parse_cell(self, element):
            cell = super().parse_cell(element)
            saved = element.find(VALUE_TAG)
            has_value = saved is not None and (bool(saved.text) or element.get("t") == "str")
            cell["unsaved_formula"] = element.find(FORMULA_TAG) is not None and not has_value
            return cell

    with sheet._get_source() as source:
        parser = CellParser(
            source, book.shared_strings, data_only=True, epoch=book.epoch,
            date_formats=book._date_formats, timedelta_formats=book._timedelta_formats,
        )
        last = 0
        for number, cells in parser.parse():
            if not 1 <= number <= EXCEL_MAX_ROWS:
                raise PipelineError(f"{path}: row number {shorten(str(number), 12)} is outside Excel's 1..{EXCEL_MAX_ROWS:,}: the file is damaged; open and save it in Excel, or export CSV")
            if number <= last:  # openpyxl would silently skip such a row
                raise PipelineError(f"{path}: row {number} appears twice or out of order: the file is damaged; open and save it in Excel, or export CSV")
            last = number
            texts: dict[int, str] = {}
            unsaved: list[int] = []
            seen: set[int] = set()
            for cell in cells:
                column = cell["column"]
                if not 1 <= column <= MAX_COLUMNS:
                    raise PipelineError(f"{path}: row {number}: a cell beyond Excel's last column ({MAX_COLUMNS:,}): the file is damaged; open and save it in Excel")
                if column in seen:  # openpyxl would keep the last one silently
                    raise PipelineError(f"{path}: row {number}: column {column} holds two cells: the file is damaged; open and save it in Excel, or export CSV")
                seen.add(column)
                if cell["unsaved_formula"]:
                    unsaved.append(column)
                elif text := excel_cell_text(cell["value"]):
                    texts[column] = text
            if texts or unsaved:
                yield number, texts, unsaved


def _unreadable_workbook(path: Path, exc: Exception) -> PipelineError:
    return PipelineError(f"{path}: cannot read as an Excel .xlsx workbook ({type(exc).__name__}: {_first_line(exc)}); save it from Excel as .xlsx")


# --- SPSS -------------------------------------------------------------------------------------


def read_spss(path: Path) -> pd.DataFrame:
    """An SPSS .sav file: codes (not labels) as text; user-missing codes are missing; rows are case numbers."""
    return read_spss_with_labels(path)[0]


def read_spss_with_labels(path: Path, content: bytes | None = None) -> tuple[pd.DataFrame, dict[str, dict[str, str]]]:
    """An SPSS .sav file (``content``, else read from ``path``) as ``read_spss`` reads it, with its value
    labels keyed by the code as the table shows it."""
    if content is None:
        content = read_export_bytes(path.stem, path)
    kind, payload = _read_sav_isolated(content)
    unreadable = f"{path}: cannot read as an SPSS .sav file"
    if kind == "crashed":
        raise PipelineError(f"{unreadable} (the reader crashed on it, {payload}): the file is damaged; save it again from SPSS as .sav")
    if kind == "error":
        raise PipelineError(f"{unreadable} ({payload}); save it from SPSS as .sav")
    if kind == "claims":
        claimed, holds = payload
        raise PipelineError(f"{unreadable}: its header claims {claimed:,} cases but the file can hold at most {holds:,}: it is damaged; save it again from SPSS")
    if kind == "too_large":
        raise PipelineError(f"{path}: more than {MAX_SPSS_VALUES:,} values (cases x variables), the most read; split the file (e.g. by site) or drop unused variables")
    frame, value_labels = payload
    table = frame.astype(object).map(excel_cell_text)
    table.index = pd.RangeIndex(1, len(table) + 1, name="row")
    labels = {
        column: {excel_cell_text(code): str(label) for code, label in codes.items()}
        for column, codes in (value_labels or {}).items()
    }
    return table_from_grid(table, list(table.columns), 1, path), labels


def _read_sav_isolated(content: bytes) -> tuple[str, object]:
    """``_read_sav`` of ``content`` in a child process: (kind, payload), kind "crashed" if the child died.

    ReadStat (under pyreadstat) crashes the whole process with a segmentation fault on some
    damaged files (e.g. a value-label record naming a variable that does not exist), which no
    try/except can catch. With "fork" the child shares ``content`` instead of copying it.
    """
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_sav_child, args=(content, sender), daemon=True)
    child.start()
    sender.close()
    try:
        outcome = receiver.recv()
    except EOFError:  # the child died before it could answer
        outcome = None
    finally:
        receiver.close()
        child.join()
    if outcome is None:
        code = child.exitcode or 0
        return "crashed", (signal.Signals(-code).name if code < 0 and -code in signal.valid_signals() else f"exit status {code}")
    return outcome


def _sav_child(content: bytes, sender) -> None:
    """The child's side of ``_read_sav_isolated``: C-level noise (a crash report) goes nowhere, the answer to the pipe."""
    import faulthandler

    faulthandler.disable()
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    try:
        outcome = _read_sav(content)
    except Exception as exc:  # noqa: BLE001 - pyreadstat raises ReadstatError, OverflowError (dates) and others
        outcome = ("error", _first_line(exc))
    sender.send(outcome)
    sender.close()


def _read_sav(content: bytes) -> tuple[str, object]:
    """("ok", (frame, value labels)), or why not: ("error", text), ("claims", (cases, most)), ("too_large", None).

    pyreadstat allocates the arrays for every case the header claims before reading any (a
    100-byte file claiming a billion cases asks for gigabytes), so the claim is checked against
    what the file can hold (a case takes at least one byte per variable; deflate inflates at most
    ZLIB_MAX_RATIO times in a .zsav) and MAX_SPSS_VALUES first; ``row_limit`` then bounds files
    that do not state their case count.
    """
    import pyreadstat

    try:
        _, meta = pyreadstat.read_sav(io.BytesIO(content), metadataonly=True)
    except Exception as exc:  # noqa: BLE001 - see _sav_child
        return "error", _first_line(exc)
    variables = max(int(meta.number_columns or 0), 1)
    most_cases = MAX_SPSS_VALUES // variables
    holds = len(content) * (ZLIB_MAX_RATIO if content.startswith(b"$FL3") else 1) // variables
    claimed = meta.number_rows
    if claimed is not None and claimed > holds:
        return "claims", (int(claimed), int(holds))
    if claimed is not None and claimed > most_cases:
        return "too_large", None
    frame, meta = pyreadstat.read_sav(
        io.BytesIO(content), user_missing=False, apply_value_formats=False, row_limit=min(most_cases, holds) + 1
    )
    if len(frame) > min(most_cases, holds):
        return ("too_large", None) if len(frame) > most_cases else ("claims", (len(frame), int(holds)))
    return "ok", (frame, meta.variable_value_labels)


# --- a wave -----------------------------------------------------------------------------------


def read_wave(wave: str, path: Path, source_spec: WaveSource | None = None) -> WaveExport:
    """Read the export for ``wave`` from ``path`` (opened read-only, never modified) as ``source_spec`` says."""
    source_spec = source_spec or WaveSource(file=path.name)
    content = read_export_bytes(wave, path)
    fmt = source_spec.resolved_format
    if not content or content.isspace():  # isspace, not strip(): no copy of a large file
        raise PipelineError(f"{path}: the file is empty; export the wave again with a header row")
    value_labels: dict[str, dict[str, str]] = {}
    cell_problems = empty_cell_problems()
    if fmt == "excel":
        table, cell_problems = read_excel_with_problems(content, source_spec, path)
    elif fmt == "spss":
        table, value_labels = read_spss_with_labels(path, content)
    elif fmt == "qualtrics":
        table = read_qualtrics(content, source_spec, path)
    else:
        table = read_delimited(content, source_spec, path)
    sha256 = hashlib.sha256(content).hexdigest()
    return WaveExport(
        wave=wave, path=path, sha256=sha256, format=fmt, table=table, value_labels=value_labels, cell_problems=cell_problems
    )


def _suggest_delimiter(header: str, used: str, path: Path) -> None:
    for candidate in LIKELY_DELIMITERS:
        if candidate != used and candidate in header:
            shown = "tab" if candidate == "\t" else f"'{candidate}'"
            setting = "format: tsv" if candidate == "\t" else f"delimiter: '{candidate}'"
            raise PipelineError(
                f"{path}: row 1 reads as a single column but contains {shown}: the file separates columns with {shown}; "
                f"set '{setting}' for this wave in study.yaml"
            )


def _quoted(text: str) -> str:
    return f"'{shorten(text)}'"


def _listed(names: list[str], quote: bool = False, most: int = 5, characters: int = 90) -> str:
    """The first of ``names`` (at most ``most``, in about ``characters``), shown safely, then how many more."""
    shown: list[str] = []
    for name in names[:most]:
        shown.append(_quoted(name) if quote else shorten(name))
        if sum(len(text) + 2 for text in shown) > characters:
            break
    return ", ".join(shown) + (f" and {len(names) - len(shown)} more" if len(names) > len(shown) else "")


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message, shown safely (a parser's message can echo the file)."""
    text = str(exc).strip()
    return shorten(text.splitlines()[0], limit=80) if text else type(exc).__name__
