"""Validate: turn one wave's text table into item values, accounting for every row and bad cell.

The rules are a pandera schema generated from the study's instruments (:func:`response_schema`):
every participant row needs a non-blank, unique id, and every item value must be one of the
instrument's whole-number response values. Validation is lazy, so every problem is collected
rather than the first. What happens to a failure:

* a bad item cell (text, a fraction, a value outside the response range) becomes missing and is
  listed in ``problems`` with its row, column and value;
* a row with neither an id nor any answer is excluded as ``empty``; a row with answers but no id
  is excluded as ``missing_id`` (it cannot be paired);
* a participant id used twice in one wave stops the run with a message naming the rows, since
  which row to keep is the researcher's decision.

Every row read is either accepted or excluded with a reason, and the counts must balance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .errors import PipelineError
from .ingest import WaveExport
from .instruments import Instrument

PROBLEM_COLUMNS = ["wave", "row", "column", "value", "problem"]
EXCLUSION_COLUMNS = ["wave", "row", "participant", "reason"]


@dataclass(frozen=True)
class ValidatedWave:
    """One wave after validation: usable responses plus the record of what was set aside."""

    wave: str
    file: str
    sha256: str
    rows_read: int
    responses: pd.DataFrame  # id column + one float column per item, indexed by spreadsheet row
    exclusions: pd.DataFrame  # EXCLUSION_COLUMNS
    problems: pd.DataFrame  # PROBLEM_COLUMNS

    @property
    def rows_accepted(self) -> int:
        return len(self.responses)

    @property
    def rows_excluded(self) -> int:
        return len(self.exclusions)


def allowed_values(instrument: Instrument) -> list[float]:
    """The instrument's valid responses: every whole number from its minimum to its maximum."""
    return [float(value) for value in range(instrument.response.min, instrument.response.max + 1)]


def response_schema(instruments: list[Instrument] | tuple[Instrument, ...], id_column: str) -> pa.DataFrameSchema:
    """The pandera schema a wave's responses must satisfy, generated from instrument definitions."""
    columns = {
        id_column: pa.Column(
            str, checks=pa.Check.str_length(min_value=1), nullable=False, unique=True, title="participant id"
        )
    }
    for instrument in instruments:
        allowed = allowed_values(instrument)
        for item in instrument.items:
            columns[item.id] = pa.Column(
                float, checks=pa.Check.isin(allowed), nullable=True, title=f"{instrument.id} item"
            )
    return pa.DataFrameSchema(columns, strict=False, coerce=False)


def missing_columns(table: pd.DataFrame, required: list[str]) -> list[str]:
    present = set(table.columns)
    return [column for column in required if column not in present]


def validate_wave(
    export: WaveExport, instruments: list[Instrument] | tuple[Instrument, ...], id_column: str
) -> ValidatedWave:
    """Apply the response schema to one wave's export; see the module docstring for the rules."""
    item_ids = [item_id for instrument in instruments for item_id in instrument.item_ids]
    absent = missing_columns(export.table, [id_column, *item_ids])
    if absent:
        shown = ", ".join(absent[:8]) + (f" and {len(absent) - 8} more" if len(absent) > 8 else "")
        raise PipelineError(
            f"{export.path}: row 1: column(s) not found: {shown}; item columns must be named by item id "
            f"and the id column must be '{id_column}' (see study.yaml)"
        )

    text = export.table[[id_column, *item_ids]].fillna("").apply(lambda column: column.str.strip())
    values, problems = _parse_item_values(text[item_ids], export.wave)
    frame = pd.concat([text[id_column].astype(str), values], axis=1)

    empty = (text[id_column] == "") & values.isna().all(axis=1) & (text[item_ids] == "").all(axis=1)
    no_id = (text[id_column] == "") & ~empty
    exclusions = pd.concat(
        [_exclusions(export.wave, frame.index[empty], "", "empty"), _exclusions(export.wave, frame.index[no_id], "", "missing_id")]
    ).sort_values("row", kind="stable")
    kept = frame.loc[~(empty | no_id)]

    schema = response_schema(instruments, id_column)
    try:
        schema.validate(kept, lazy=True)
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases
        id_failures = failures[failures["column"] == id_column]
        if len(id_failures):
            raise PipelineError(_duplicate_id_message(export, kept, id_column)) from None
        item_failures = failures[failures["column"].isin(item_ids) & failures["index"].notna()]
        problems = pd.concat([problems, _range_problems(export.wave, item_failures, instruments)])
        for column, rows in item_failures.groupby("column")["index"]:
            kept.loc[rows.astype(int).to_numpy(), column] = np.nan

    problems = problems.sort_values(["row", "column"], kind="stable").reset_index(drop=True)
    return ValidatedWave(
        wave=export.wave,
        file=str(export.path),
        sha256=export.sha256,
        rows_read=export.rows_read,
        responses=kept,
        exclusions=exclusions.reset_index(drop=True),
        problems=problems,
    )


def _parse_item_values(text: pd.DataFrame, wave: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Convert item text to numbers; blank means missing, anything non-numeric is a problem."""
    values = text.apply(lambda column: pd.to_numeric(column.where(column != ""), errors="coerce")).astype(float)
    unreadable = values.isna() & (text != "")
    rows, columns = np.nonzero(unreadable.to_numpy())
    problems = pd.DataFrame(
        {
            "wave": wave,
            "row": text.index[rows],
            "column": text.columns[columns],
            "value": text.to_numpy()[rows, columns],
            "problem": "not a number; set to missing",
        },
        columns=PROBLEM_COLUMNS,
    )
    return values, problems


def _range_problems(wave: str, failures: pd.DataFrame, instruments) -> pd.DataFrame:
    ranges = {item_id: (i.response.min, i.response.max) for i in instruments for item_id in i.item_ids}

    def describe(row) -> str:
        low, high = ranges[row["column"]]
        value = float(row["failure_case"])
        kind = "not a whole number" if value != int(value) else f"outside the response range {low}..{high}"
        return f"{kind}; set to missing"

    if failures.empty:
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    return pd.DataFrame(
        {
            "wave": wave,
            "row": failures["index"].astype(int).to_numpy(),
            "column": failures["column"].to_numpy(),
            "value": [_format_number(v) for v in failures["failure_case"]],
            "problem": [describe(row) for _, row in failures.iterrows()],
        },
        columns=PROBLEM_COLUMNS,
    )


def _exclusions(wave: str, rows: pd.Index, participant: str, reason: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"wave": wave, "row": rows.to_numpy(), "participant": participant, "reason": reason}, columns=EXCLUSION_COLUMNS
    )


def _duplicate_id_message(export: WaveExport, kept: pd.DataFrame, id_column: str) -> str:
    ids = kept[id_column]
    repeated = ids[ids.duplicated(keep=False)]
    examples = []
    for participant, rows in repeated.groupby(repeated, sort=False).groups.items():
        examples.append(f"'{participant}' in rows {', '.join(str(r) for r in rows)}")
        if len(examples) == 3:
            break
    more = repeated.nunique() - len(examples)
    tail = f" and {more} more" if more > 0 else ""
    return (
        f"{export.path}: column '{id_column}': participant id used more than once: {'; '.join(examples)}{tail}; "
        "keep one row per participant in each wave (or fix the typo in the id)"
    )


def _format_number(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)
