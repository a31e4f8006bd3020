"""Ingest bounds: any careless or hostile export is read in bounded memory or refused with one line.

Every refusal is a PipelineError whose message is one printable line of under 300 characters
starting with the file's path. Hostile files are made here, in tmp_path (no binary fixtures):
non-regular files, oversized files, fake-dimension and zip-bomb workbooks, text that pandas'
C parser reads oddly, damaged SPSS files (one of which crashes ReadStat), and random bytes.
"""

from __future__ import annotations

import os
import socket
import struct
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import ingest
from pipeline.errors import PipelineError
from pipeline.ingest import CELL_PROBLEM_COLUMNS, UNSAVED_FORMULA, read_wave
from pipeline.instruments import load_instrument
from pipeline.study import WaveSource
from pipeline.validate import validate_wave

from .conftest import MINIMAL
from .workbooks import peak_memory, sheet_xml, xlsx_bytes

TINY = load_instrument(MINIMAL / "instruments" / "tiny.yaml")
HEADER = ["participant_id", "tiny_1", "tiny_2", "tiny_3"]
ROWS = [["a", 1, 2, 3], ["b", 4, 5, 1], ["c", 2, 2, 2]]


def refused(path: Path, *words: str, source: WaveSource | None = None, wave: str = "pre") -> str:
    """The message with which reading ``path`` is refused, checked against the rules every message keeps."""
    with pytest.raises(PipelineError) as error:
        read_wave(wave, path, source)
    message = str(error.value)
    assert message.startswith(str(path)), message
    assert message.isprintable() and len(message) < 300, message
    for word in words:
        assert word in message, message
    return message


def read_or_refused(path: Path, source: WaveSource | None = None) -> None:
    """Reading ``path`` gives a table or a well-formed refusal, never any other exception."""
    try:
        export = read_wave("pre", path, source)
    except PipelineError as error:
        message = str(error)
        assert message.startswith(str(path)) and message.isprintable() and len(message) < 300, message
    else:
        assert list(export.cell_problems.columns) == CELL_PROBLEM_COLUMNS
        assert not any(ingest.CONTROL.search(name) for name in export.table.columns)


# --- hand-made workbooks -------------------------------------------------------------------------


def write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


# --- only regular files, of bounded size ----------------------------------------------------------


def test_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pre.csv")
    refused(tmp_path / "pre.csv", "not a regular file", "point waves.pre at the export file")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_is_refused_before_it_is_read():
    refused(Path("/dev/zero"), "not a regular file", "waves.pre")


def test_a_folder_is_refused(tmp_path):
    (tmp_path / "pre.csv").mkdir()
    refused(tmp_path / "pre.csv", "names a folder, not a regular file", "point waves.pre at the export file")


def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "s.csv"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
    except OSError:  # the path is too long for a socket address here
        pytest.skip("cannot bind a socket in tmp_path")
    try:
        refused(path, "not a regular file")
    finally:
        server.close()


def test_a_file_larger_than_the_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "pre.csv"
    with open(path, "wb") as handle:  # sparse: takes no disk space
        handle.truncate(ingest.MAX_EXPORT_BYTES + 1)
    refused(path, "larger than 2 GiB", "split the export")


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="no /proc")
def test_a_file_that_is_longer_than_its_stated_size_is_read_no_further_than_the_limit(monkeypatch):
    # /proc files are regular files of size 0 that hold more: like a file that grew after os.stat.
    monkeypatch.setattr(ingest, "MAX_EXPORT_BYTES", 64)
    refused(Path("/proc/self/maps"), "split the export")


def test_a_file_name_with_a_control_character_is_refused_on_one_line(tmp_path):
    path = write(tmp_path, "pre\n.csv", "a,b\n1,2\n")
    with pytest.raises(PipelineError, match="contains a control character; rename the file") as error:
        read_wave("pre", path)
    assert str(error.value).isprintable() and str(error.value).startswith(str(tmp_path / "pre\\n.csv"))


