"""Validate: turn one wave's text table into item values, accounting for every row and bad cell.

Cells. An item cell is read as a number, as one of the instrument's response labels
("Strongly agree", case and spacing ignored), or as a number with its label ("5 - Strongly
agree", "5 = strongly agree", "Strongly agree (5)") when the two agree. A blank or a
missing-value marker (``MISSING_MARKERS`` plus the study's ``data.missing_values``) is missing.
The values must then satisfy a pandera schema generated from the instruments
(:func:`response_schema`): whole numbers in the response range. Validation is lazy: every
problem is collected, not the first. A bad cell becomes missing and is listed in ``problems``
with its row, column, value and what was wrong; a marker is listed too, so that what was read
as missing can be checked.

Rows. A row is excluded only when it cannot be used, with the first reason that applies
(``EXCLUSION_REASONS``, in order); every other row is accepted. Among rows of one participant in
a wave, ``data.duplicates`` keeps one (by default the most complete, then the latest).

Ids are trimmed and optionally case-folded (``data.id_case``) before pairing, and replaced by
pseudonymous codes when ``data.pseudonymise`` is set. Only the id column and the item columns
leave this stage (``ValidatedWave.responses``), plus, for the baseline wave, the study's
``subgroups`` columns as trimmed text with blanks missing and SPSS codes shown by their value
labels (``ValidatedWave.attributes``): identifying columns may be used by the rules above and
are then dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import get_close_matches

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .errors import PipelineError
from .ingest import WaveExport
from .instruments import Instrument
from .privacy import identifying_columns, pseudonymise
from .study import DataOptions, WaveSource

PROBLEM_COLUMNS = ["wave", "row", "column", "value", "problem"]
EXCLUSION_COLUMNS = ["wave", "row", "participant", "reason"]

#: Why a row is excluded, in the order the rules are applied (see the README, "What happens to imperfect data").
EXCLUSION_REASONS = {
    "other_event": "a REDCap row of another event (the wave of that event reads it)",
    "preview": "a Qualtrics preview or test response (Status 1, 2, 17 or a 'Preview'/'Test' label)",
    "spam": "flagged as spam by Qualtrics (Status 8, 9 or 12, or a 'Spam' label)",
    "unfinished": "not finished (Qualtrics Finished = 0; REDCap: no form Unverified or Complete), with data.unfinished: exclude",
    "no_consent": "the baseline consent column does not hold an accepted answer (data.consent); the participant's later rows too",
    "empty": "no item of the study's instruments has a usable answer",
    "missing_id": "answers but no participant id: it cannot be paired",
    "invalid_id": "the id is a date Excel made of it: format the id column as text and re-export",
    "duplicate": "another row of the same participant in this wave was kept (data.duplicates)",
}
#: Cells that mean "no answer" in common exports (compared case-insensitively).
MISSING_MARKERS = ["na", "n/a", "#n/a", "nan", "null", "none", "-", "--", ".", "missing", "skipped", "not answered"]
CONSENT_WAVE = "pre"  # consent is asked at baseline; it covers the participant's later rows
ATTRIBUTE_WAVE = "pre"  # subgroup columns (cohort, site) are read from the baseline export
QUALTRICS_PREVIEW = {"1", "2", "17"}
QUALTRICS_SPAM = {"8", "9", "12"}
FALSE_TEXT = {"0", "false", "no"}
QUALTRICS_TIMESTAMPS = ["RecordedDate", "EndDate"]
EXCEL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
NUMBER_THEN_LABEL = re.compile(r"^([+-]?\d+(?:\.0+)?)\s*[-\u2013=:.)]?\s*(\D.*)$")
LABEL_THEN_NUMBER = re.compile(r"^(\D.*?)\s*[(\[]\s*([+-]?\d+)\s*[)\]]$")
VALUE_SHOWN = 60  # characters of a bad cell shown in data-quality.csv


@dataclass(frozen=True)
class ValidatedWave:
    """One wave after validation: usable responses plus the record of what was set aside."""

    wave: str
    file: str
    sha256: str
    rows_read: int
    responses: pd.DataFrame  # id column + one float column per item, indexed by row number
    exclusions: pd.DataFrame  # EXCLUSION_COLUMNS
    problems: pd.DataFrame  # PROBLEM_COLUMNS
    no_consent: frozenset[str] = frozenset()  # normalised ids excluded for lack of consent (before pseudonymising)
    # Baseline wave: id column + one text column per subgroup (missing = not recorded), same index as
    # responses; other waves and studies without subgroups: the id column only.
    attributes: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def rows_accepted(self) -> int:
        return len(self.responses)

    @property
    def rows_excluded(self) -> int:
        return len(self.exclusions)


def allowed_values(instrument: Instrument) -> list[float]:
    """The instrument's valid responses: every whole number from its minimum to its maximum."""
    return [float(value) for value in range(instrument.response.min, instrument.response.max + 1)]


