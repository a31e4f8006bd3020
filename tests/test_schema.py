"""The output tables are defined once (pipeline.schema): the CSV files and the README follow it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.analyze import ATTRITION_COLUMNS, CHANGE_COLUMNS, RESULT_COLUMNS, TRAJECTORY_COLUMNS
from pipeline.schema import TABLES

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_section(file: str) -> str:
    """The README's section about ``file``: from its ``### `file``` heading to the next heading."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^### `{re.escape(file)}`[^\n]*\n(.*?)(?=^#)", text, flags=re.M | re.S)
    assert match, f"README has no section for {file}"
    return match.group(1)


@pytest.mark.parametrize("file", sorted(TABLES))
def test_the_readme_documents_every_column_of_every_table(file):
    section = readme_section(file)
    named = set(re.findall(r"`([a-z_0-9]+)`", section))
    missing = [name for name in TABLES[file].names if name not in named]
    assert not missing, f"README's {file} section does not name {missing}"


def test_the_readme_results_dictionary_names_no_column_that_does_not_exist():
    rows = [line for line in readme_section("results.csv").splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([a-z_0-9]+)`", row.split("|")[1])}
    assert documented == set(TABLES["results.csv"].names)


def test_analysis_tables_take_their_columns_from_the_schema():
    assert RESULT_COLUMNS == TABLES["results.csv"].names
    assert CHANGE_COLUMNS == TABLES["changes.csv"].names
    assert TRAJECTORY_COLUMNS == TABLES["trajectory.csv"].names
    assert ATTRITION_COLUMNS == TABLES["attrition.csv"].names
    for table in TABLES.values():
        assert len(set(table.names)) == len(table.names)