def test_a_path_that_cannot_be_opened_is_one_line(tmp_path):
    write(tmp_path, "file.csv", "a,b\n")
    refused(tmp_path / "file.csv" / "pre.csv", "cannot open the file for wave 'pre' (Not a directory)")
    os.symlink(tmp_path / "loop.csv", tmp_path / "loop.csv")
    refused(tmp_path / "loop.csv", "cannot open the file for wave 'pre'", "check waves.pre")


def test_an_unreadable_file_is_one_line(tmp_path):
    path = write(tmp_path, "pre.csv", "a,b\n1,2\n")
    path.chmod(0)
    if os.access(path, os.R_OK):  # running as root
        pytest.skip("permissions are not enforced for this user")
    refused(path, "cannot open", "permissions")


# --- Excel in bounded memory ----------------------------------------------------------------------


def test_a_workbook_claiming_a_million_rows_reads_in_little_memory(tmp_path):
    path = write(tmp_path, "pre.xlsx", xlsx_bytes(sheet_xml([HEADER, *ROWS], dimension="A1:XFD1048576")))
    assert path.stat().st_size < 3000
    export, peak = peak_memory(lambda: read_wave("pre", path))
    assert peak < 20 * 1024 * 1024
    assert export.table.shape == (3, 4) and list(export.table.index) == [2, 3, 4]


def test_a_cell_in_the_last_row_costs_no_more_than_one_row(tmp_path):
    last = '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>z</t></is></c><c r="B1048576"><v>5</v></c></row>'
    path = write(tmp_path, "pre.xlsx", xlsx_bytes(sheet_xml([HEADER, *ROWS], extra=last)))
    export, peak = peak_memory(lambda: read_wave("pre", path))
    assert peak < 20 * 1024 * 1024
    assert list(export.table.index) == [2, 3, 4, 1_048_576]
    assert export.table.loc[1_048_576].tolist() == ["z", "5", "", ""]


def test_workbook_semantics_are_kept(tmp_path):
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "First"
    sheet.append(["participant_id", "tiny_1", "when", "ok"])
    sheet.append(["a", 3.0, datetime(2024, 5, 1), True])
    sheet.append([])  # a blank line: dropped, but row numbers stay the spreadsheet's
    sheet.append(["b", 2.5, None, False])
    book.create_sheet("Second").append(["x"])
    path = tmp_path / "pre.xlsx"
    book.save(path)
    table = read_wave("pre", path).table
    assert list(table.index) == [2, 4]
    assert table.to_dict("list") == {"participant_id": ["a", "b"], "tiny_1": ["3", "2.5"], "when": ["2024-05-01T00:00:00", ""], "ok": ["1", "0"]}
    assert read_wave("pre", path, WaveSource(file="pre.xlsx", sheet="Second")).table.columns.tolist() == ["x"]
    refused(path, "no sheet named 'Third'; the workbook has First, Second", source=WaveSource(file="pre.xlsx", sheet="Third"))