def item_schema_columns(instruments: list[Instrument] | tuple[Instrument, ...]) -> dict[str, pa.Column]:
    """One pandera column per item: a float that is missing or one of the instrument's response values."""
    return {
        item.id: pa.Column(float, checks=pa.Check.isin(allowed_values(instrument)), nullable=True, title=f"{instrument.id} item")
        for instrument in instruments
        for item in instrument.items
    }


def response_schema(instruments: list[Instrument] | tuple[Instrument, ...], id_column: str) -> pa.DataFrameSchema:
    """The pandera schema a wave's accepted responses satisfy, generated from instrument definitions."""
    participant = pa.Column(str, checks=pa.Check.str_length(min_value=1), nullable=False, unique=True, title="participant id")
    return pa.DataFrameSchema({id_column: participant, **item_schema_columns(instruments)}, strict=False, coerce=False)


def normalise_label(text: str) -> str:
    """Case-folded with runs of spaces collapsed: how labels are compared."""
    return " ".join(str(text).casefold().split())


def read_cell(text: str, labels: dict[str, int], markers: set[str]) -> tuple[float, str]:
    """One item cell as (value, problem): a number, a known label, or a number with its agreeing label.

    ``labels`` maps normalised label text to its value. Blank and markers are missing without a
    problem; ``problem`` is "" when the cell was read.

    >>> labels = {"disagree": 1, "agree": 2}
    >>> [read_cell(t, labels, {"n/a"}) for t in ["2", " Agree ", "2 - agree", "agree (2)", "N/A", "1 - agree", "maybe"]][:5]
    [(2.0, ''), (2.0, ''), (2.0, ''), (2.0, ''), (nan, 'missing-value marker; read as missing')]
    """
    if text == "":
        return np.nan, ""
    folded = normalise_label(text)
    if folded in markers:
        return np.nan, "missing-value marker; read as missing"
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if np.isfinite(number):
            return number, ""
        return np.nan, "not a number; set to missing"
    if folded in labels:
        return float(labels[folded]), ""
    for pattern, number_first in ((NUMBER_THEN_LABEL, True), (LABEL_THEN_NUMBER, False)):
        match = pattern.match(folded)
        if match:
            number, label = (match.group(1), match.group(2)) if number_first else (match.group(2), match.group(1))
            label = label.strip(" -=:.")
            if labels.get(label) == float(number):
                return float(number), ""
            if label in labels:
                return np.nan, f"number {float(number):g} and label '{label}' disagree; set to missing"
    if labels:
        return np.nan, "not a number or a response label of the instrument; set to missing"
    return np.nan, "not a number; set to missing"