def test_a_header_only_sheet_has_no_rows_and_a_long_sheet_list_is_cut(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(HEADER)
    for number in range(8):
        book.create_sheet(f"A long sheet name for tab {number:02d}")
    book.save(tmp_path / "pre.xlsx")
    table = read_wave("pre", tmp_path / "pre.xlsx").table
    assert table.empty and list(table.columns) == HEADER
    refused(tmp_path / "pre.xlsx", "no sheet named 'Data'; the workbook has Sheet, A long sheet name", "more", source=WaveSource(file="pre.xlsx", sheet="Data"))


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    zeros = b"0" * (4 * 1024 * 1024)  # 4 MiB that deflate to a few kilobytes
    path = write(tmp_path, "pre.xlsx", xlsx_bytes(sheet_xml([HEADER]), {"xl/media/big.bin": zeros}))
    refused(path, "compressed more than 100:1", "export CSV")


def test_a_workbook_that_unpacks_too_far_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_UNPACKED_BYTES", 1024 * 1024)
    path = write(tmp_path, "pre.xlsx", xlsx_bytes(sheet_xml([HEADER]), {"xl/media/noise.bin": os.urandom(2 * 1024 * 1024)}))
    refused(path, "would unpack to", "zip bomb")


def test_a_workbook_of_too_many_parts_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_ZIP_ENTRIES", 20)
    parts = {f"xl/media/{i}.bin": b"" for i in range(30)}
    refused(write(tmp_path, "pre.xlsx", xlsx_bytes(sheet_xml([HEADER]), parts)), "parts (more than 20)")


@pytest.mark.parametrize(
    "content, words",
    [
        (ingest.OLE2_MAGIC + b"\x00" * 600, ["old Excel 97-2003 (.xls)", "save as Excel Workbook (.xlsx)"]),
        (ingest.OLE2_MAGIC + b"\x00" * 64 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 64, ["password-protected", "remove the password"]),
        (b"participant_id,tiny_1\na,1\n", ["text file", "set 'format: csv'"]),
        (b"\x00\x01garbage" * 50, ["not a zip file", "save it from Excel as .xlsx"]),
        (b"PK\x03\x04" + b"\x00" * 100, ["not a zip file"]),
    ],
    ids=["xls", "encrypted", "csv-renamed", "garbage", "truncated-zip"],
)
def test_what_is_not_an_xlsx_workbook_says_what_it_is(tmp_path, content, words):
    refused(write(tmp_path, "pre.xlsx", content), "cannot read as an Excel .xlsx workbook", *words)


def test_a_zip_encrypted_workbook_is_refused(tmp_path):
    content = bytearray(xlsx_bytes(sheet_xml([HEADER])))
    # set the "encrypted" flag bit of every central-directory entry
    position = content.find(b"PK\x01\x02")
    while position != -1:
        flags = struct.unpack_from("<H", content, position + 8)[0]
        struct.pack_into("<H", content, position + 8, flags | 1)
        position = content.find(b"PK\x01\x02", position + 4)
    refused(write(tmp_path, "pre.xlsx", bytes(content)), "password-protected")


@pytest.mark.parametrize(
    "extra, words",
    [
        ('<row r="2000000"><c r="A2000000"><v>1</v></c></row>', ["outside Excel's 1..1,048,576"]),
        ('<row r="' + "9" * 4000 + '"><c r="A1"><v>1</v></c></row>', ["row number 999999999999... is outside Excel's"]),
        ('<row r="3"><c r="A3"><v>1</v></c></row>', ["row 3 appears twice or out of order"]),
        ('<row r="9"><c r="A9"><v>1</v></c><c r="A9"><v>2</v></c></row>', ["row 9: column 1 holds two cells"]),
        ('<row r="9"><c r="XFE9"><v>1</v></c></row>', ["beyond Excel's last column"]),
        ('<row r="9"><c r="ZZZZ9"><v>1</v></c></row>', ["cannot read as an Excel .xlsx workbook"]),
        ('<row r="9"><c r="A9" t="s"><v>7</v></c></row>', ["cannot read as an Excel .xlsx workbook"]),
        ('<row r="9"><c r="A9"><v>nan</v></c></row>', ["cannot read as an Excel .xlsx workbook"]),
    ],
    ids=["row-beyond-excel", "row-number-huge", "row-repeated", "cell-repeated", "column-beyond-excel", "bad-reference", "missing-shared-string", "bad-number"],
)
def test_damaged_sheet_xml_is_one_line(tmp_path, extra, words):
    refused(write(tmp_path, "pre.xlsx", xlsx_bytes(sheet_xml([HEADER, *ROWS], extra=extra))), *words)


def test_a_sheet_too_sparse_to_tabulate_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_SHEET_CELLS", 1000)
    path = write(tmp_path, "pre.xlsx", xlsx_bytes(sheet_xml([HEADER, *ROWS], extra='<row r="999"><c r="D999"><v>1</v></c></row>')))
    assert read_wave("pre", path).table.shape == (4, 4)  # 5 rows x 4 columns is fine, however far apart
    # one cell per row, but a header reaching column AZ: 59 rows x 52 columns of table
    header = '<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="AZ1" t="inlineStr"><is><t>far</t></is></c></row>'
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></c></row>' for r in range(2, 60))
    sheet = sheet_xml([], extra=header + rows)
    refused(write(tmp_path, "wide.xlsx", xlsx_bytes(sheet)), "more than 1,000 cells", "export CSV")


def test_a_billion_laughs_sheet_is_refused(tmp_path):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol3;</t></is></c></row></sheetData></worksheet>'
    )
    refused(write(tmp_path, "pre.xlsx", xlsx_bytes(bomb)), "cannot read as an Excel .xlsx workbook")


# --- formula cells without a saved value -----------------------------------------------------------


def test_formulas_without_a_saved_value_are_blank_and_listed(tmp_path):
    rows = [
        HEADER,
        ["a", '<c r="REF"><f>1+1</f></c>', 2, 3],  # no saved value
        ["b", '<c r="REF"><f>1+1</f><v>2</v></c>', 5, '<c r="REF" t="str"><f>""</f><v></v></c>'],  # saved: 2 and ""
        ['<c r="REF"><f t="shared" ref="A4:B4" si="0">"x"</f></c>', '<c r="REF"><f t="shared" si="0"/></c>'],  # a row of formulas only
    ]
    export = read_wave("pre", write(tmp_path, "pre.xlsx", xlsx_bytes(sheet_xml(rows))))
    assert export.table.loc[2].tolist() == ["a", "", "2", "3"]
    assert export.table.loc[3].tolist() == ["b", "2", "5", ""]
    assert export.table.loc[4].tolist() == ["", "", "", ""]  # kept, so that its cells can be listed
    assert export.cell_problems.to_dict("records") == [
        {"row": 2, "column": "tiny_1", "problem": UNSAVED_FORMULA},
        {"row": 4, "column": "participant_id", "problem": UNSAVED_FORMULA},
        {"row": 4, "column": "tiny_1", "problem": UNSAVED_FORMULA},
    ]
    wave = validate_wave(export, [TINY], "participant_id")
    assert wave.rows_read == wave.rows_accepted + wave.rows_excluded == 3


def test_formulas_written_by_openpyxl_have_no_saved_value(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["participant_id", "tiny_1", "tiny_2"])
    book.active.append(["a", "=2+1", 4])
    book.save(tmp_path / "pre.xlsx")
    export = read_wave("pre", tmp_path / "pre.xlsx")
    assert export.table.loc[2].tolist() == ["a", "", "4"]
    assert export.cell_problems[["row", "column"]].values.tolist() == [[2, "tiny_1"]]


def test_a_formula_header_or_a_nameless_formula_column_is_refused(tmp_path):
    header_formula = [["participant_id", '<c r="REF"><f>"x"</f></c>'], ["a", 1]]
    refused(write(tmp_path, "h.xlsx", xlsx_bytes(sheet_xml(header_formula))), "row 1: column 2's name is a formula without a saved value")
    nameless = [["participant_id", "tiny_1"], ["a", 1, '<c r="REF"><f>1</f></c>']]
    refused(write(tmp_path, "n.xlsx", xlsx_bytes(sheet_xml(nameless))), "row 1: column(s) 3 have no name")


def test_every_format_has_empty_cell_problems(tmp_path):
    path = write(tmp_path, "pre.csv", "participant_id,tiny_1\na,1\n")
    problems = read_wave("pre", path).cell_problems
    assert problems.empty and list(problems.columns) == CELL_PROBLEM_COLUMNS