def parse_items(text: pd.DataFrame, instruments, wave: str, extra_markers: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Item text to numbers column by column (each distinct text read once), with every problem listed."""
    markers = {normalise_label(m) for m in [*MISSING_MARKERS, *extra_markers]}
    values, problems = {}, []
    for instrument in instruments:
        labels = {normalise_label(label): value for value, label in (instrument.response.labels or {}).items()}
        for item_id in instrument.item_ids:
            column = text[item_id]
            readings = {cell: read_cell(cell, labels, markers) for cell in column.unique()}
            values[item_id] = column.map(lambda cell: readings[cell][0]).astype(float)
            problem = column.map(lambda cell: readings[cell][1])
            bad = problem != ""
            if bad.any():
                problems.append(
                    pd.DataFrame(
                        {"wave": wave, "row": column.index[bad], "column": item_id,
                         "value": column[bad].str.slice(0, VALUE_SHOWN), "problem": problem[bad]}  # fmt: skip
                    )
                )
    frame = pd.DataFrame(values, index=text.index)
    return frame, _concat(problems, PROBLEM_COLUMNS)


def range_problems(values: pd.DataFrame, instruments, wave: str) -> pd.DataFrame:
    """Numbers outside the response range or not whole, found by the pandera schema (lazily, all at once)."""
    schema = pa.DataFrameSchema(item_schema_columns(instruments), strict=False, coerce=False)
    try:
        schema.validate(values, lazy=True)
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases
        failures = failures[failures["index"].notna()]
        ranges = {item_id: (i.response.min, i.response.max) for i in instruments for item_id in i.item_ids}

        def describe(column: str, value: float) -> str:
            low, high = ranges[column]
            kind = "not a whole number" if value != int(value) else f"outside the response range {low}..{high}"
            return f"{kind}; set to missing"

        return pd.DataFrame(
            {
                "wave": wave,
                "row": failures["index"].astype(int).to_numpy(),
                "column": failures["column"].to_numpy(),
                "value": [_format_number(v) for v in failures["failure_case"]],
                "problem": [describe(c, float(v)) for c, v in zip(failures["column"], failures["failure_case"])],
            },
            columns=PROBLEM_COLUMNS,
        )
    return pd.DataFrame(columns=PROBLEM_COLUMNS)


def required_columns(source: WaveSource, item_ids: list[str], id_column: str, options: DataOptions, fmt: str, wave: str) -> dict[str, str]:
    """Our name -> export column for every column the rules need; the export must have them all."""
    needed = {id_column: id_column, **{item_id: source.export_column(item_id) for item_id in item_ids}}
    if options.consent and wave == CONSENT_WAVE:
        needed["__consent"] = options.consent.column
    if options.timestamp_column:
        needed["__timestamp"] = options.timestamp_column
    if fmt == "redcap":
        needed["__event"] = "redcap_event_name"
    return needed


def check_columns(export: WaveExport, needed: dict[str, str]) -> None:
    present = set(export.table.columns)
    absent = [column for column in needed.values() if column not in present]
    if not absent:
        return
    shown = ", ".join(absent[:8]) + (f" and {len(absent) - 8} more" if len(absent) > 8 else "")
    mapped = [column for item, column in needed.items() if column in absent and column != item and not item.startswith("__")]
    hint = (
        "check waves.*.columns / column_pattern in study.yaml against the export's header"
        if mapped
        else "item columns must be named by item id (or mapped with columns / column_pattern in study.yaml), "
        "and the id column as id_column says"
    )
    raise PipelineError(f"{export.path}: row 1: column(s) not found: {shown}; {hint}")


def check_subgroup_columns(export: WaveExport, subgroups: list[str]) -> None:
    """Every ``subgroups`` column must be in the baseline export, under the name its header gives it."""
    present = list(export.table.columns)
    absent = [column for column in subgroups if column not in present]
    if not absent:
        return
    folded = {column.casefold(): column for column in present}
    similar = []
    for column in absent:
        close = get_close_matches(column.casefold(), list(folded), n=1, cutoff=0.8)
        if close:
            similar.append(f"'{folded[close[0]]}'")
    hint = f" (the header has {', '.join(similar)})" if similar else ""
    raise PipelineError(
        f"{export.path}: row 1: subgroup column(s) not found: {', '.join(absent)}{hint}; subgroups in study.yaml are read "
        "from the baseline (pre) export under the name its header row gives them (columns / column_pattern map items only): "
        "correct the name in subgroups, add the column to the export, or remove it from subgroups"
    )


def subgroup_text(export: WaveExport, subgroups: list[str]) -> pd.DataFrame:
    """The subgroup columns as trimmed text, a blank as missing; an SPSS code with a value label as its label."""
    columns = {}
    for column in subgroups:
        text = export.table[column].astype(str).str.strip()
        labels = export.value_labels.get(column)
        if labels:
            text = text.map(lambda cell: labels.get(cell, cell))
        columns[column] = text.where(text != "").astype(object)
    return pd.DataFrame(columns, index=export.table.index)


def row_exclusions(
    export: WaveExport, text: pd.DataFrame, values: pd.DataFrame, ids: pd.Series, source: WaveSource, options: DataOptions, withdrawn: set[str]
) -> pd.Series:
    """The first exclusion reason that applies to each row ("" = usable so far; duplicates come later)."""
    table, fmt = export.table, export.format
    rules: list[tuple[str, pd.Series]] = []
    if fmt == "redcap":
        events = text["__event"]
        if not (events == source.event).any():
            found = ", ".join(sorted(set(events) - {""})[:6]) or "none"
            raise PipelineError(f"{export.path}: no row has redcap_event_name '{source.event}'; the file's events are {found}")
        rules.append(("other_event", events != source.event))
        complete = [c for c in table.columns if c.endswith("_complete")]
        if complete and options.unfinished == "exclude":
            rules.append(("unfinished", table[complete].apply(lambda c: c.str.strip().isin(["0", ""])).all(axis=1)))
    if fmt == "qualtrics":
        status = table["Status"].str.strip().str.casefold() if "Status" in table.columns else pd.Series("", index=table.index)
        rules.append(("preview", status.isin(QUALTRICS_PREVIEW) | status.str.contains("preview|test", regex=True)))
        rules.append(("spam", status.isin(QUALTRICS_SPAM) | status.str.contains("spam")))
        if "Finished" in table.columns and options.unfinished == "exclude":
            rules.append(("unfinished", table["Finished"].str.strip().str.casefold().isin(FALSE_TEXT)))
    if "__consent" in text.columns:
        accepted = {normalise_label(answer) for answer in options.consent.accept}
        rules.append(("no_consent", ~text["__consent"].map(normalise_label).isin(accepted)))
    if withdrawn:
        rules.append(("no_consent", ids.isin(withdrawn)))
    rules.append(("empty", values.isna().all(axis=1)))
    rules.append(("missing_id", ids == ""))
    if fmt == "excel":
        rules.append(("invalid_id", ids.str.match(EXCEL_DATE)))
    reasons = pd.Series("", index=table.index)
    for reason, applies in rules:
        reasons = reasons.mask((reasons == "") & applies.to_numpy(), reason)
    return reasons


def duplicate_losers(candidates: pd.DataFrame, options: DataOptions, export: WaveExport, id_column: str) -> pd.Index:
    """Rows that lose to another row of the same participant under ``data.duplicates`` (see the README)."""
    repeated = candidates[candidates[id_column].duplicated(keep=False)]
    if repeated.empty:
        return pd.Index([])
    if options.duplicates == "stop":
        raise PipelineError(_duplicate_id_message(export, candidates, id_column))
    order = pd.DataFrame({"id": repeated[id_column], "position": repeated.index}, index=repeated.index)
    order["answered"] = repeated["__answered"]
    order["time"] = repeated["__time"]
    keys = {
        "first": (["position"], [True]),
        "latest": (["time", "position"], [False, False]),
        "most_complete": (["answered", "time", "position"], [False, False, False]),
    }[options.duplicates]
    ranked = order.sort_values(keys[0], ascending=keys[1], na_position="last", kind="stable")
    return ranked.index[ranked.duplicated("id", keep="first")]


def timestamps(export: WaveExport, text: pd.DataFrame, options: DataOptions) -> pd.Series:
    """When each row was recorded, for the duplicate rule: the declared column, else Qualtrics' RecordedDate/EndDate."""
    if options.timestamp_column:
        raw = text["__timestamp"]
    else:
        found = [c for c in QUALTRICS_TIMESTAMPS if c in export.table.columns] if export.format == "qualtrics" else []
        if not found:
            return pd.Series(pd.NaT, index=text.index)
        raw = export.table[found[0]]
    return pd.to_datetime(raw.where(raw.str.strip() != ""), errors="coerce", format="mixed")


def validate_wave(
    export: WaveExport,
    instruments: list[Instrument] | tuple[Instrument, ...],
    id_column: str,
    source: WaveSource | None = None,
    options: DataOptions | None = None,
    identifiers: list[str] | None = None,
    pseudonym_key: bytes | None = None,
    withdrawn: set[str] | None = None,
    subgroups: list[str] | None = None,
) -> ValidatedWave:
    """Apply the rules of the module docstring to one wave's export.

    ``withdrawn`` holds the (normalised) ids that did not consent at baseline: their rows in a
    later wave are excluded as ``no_consent`` too. The ids found are in ``ValidatedWave.no_consent``.
    ``subgroups`` (the study's ``subgroups``) are read in the baseline wave only, into
    ``ValidatedWave.attributes``; a column missing from the baseline export stops the run.
    """
    source = source or WaveSource(file=export.path.name)
    options = options or DataOptions()
    item_ids = [item_id for instrument in instruments for item_id in instrument.item_ids]
    identifying = identifying_columns(identifiers or [], export.format)
    if id_column in identifying and pseudonym_key is None:
        raise PipelineError(
            f"id_column '{id_column}' identifies people (it is listed as identifying); set data.pseudonymise in "
            "study.yaml so that only codes are written"
        )
    needed = required_columns(source, item_ids, id_column, options, export.format, export.wave)
    check_columns(export, needed)
    attribute_columns = list(subgroups or []) if export.wave == ATTRIBUTE_WAVE else []
    check_subgroup_columns(export, attribute_columns)
    text = pd.DataFrame({ours: export.table[theirs] for ours, theirs in needed.items()}, index=export.table.index)
    text = text.apply(lambda column: column.astype(str).str.strip())

    values, problems = parse_items(text[item_ids], instruments, export.wave, options.missing_values)
    out_of_range = range_problems(values, instruments, export.wave)
    for column, rows in out_of_range.groupby("column")["row"]:
        values.loc[rows.to_numpy(), column] = np.nan
    problems = pd.concat([problems, out_of_range], ignore_index=True)

    ids = text[id_column]
    if options.id_case != "preserve":
        ids = ids.str.lower() if options.id_case == "lower" else ids.str.upper()
    reasons = row_exclusions(export, text, values, ids, source, options, withdrawn or set())
    usable = reasons == ""
    candidates = pd.DataFrame({id_column: ids[usable], "__answered": values[usable].notna().sum(axis=1)})
    candidates["__time"] = timestamps(export, text, options)[usable]
    reasons[duplicate_losers(candidates, options, export, id_column)] = "duplicate"

    refused = frozenset(ids[(reasons == "no_consent") & (ids != "")])
    if pseudonym_key is not None:
        ids = pseudonymise(ids, pseudonym_key)
    kept = pd.concat([ids.rename(id_column), values], axis=1).loc[reasons == ""]
    response_schema(instruments, id_column).validate(kept, lazy=True)  # a failure here is a bug, not bad input
    attributes = ids.rename(id_column).to_frame().join(subgroup_text(export, attribute_columns)).loc[kept.index]

    excluded = reasons[reasons != ""]
    exclusions = pd.DataFrame(
        {"wave": export.wave, "row": excluded.index, "participant": ids[excluded.index].to_numpy(), "reason": excluded.to_numpy()},
        columns=EXCLUSION_COLUMNS,
    )
    problems = problems.sort_values(["row", "column"], kind="stable").reset_index(drop=True)
    return ValidatedWave(
        wave=export.wave,
        file=str(export.path),
        sha256=export.sha256,
        rows_read=export.rows_read,
        responses=kept,
        exclusions=exclusions,
        problems=problems,
        no_consent=refused,
        attributes=attributes,
    )


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True).reindex(columns=columns) if frames else pd.DataFrame(columns=columns)


def _duplicate_id_message(export: WaveExport, candidates: pd.DataFrame, id_column: str) -> str:
    ids = candidates[id_column]
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
        "keep one row per participant in each wave (or fix the typo in the id), or choose a data.duplicates rule"
    )


def _format_number(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)