# --- text files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\n", "\x85", "\u2028"])
def test_a_control_character_in_a_header_name_is_refused(tmp_path, character):
    path = write(tmp_path, "pre.csv", f'participant_id,"tiny{character}_1",tiny_2\na,1,2\n')
    refused(path, "column 2", "control character", "remove it from the header")


def test_a_control_character_in_an_excel_header_is_refused(tmp_path):
    # a line break typed into a header cell (Alt+Enter)
    path = write(tmp_path, "pre.xlsx", xlsx_bytes(sheet_xml([["participant_id", "tiny&#10;_1"], ["a", 1]])))
    refused(path, "column 2 (tiny\\n_1)", "control character \\n", "remove it")


def test_nul_bytes_in_data_are_kept_as_text_and_reported_by_validation(tmp_path):
    path = write(tmp_path, "pre.csv", b"participant_id,tiny_1,tiny_2,tiny_3\na,\x00,2,3\nb\x00,1,2,3\n\x00\n")
    export = read_wave("pre", path)
    assert export.table.loc[2, "tiny_1"] == "\x00" and export.table.loc[3, "participant_id"] == "b\x00"
    wave = validate_wave(export, [TINY], "participant_id")
    assert wave.rows_read == wave.rows_accepted + wave.rows_excluded == 3
    assert len(wave.problems) == 1


def test_carriage_return_line_ends_are_lines(tmp_path):
    path = write(tmp_path, "pre.csv", 'participant_id,tiny_1\ra,1\r"b\rc",2\r')
    table = read_wave("pre", path).table
    assert table.to_dict("list") == {"participant_id": ["a", "b\rc"], "tiny_1": ["1", "2"]} and list(table.index) == [2, 3]


@pytest.mark.parametrize("delimiter, word", [('"', "the quote character"), ("\n", "a line end"), ("\r", "a line end"), ("a", "a letter or digit")])
def test_a_delimiter_that_cannot_separate_columns_is_refused(tmp_path, delimiter, word):
    path = write(tmp_path, "pre.csv", "participant_id,tiny_1\na,1\n")
    # study.yaml's validation refuses these too; ingest checks for callers that build a WaveSource themselves
    refused(path, "delimiter", word, source=WaveSource.model_construct(file="pre.csv", delimiter=delimiter))


def test_long_lines_and_wide_rows(tmp_path):
    long_cell = "9" * 5_000_000
    table = read_wave("pre", write(tmp_path, "pre.csv", f"participant_id,tiny_1\na,{long_cell}\n")).table
    assert table.loc[2, "tiny_1"] == long_cell
    wide = ",".join(f"c{i}" for i in range(5000)) + "\n" + ",".join("1" for _ in range(5000)) + "\n"
    assert read_wave("pre", write(tmp_path, "wide.csv", wide)).table.shape == (1, 5000)
    ragged = "participant_id,tiny_1\n" + ",".join("1" for _ in range(50_000)) + "\n"
    refused(write(tmp_path, "ragged.csv", ragged), "cannot read as ','-delimited text", "Expected 2 fields in line 2, saw 50000", "check the delimiter")


@pytest.mark.parametrize(
    "header",
    [
        "," * 1_000_000,  # a million empty columns
        ",".join(f"c{i}" for i in range(100_000)),
        "\n\n" + "," * 20_000,  # after blank lines, which pandas skips
        'x"' + "," * 20_000 + '"',  # a quote inside a field is text: these commas separate columns
    ],
    ids=["million-empty", "hundred-thousand-named", "after-blank-lines", "quote-inside-field"],
)
def test_a_header_of_too_many_columns_is_refused_in_little_memory(tmp_path, header):
    path = write(tmp_path, "pre.csv", header + "\n1,2\n")
    _, peak = peak_memory(lambda: refused(path, "more than 16,384 columns", "check the delimiter"))
    assert peak < 40 * 1024 * 1024


def test_quoted_delimiters_are_not_counted_as_columns(tmp_path):
    header = '"' + "," * 20_000 + '",b\n"x""y",2\n'
    table = read_wave("pre", write(tmp_path, "pre.csv", header)).table
    assert table.shape == (1, 2) and table.iloc[0].tolist() == ['x"y', "2"]


@pytest.mark.parametrize(
    "encoding, content, word",
    [
        ("base64", b"a,b\n1,2\n", "not a text encoding: 'base64'"),
        ("no-such-codec\n", b"a,b\n1,2\n", "unknown encoding 'no-such-codec\\n'"),
        ("punycode", b"a,b\n\xff\xfe\n", "not punycode text"),
        ("unicode_escape", b"a,b\n\\ud800,1\n", "lone surrogate"),
        ("utf-16-le", b"a\x00b", "not utf-16-le text"),
    ],
)
def test_encodings_that_cannot_give_text_are_one_line(tmp_path, encoding, content, word):
    refused(write(tmp_path, "pre.csv", content), word, source=WaveSource.model_construct(file="pre.csv", encoding=encoding))


def test_names_in_messages_are_escaped_and_cut(tmp_path):
    names = ",".join(["participant_id", "x" * 100, "y" * 100])
    message = refused(write(tmp_path, "pre.csv", f"{names},{names}\n"), "used twice")
    assert "x" * 41 not in message and "x" * 40 + "..." in message
    refused(write(tmp_path, "rtl.csv", "\u202eevil,\u202eevil\n"), "used twice: \\u202eevil;")
    message = refused(write(tmp_path, "ansi.csv", "participant_id,\x1b[31mred\n"), "column 2")
    assert "(\\x1b[31mred)" in message


def test_many_nameless_columns_are_listed_briefly(tmp_path):
    message = refused(write(tmp_path, "pre.csv", "a" + ",,x" * 500 + "\n"), "column(s) 2, 4, 6, 8, 10 and 495 more have no name")
    assert len(message) < 300


# --- Qualtrics and REDCap inherit the text bounds -----------------------------------------------------


def test_qualtrics_and_redcap_exports_inherit_the_text_bounds(tmp_path):
    wide = write(tmp_path, "q.csv", "," * 100_000 + "\n")
    refused(wide, "more than 16,384 columns", source=WaveSource(file="q.csv", format="qualtrics"))
    refused(wide, "more than 16,384 columns", source=WaveSource(file="q.csv", format="redcap", event="e"))
    nul = write(tmp_path, "r.csv", "record_id,redcap_event_name,x\x00y\n1,e,2\n")
    refused(nul, "column 3", "control character", source=WaveSource(file="r.csv", format="redcap", event="e"))
    refused(nul, "delimiter", source=WaveSource.model_construct(file="r.csv", format="qualtrics", delimiter='"'))


# --- SPSS -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sav_bytes(tmp_path_factory) -> bytes:
    import pyreadstat

    path = tmp_path_factory.mktemp("sav") / "pre.sav"
    frame = pd.DataFrame({"participant_id": ["a", "b", "c"], "tiny_1": [1.0, 2.0, 3.0], "tiny_2": [1.0, None, 2.0]})
    pyreadstat.write_sav(frame, str(path), variable_value_labels={"tiny_1": {1.0: "low", 3.0: "high"}})
    return path.read_bytes()


def with_case_count(content: bytes, cases: int) -> bytes:
    """``content`` with the case count of its file header (bytes 80-83) replaced."""
    return content[:80] + struct.pack("<i", cases) + content[84:]


def test_a_valid_sav_file_reads(tmp_path, sav_bytes):
    export = read_wave("pre", write(tmp_path, "pre.sav", sav_bytes))
    assert export.table.to_dict("list") == {"participant_id": ["a", "b", "c"], "tiny_1": ["1", "2", "3"], "tiny_2": ["1", "", "2"]}
    assert export.value_labels == {"tiny_1": {"1": "low", "3": "high"}}


@pytest.mark.parametrize("cases", [1_000_000, 100_000_000, 1_000_000_000])
def test_a_sav_header_claiming_too_many_cases_is_refused_before_allocating(tmp_path, sav_bytes, cases):
    # Without the check, pyreadstat allocates cases x variables x 8 bytes up front (24 GB here).
    path = write(tmp_path, "pre.sav", with_case_count(sav_bytes, cases))
    refused(path, f"its header claims {cases:,} cases but the file can hold at most", "save it again from SPSS")


def test_a_sav_header_claiming_more_cases_than_the_limit_is_refused(tmp_path, sav_bytes, monkeypatch):
    monkeypatch.setattr(ingest, "MAX_SPSS_VALUES", 6)  # 3 variables: at most 2 cases
    refused(write(tmp_path, "pre.sav", sav_bytes), "more than 6 values", "split the file")
    refused(write(tmp_path, "unknown.sav", with_case_count(sav_bytes, -1)), "more than 6 values")  # count not stated: row_limit


def test_a_sav_file_that_crashes_readstat_is_one_line(tmp_path, sav_bytes):
    # A value-label record (type 4) naming variable 28674 of 3: ReadStat crashes the process on it.
    position = sav_bytes.find(struct.pack("<ii", 4, 1))
    assert position > 0
    damaged = sav_bytes[: position + 8] + struct.pack("<i", 28674) + sav_bytes[position + 12 :]
    refused(write(tmp_path, "pre.sav", damaged), "cannot read as an SPSS .sav file", "save it again from SPSS")


@pytest.mark.parametrize("cut", [0.9, 0.5, 0.1])
def test_a_truncated_sav_file_is_one_line(tmp_path, sav_bytes, cut):
    refused(write(tmp_path, "pre.sav", sav_bytes[: int(len(sav_bytes) * cut)]), "cannot read as an SPSS .sav file")


def test_a_garbage_sav_file_is_one_line(tmp_path):
    refused(write(tmp_path, "pre.sav", b"\x00garbage" * 100), "cannot read as an SPSS .sav file")


# --- any bytes: read, or one line -------------------------------------------------------------------------

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(content=st.binary(min_size=1, max_size=400), name=st.sampled_from(["pre.csv", "pre.tsv", "pre.xlsx", "pre.sav"]))
def test_any_bytes_are_read_or_refused_with_one_line(tmp_path, content, name):
    read_or_refused(write(tmp_path, name, content))


@FAST
@given(text=st.text(st.sampled_from(list(',;"\t\r\n \x00ab1\u2028\ufeff')), min_size=1, max_size=200),
       fmt=st.sampled_from(["csv", "tsv", "qualtrics", "redcap"]))
def test_any_delimited_text_is_read_or_refused_with_one_line(tmp_path, text, fmt):
    source = WaveSource(file="pre.csv", format=fmt, event="e" if fmt == "redcap" else None)
    read_or_refused(write(tmp_path, "pre.csv", text), source)


def damaged(data: st.DataObject, content: bytes) -> bytes:
    """``content`` with a few bytes overwritten or cut off, as hypothesis chooses."""
    content = bytearray(content)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(content) - 1))
        content[position] = data.draw(st.integers(0, 255))
    return bytes(content[: data.draw(st.integers(1, len(content)))]) if data.draw(st.booleans()) else bytes(content)


@FAST
@given(data=st.data())
def test_damaged_workbooks_are_read_or_refused_with_one_line(tmp_path, data):
    # stored (not deflated) so that damage lands in the XML and not only in the compressed stream
    valid = xlsx_bytes(sheet_xml([HEADER, *ROWS]), compression=zipfile.ZIP_STORED)
    read_or_refused(write(tmp_path, "pre.xlsx", damaged(data, valid)))


@FAST
@given(data=st.data())
def test_damaged_sav_files_are_read_or_refused_with_one_line(tmp_path, sav_bytes, data):
    read_or_refused(write(tmp_path, "pre.sav", damaged(data, sav_bytes)))
