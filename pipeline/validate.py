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

Groups. In a two-group study (``groups`` in ``study.yaml``) the baseline export's
``groups.column`` gives each participant's group: a row whose value is in neither
``groups.program`` nor ``groups.comparison`` (case and whitespace ignored; an SPSS code by its
value label or its code) is excluded as ``unknown_group``, and each accepted row's group is in
``ValidatedWave.group``. A baseline where one group has no accepted row stops the run. At a later
wave whose export has the column too, a row naming another group than the participant's baseline
group (``allocated``) is listed in ``problems``; the baseline group is kept.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import get_close_matches

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .errors import MESSAGE_LIMIT, PipelineError, printable
from .ingest import WaveExport
from .instruments import Instrument
from .privacy import identifying_reason, identifying_values, looks_identifying, maybe_identifying, pseudonymise
from .study import GROUP_ROLES, PSEUDONYMISE_HINT, DataOptions, Groups, WaveSource

PROBLEM_COLUMNS = ["wave", "row", "column", "value", "problem"]
EXCLUSION_COLUMNS = ["wave", "row", "participant", "reason"]

#: Why a row is excluded, in the order the rules are applied (see the README, "What happens to imperfect data").
EXCLUSION_REASONS = {
    "other_event": "a REDCap row of another event (the wave of that event reads it)",
    "preview": "a Qualtrics preview or test response (Status 1, 2, 17 or a 'Preview'/'Test' label)",
    "spam": "flagged as spam by Qualtrics (Status 8, 9 or 12, or a 'Spam' label)",
    "rejected": "a submission a reviewer rejected (ODK Central ReviewState 'rejected'; KoboToolbox validation status 'Not Approved')",
    "unfinished": "not finished (Qualtrics Finished = 0; REDCap: no form Unverified or Complete), with data.unfinished: exclude",
    "no_consent": "the baseline consent column does not hold an accepted answer (data.consent); the participant's later rows too",
    "empty": "no item of the study's instruments has a usable answer",
    "missing_id": "answers but no participant id: it cannot be paired",
    "invalid_id": "the id is a date Excel made of it: format the id column as text and re-export",
    "unknown_group": "the baseline row's groups.column holds a value in neither groups.program nor groups.comparison (or is blank)",
    "duplicate": "another row of the same participant in this wave was kept (data.duplicates)",
}
#: Cells that mean "no answer" in common exports (compared case-insensitively).
MISSING_MARKERS = ["na", "n/a", "#n/a", "nan", "null", "none", "-", "--", ".", "missing", "skipped", "not answered"]
QUALTRICS_PREVIEW = {"1", "2", "17"}
QUALTRICS_SPAM = {"8", "9", "12"}
FALSE_TEXT = {"0", "false", "no"}
#: ODK Central's review state column and KoboToolbox's validation status column (format: odk).
ODK_REVIEW, KOBO_VALIDATION = "ReviewState", "_validation_status"
QUALTRICS_TIMESTAMPS = ["RecordedDate", "EndDate"]
EXCEL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
NUMBER_THEN_LABEL = re.compile(r"^([+-]?\d+(?:\.0+)?)\s*[-\u2013=:.)]?\s*(\D.*)$")
LABEL_THEN_NUMBER = re.compile(r"^(\D.*?)\s*[(\[]\s*([+-]?\d+)\s*[)\]]$")
VALUE_SHOWN = 60  # characters of a bad cell shown in data-quality.csv
#: data-quality.csv's problem for an id changed by :func:`normalise_ids`.
ID_NORMALISED = (
    "id normalised (Unicode NFC; invisible characters such as zero-width spaces or byte-order marks removed) "
    "so that it pairs with the same id written plainly"
)
#: A subgroup is a coarse category: at most this many distinct values, each at most this long.
SUBGROUP_MAX_VALUES, SUBGROUP_MAX_LENGTH = 100, 200
#: How many of a group column's values a message lists, and how many characters of each.
GROUP_VALUES_SHOWN, GROUP_VALUE_CHARS = 6, 40
#: data-quality.csv's problem for a later row naming another group than the baseline's.
OTHER_GROUP = "names another group than the baseline's ({role}); the baseline group is kept"


def no_groups() -> pd.Series:
    """``ValidatedWave.group`` of a wave without groups: an empty Series named "group"."""
    return pd.Series(dtype=object, name="group")


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
    # Baseline wave of a two-group study: "program" or "comparison" per accepted row, same index as
    # responses; other waves and one-group studies: empty.
    group: pd.Series = field(default_factory=no_groups)

    @property
    def rows_accepted(self) -> int:
        return len(self.responses)

    @property
    def rows_excluded(self) -> int:
        return len(self.exclusions)


def response_checks(instruments: list[Instrument] | tuple[Instrument, ...]) -> pa.Check:
    """The instruments' valid responses as one DataFrame-wide pandera check over the item block: each
    item a float column that is missing or a whole number from its instrument's minimum to its
    maximum (arithmetic, never an enumeration of the allowed values, whose number a definition could
    make huge). One vectorised check, not one per column: pandera's per-column checks cost about
    1.5 ms each, hundreds of them per wave."""
    ranges = item_ranges(instruments)

    def valid(frame: pd.DataFrame) -> pd.Series:  # one verdict per row: all its items valid
        columns = list(ranges)
        if any(not pd.api.types.is_float_dtype(frame[c]) for c in columns):
            return pd.Series(False, index=frame.index)
        return pd.Series(~invalid_numbers(frame[columns].to_numpy(dtype=float), *range_bounds(ranges, columns)).any(axis=1), index=frame.index)

    return pa.Check(valid, name="item_responses", error="an item is not missing or a whole number in its response range")


def response_schema(instruments: list[Instrument] | tuple[Instrument, ...], id_column: str) -> pa.DataFrameSchema:
    """The pandera schema a wave's accepted responses satisfy, generated from instrument definitions."""
    participant = pa.Column(str, checks=pa.Check.str_length(min_value=1), nullable=False, unique=True, title="participant id")
    return pa.DataFrameSchema({id_column: participant}, checks=[response_checks(instruments)], strict=False, coerce=False)


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


def factorised(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column's codes and distinct texts (pandas' hash table, in C; a blank or NaN is a text too).
    The column is factorised as it is stored (a string array hashes three times faster than its
    object copy)."""
    codes, distinct = pd.factorize(column, use_na_sentinel=False)
    return codes, np.asarray(distinct, dtype=object)


def parse_items(
    text: pd.DataFrame, instruments, wave: str, extra_markers: list[str], factorised_items: dict | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Item text to numbers with every problem listed: each column factorised once (pandas' hash
    table, in C), each distinct text trimmed and read once by :func:`read_cell`, and values and
    problems spread back to the cells by their codes with numpy indexing (no Python per cell).

    The cells need not be trimmed beforehand: a distinct text is trimmed before it is read, so
    " 4 " and "4" read alike and a bad cell is shown trimmed. ``factorised_items`` holds the
    :func:`factorised` columns already computed (item id -> codes, distinct texts)."""
    markers = {normalise_label(m) for m in [*MISSING_MARKERS, *extra_markers]}
    values, problems = {}, []
    for instrument in instruments:
        labels = {normalise_label(label): value for value, label in (instrument.response.labels or {}).items()}
        for item_id in instrument.item_ids:
            column = text[item_id]
            codes, uniques = (factorised_items or {}).get(item_id) or factorised(column)
            trimmed = [str(cell).strip() for cell in uniques]
            readings = [read_cell(cell, labels, markers) for cell in trimmed]
            number = np.fromiter((reading[0] for reading in readings), dtype=float, count=len(readings))
            values[item_id] = number[codes] if len(codes) else np.empty(0)
            bad_unique = np.fromiter((reading[1] != "" for reading in readings), dtype=bool, count=len(readings))
            if not bad_unique.any():
                continue
            at = np.flatnonzero(bad_unique[codes])
            bad_codes = codes[at]
            shown = {code: shown_value(trimmed[code]) for code in np.unique(bad_codes)}
            problems.append(
                pd.DataFrame(
                    {"wave": wave, "row": column.index[at], "column": item_id,
                     "value": [shown[code] for code in bad_codes], "problem": [readings[code][1] for code in bad_codes]}  # fmt: skip
                )
            )
    frame = pd.DataFrame(values, index=text.index)
    return frame, _concat(problems, PROBLEM_COLUMNS)


def shown_value(text: str) -> str:
    """A bad cell as data-quality.csv shows it: cut to ``VALUE_SHOWN`` characters, invisible
    characters escaped, and never an e-mail address, IP address or phone number someone typed in."""
    kind = looks_identifying(text)
    if kind:
        return f"(not shown: looks like {kind})"
    return printable(str(text)[:VALUE_SHOWN])


def normalise_ids(ids: pd.Series) -> pd.Series:
    """Ids as they are matched across waves: Unicode NFC (UAX #15), format characters (category
    Cf: zero-width spaces and joiners, byte-order marks, direction marks) removed, then trimmed, so
    that ids which look identical are identical.

    >>> normalise_ids(pd.Series(["P001", "\ufeffP001", "P0\u200b01 ", "Ame\u0301lie"])).tolist()
    ['P001', 'P001', 'P001', 'Amélie']
    """
    def clean(text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip()

    ascii_ids = ids.str.isascii().to_numpy(dtype=bool) if len(ids) else np.zeros(0, dtype=bool)
    cleaned = ids.str.strip()  # an ASCII id only needs trimming: done in C; the others one by one
    if not ascii_ids.all():
        cleaned[~ascii_ids] = ids[~ascii_ids].map(clean)
    return cleaned


def item_ranges(instruments) -> dict[str, tuple[float, float]]:
    """Item id -> the (minimum, maximum) response of its instrument."""
    return {item_id: (i.response.min, i.response.max) for i in instruments for item_id in i.item_ids}


def range_bounds(ranges: dict[str, tuple[float, float]], columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The minimum and the maximum response of each of ``columns``, as two float arrays (for :func:`invalid_numbers`)."""
    return np.array([ranges[c][0] for c in columns], dtype=float), np.array([ranges[c][1] for c in columns], dtype=float)


def invalid_numbers(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Which cells of a 2-D float block hold a number that is not a whole number in its column's
    ``low``..``high`` (missing cells are valid): the rule of :func:`response_checks`, over the whole
    block in numpy passes of about a million cells at a time, whose temporaries are reused (a
    temporary the size of a large block costs more in fresh memory than the arithmetic)."""
    bad = np.empty(values.shape, dtype=bool)
    step = max(1, CELLS_PER_PASS // max(1, values.shape[1])) if values.ndim == 2 else CELLS_PER_PASS
    with np.errstate(invalid="ignore"):
        for start in range(0, len(values), step):
            part = values[start : start + step]
            out = bad[start : start + step]
            np.less(part, low, out=out)
            out |= part > high
            out |= part != np.floor(part)
            out &= ~np.isnan(part)
    return bad


#: How many cells :func:`invalid_numbers` checks in one numpy pass.
CELLS_PER_PASS = 1 << 20


def range_problems(values: pd.DataFrame, instruments, wave: str) -> pd.DataFrame:
    """Numbers outside the response range or not whole, each cell listed once, found over the whole
    item block in one numpy pass (:func:`invalid_numbers`). Hand-written rather than pandera's lazy
    validation, which runs each check column by column and builds a failure-case table: at a study's
    hundreds of item columns that cost over a second at demo size and most of a large run, while the
    rule is two comparisons. The accepted rows are still validated by pandera (:func:`response_schema`)."""
    ranges = item_ranges(instruments)
    columns = [column for column in values.columns if column in ranges]
    if not columns or values.empty:
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    block = values[columns].to_numpy(dtype=float)
    bad = invalid_numbers(block, *range_bounds(ranges, columns))
    if not bad.any():
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    at_column, at_row = np.nonzero(bad.T)  # column by column, rows in order within each
    found = block[at_row, at_column]
    names = np.asarray(columns, dtype=object)[at_column]

    def describe(column: str, value: float) -> str:
        low, high = ranges[column]
        kind = "not a whole number" if value != int(value) else f"outside the response range {low}..{high}"
        return f"{kind}; set to missing"

    return pd.DataFrame(
        {
            "wave": wave,
            "row": values.index.to_numpy()[at_row].astype(int),
            "column": names,
            "value": [_format_number(v) for v in found],
            "problem": [describe(c, float(v)) for c, v in zip(names, found)],
        },
        columns=PROBLEM_COLUMNS,
    )


def required_columns(source: WaveSource, item_ids: list[str], id_column: str, options: DataOptions, fmt: str, baseline: bool) -> dict[str, str]:
    """Our name -> export column for every column the rules need; the export must have them all.
    Consent is asked at baseline and covers the participant's later rows."""
    needed = {id_column: id_column, **{item_id: source.export_column(item_id) for item_id in item_ids}}
    if options.consent and baseline:
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
    shown = ", ".join(column[:40] for column in absent[:3]) + (f" and {len(absent) - 3} more" if len(absent) > 3 else "")
    raise PipelineError(
        f"{export.path}: row 1: subgroup column(s) not found: {shown}{hint}; subgroups are read from the baseline "
        "export's header as spelled there: correct the name in subgroups or remove it"
    )


def subgroup_text(export: WaveExport, subgroups: list[str]) -> pd.DataFrame:
    """The subgroup columns as trimmed text, a blank as missing; an SPSS code with a value label as its label.

    A subgroup is a coarse category (a cohort, a site): a column with more than
    ``SUBGROUP_MAX_VALUES`` distinct values or a value longer than ``SUBGROUP_MAX_LENGTH``
    characters stops the run, since its values would be shown as table headings.
    """
    columns = {}
    for column in subgroups:
        text = export.table[column].astype(str).str.strip()
        labels = export.value_labels.get(column)
        if labels:
            text = text.map(lambda cell: labels.get(cell, cell))
        longest = text.str.len()
        if len(text) and longest.max() > SUBGROUP_MAX_LENGTH:
            raise PipelineError(
                f"{export.path}: row {longest.idxmax()}: subgroup column {column[:40]!r} holds a value of {int(longest.max()):,} characters; "
                f"a subgroup value is a short category (at most {SUBGROUP_MAX_LENGTH}): remove the column from subgroups or recode it"
            )
        distinct = text[text != ""].nunique()
        if distinct > SUBGROUP_MAX_VALUES:
            raise PipelineError(
                f"{export.path}: subgroup column {column[:40]!r} has {distinct:,} distinct values; a subgroup is a coarse category "
                f"(at most {SUBGROUP_MAX_VALUES} values) such as a cohort or site: recode it or remove it from subgroups"
            )
        columns[column] = text.where(text != "").astype(object)
    return pd.DataFrame(columns, index=export.table.index)


def check_group_column(export: WaveExport, groups: Groups) -> None:
    """The ``groups.column`` must be in the baseline export, under the name its header gives it."""
    present = list(export.table.columns)
    column = groups.column
    if column in present:
        return
    folded = {name.casefold(): name for name in present}
    close = get_close_matches(column.casefold(), list(folded), n=1, cutoff=0.8)
    hint = f" (the header has {folded[close[0]][:40]!r})" if close else ""
    raise PipelineError(
        f"{export.path}: row 1: group column {column[:40]!r} not found{hint}; groups.column names the baseline export's column "
        "holding each participant's group, as its header spells it: correct groups.column in study.yaml"
    )


def group_text(export: WaveExport, column: str) -> pd.Series:
    """The group column as trimmed text (a blank is "")."""
    return export.table[column].astype(str).str.strip()


def group_roles(export: WaveExport, groups: Groups, text: pd.Series) -> pd.Series:
    """The group each row's value names ("program", "comparison"), or None: each distinct value read
    once; an SPSS code with a value label names the group of its label, else of its code."""
    labels = export.value_labels.get(groups.column) or {}
    roles = {}
    for value in text.unique():
        label = labels.get(value)
        roles[value] = (groups.role_of(label) if label is not None else None) or groups.role_of(value)
    return text.map(roles).astype(object)


def shown_group_value(value: str) -> str:
    """A group value as a message shows it: quoted, escaped, cut to ``GROUP_VALUE_CHARS``, and never an
    e-mail address, IP address or phone number."""
    if value == "":
        return "blank"
    kind = looks_identifying(value)
    if kind:
        return f"(not shown: looks like {kind})"
    cut = printable(value[:GROUP_VALUE_CHARS]) + ("..." if len(value) > GROUP_VALUE_CHARS else "")
    return f"'{cut}'"


def check_groups_not_empty(export: WaveExport, groups: Groups, text: pd.Series, roles: pd.Series, reasons: pd.Series) -> None:
    """Stop when no accepted baseline row is in one of the groups (or in either), saying which and
    which values the column holds: the most frequent first, at most ``GROUP_VALUES_SHOWN`` of
    ``GROUP_VALUE_CHARS`` characters each, as many as keep the message within ``MESSAGE_LIMIT`` (a
    REDCap file's rows of other events not counted)."""
    kept = roles[reasons == ""]
    empty = [role for role in GROUP_ROLES if not (kept == role).any()]
    if not empty:
        return
    considered = reasons != "other_event"
    counts = text[considered].value_counts(sort=True)
    which = f"the {empty[0]} group" if len(empty) == 1 else "either group"
    named = int((roles.isin(empty) & considered).sum())
    excluded = f" ({'its' if len(empty) == 1 else 'their'} {named} row{'s were' if named != 1 else ' was'} excluded)" if named else ""
    remedy = f"add its values to groups.{empty[0]}" if len(empty) == 1 else "list each group's values in groups.program and groups.comparison"
    head = f"{export.path}: group column {groups.column[:40]!r}: no participant is in {which}{excluded}; the column holds "
    budget = MESSAGE_LIMIT - len(printable(head)) - len(remedy) - 30
    entries = [f"{shown_group_value(value)} ({count})" for value, count in counts.head(GROUP_VALUES_SHOWN).items()]
    shown_entries = entries[:1]
    for entry in entries[1:]:
        if len(", ".join([*shown_entries, entry])) > budget:
            break
        shown_entries.append(entry)
    more = f" and {len(counts) - len(shown_entries)} more" if len(counts) > len(shown_entries) else ""
    raise PipelineError(f"{head}{', '.join(shown_entries) or 'no values'}{more}; {remedy}")


def other_group_problems(
    export: WaveExport, groups: Groups, ids: pd.Series, accepted: pd.Series, allocated: pd.Series, markers: set[str]
) -> pd.DataFrame:
    """PROBLEM_COLUMNS rows for a later wave's accepted rows whose group value names another group
    than the participant's baseline group (``allocated``: id -> role) or no group; a blank or a
    missing-value marker names nothing and is not listed, nor is a participant without a baseline group."""
    text = group_text(export, groups.column)
    roles = group_roles(export, groups, text)
    baseline_role = ids.map(allocated).where(accepted)
    named = (text != "") & ~text.map(normalise_label).isin(markers)
    differs = accepted & baseline_role.notna() & named & (roles != baseline_role)
    rows = text.index[differs.to_numpy()]
    return pd.DataFrame(
        {"wave": export.wave, "row": rows, "column": groups.column, "value": text[rows].map(shown_value).to_numpy(),
         "problem": [OTHER_GROUP.format(role=role) for role in baseline_role[rows]]},  # fmt: skip
        columns=PROBLEM_COLUMNS,
    )


def check_identifying_uses(
    export: WaveExport, needed: dict[str, str], id_column: str, subgroups: list[str], identifiers: list[str], pseudonymised: bool, wave: str,
    group_column: str | None = None, distinct_texts: dict | None = None,
) -> None:
    """Stop when an identifying column (:mod:`pipeline.privacy`: by name, by the study's lists or by
    its values) would be read as the id column without pseudonymisation, as an item, as a subgroup,
    or as the group column (``groups.column``, checked as a subgroup is).

    The message names the column and why, never its values. Item columns count as identifying
    by their values only when most of their answers are e-mail or IP addresses or phone numbers
    (a stray one typed into an answer is a cell problem, shown masked). ``distinct_texts`` holds
    the distinct texts of columns already found (export column -> array).
    """
    uses = [(theirs, ours) for ours, theirs in needed.items() if not ours.startswith("__")] + [(name, None) for name in subgroups]
    uses += [(group_column, "__group")] if group_column is not None else []
    kinds: dict[str, str | None] = {}
    for column, ours in uses:
        if ours == id_column and pseudonymised:
            continue
        reason = identifying_name(column, identifiers, export.format)
        if not reason:
            # identifying_values' verdict from each distinct text once, and None without asking when no
            # text looks identifying (the common case: item columns share a handful of answers).
            known = (distinct_texts or {}).get(column)
            distinct = known if known is not None else pd.unique(export.table[column].to_numpy(dtype=object))
            candidates = distinct[maybe_identifying(pd.Series(distinct, dtype=object)).to_numpy()]
            if any(_looks_identifying(cell, kinds) for cell in candidates):
                reason = identifying_values(pd.Series(distinct, dtype=object), share=identifying_share(ours, id_column))
        if reason:
            raise PipelineError(identifying_use_message(export.path, column, ours, id_column, wave, reason))


def identifying_name(column: str, identifiers: list[str], fmt: str) -> str | None:
    """Why ``column`` identifies people by its name (the study's and the data dictionary's
    ``identifiers``, or :func:`pipeline.privacy.identifying_reason`), as "is ...", or None."""
    if column in identifiers:
        return "is listed as identifying"
    why = identifying_reason(column, [], fmt)
    return f"is {why}" if why else None


def identifying_share(ours: str | None, id_column: str) -> float:
    """The share of e-mail or IP values that makes a column identifying: any one in the id, group
    or a subgroup column (``ours`` None or ``"__group"``), most answers in an item column (a stray
    one typed into an answer is a cell problem, shown masked)."""
    return 0.5 if ours not in (None, "__group", id_column) else 0.0


def identifying_use_message(path, column: str, ours: str | None, id_column: str, wave: str, reason: str) -> str:
    """The one line that stops a run reading the identifying ``column`` as ``ours`` (the id column,
    ``"__group"``, None for a subgroup, else an item id); names the column and why, never its values."""
    shown = repr(column[:40])
    if ours == id_column:
        return f"{path}: column {shown} (the id column) {reason}; {PSEUDONYMISE_HINT}"
    if ours == "__group":
        return (
            f"{path}: group column {shown} {reason}; identifying columns never leave validation: "
            "groups.column must name a column holding only each participant's group"
        )
    if ours is None:
        return f"{path}: subgroup column {shown} {reason}; identifying columns never leave validation: remove it from subgroups"
    return (
        f"{path}: column {shown} (item {ours}) {reason}; items are never read from identifying columns: "
        f"map the item to its own column in waves.{wave}.columns"
    )


def unreadable_cell_problems(export: WaveExport, needed: dict[str, str]) -> pd.DataFrame:
    """Cells the reader could not take a value from (e.g. Excel formulas without a saved value) in
    the columns the rules read, as PROBLEM_COLUMNS rows named by our column names."""
    found = getattr(export, "cell_problems", None)
    if found is None or found.empty:
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    ours = {theirs: name for name, theirs in needed.items()}
    kept = found[found["column"].isin(ours)]
    return pd.DataFrame(
        {"wave": export.wave, "row": kept["row"].to_numpy(), "column": kept["column"].map(ours).to_numpy(), "value": "", "problem": kept["problem"].to_numpy()},
        columns=PROBLEM_COLUMNS,
    )


def row_exclusions(
    export: WaveExport, text: pd.DataFrame, values: pd.DataFrame, ids: pd.Series, source: WaveSource, options: DataOptions, withdrawn: set[str],
    roles: pd.Series | None = None,
) -> pd.Series:
    """The first exclusion reason that applies to each row ("" = usable so far; duplicates come later).
    ``roles`` (baseline of a two-group study) is each row's group, None where its value names none."""
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
    if fmt == "odk":
        rejected = pd.Series(False, index=table.index)
        if ODK_REVIEW in table.columns:
            rejected |= table[ODK_REVIEW].str.strip().str.casefold().eq("rejected")
        if KOBO_VALIDATION in table.columns:
            status = table[KOBO_VALIDATION].str.strip().str.casefold()
            rejected |= status.str.contains("not_approved", regex=False) | status.eq("not approved")
        rules.append(("rejected", rejected))
    if "__consent" in text.columns:
        accepted = {normalise_label(answer) for answer in options.consent.accept}
        rules.append(("no_consent", ~text["__consent"].map(normalise_label).isin(accepted)))
    if withdrawn:
        rules.append(("no_consent", ids.isin(withdrawn)))
    rules.append(("empty", values.isna().all(axis=1)))
    rules.append(("missing_id", ids == ""))
    if fmt == "excel":
        rules.append(("invalid_id", ids.str.match(EXCEL_DATE)))
    if roles is not None:
        rules.append(("unknown_group", roles.isna()))
    reasons = pd.Series("", index=table.index)
    for reason, applies in rules:
        reasons = reasons.mask((reasons == "") & applies.to_numpy(), reason)
    return reasons


def duplicate_losers(candidates: pd.DataFrame, options: DataOptions, export: WaveExport, id_column: str, shown_id=printable) -> pd.Index:
    """Rows that lose to another row of the same participant under ``data.duplicates`` (see the README).

    ``shown_id`` turns an id into what a message may show (its pseudonymous code when ids are pseudonymised)."""
    repeated = candidates[candidates[id_column].duplicated(keep=False)]
    if repeated.empty:
        return pd.Index([])
    if options.duplicates == "stop":
        raise PipelineError(_duplicate_id_message(export, candidates, id_column, shown_id))
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
    baseline: bool = True,
    groups: Groups | None = None,
    allocated: pd.Series | None = None,
) -> ValidatedWave:
    """Apply the rules of the module docstring to one wave's export.

    ``withdrawn`` holds the (normalised) ids that did not consent at baseline: their rows in a
    later wave are excluded as ``no_consent`` too. The ids found are in ``ValidatedWave.no_consent``.
    ``baseline`` says whether this is the study's first wave, where consent is asked and
    ``subgroups`` (the study's ``subgroups``) are read, into
    ``ValidatedWave.attributes``; a column missing from the baseline export stops the run.
    ``groups`` (the study's ``groups``) is read at baseline into ``ValidatedWave.group``; at a later
    wave, ``allocated`` (participant id as in the baseline's responses -> "program"/"comparison")
    is what a row naming another group is checked against.
    """
    source = source or WaveSource(file=export.path.name)
    options = options or DataOptions()
    item_ids = [item_id for instrument in instruments for item_id in instrument.item_ids]
    item_set = set(item_ids) - {id_column}
    needed = required_columns(source, item_ids, id_column, options, export.format, baseline)
    check_columns(export, needed)
    attribute_columns = list(subgroups or []) if baseline else []
    check_subgroup_columns(export, attribute_columns)
    group_column = groups.column if groups is not None and baseline else None
    if groups is not None and baseline:
        check_group_column(export, groups)
    # Each item column factorised once, for the identifying check and for reading the cells.
    items_factorised = {ours: factorised(export.table[theirs]) for ours, theirs in needed.items() if ours in item_set}
    check_identifying_uses(
        export, needed, id_column, attribute_columns, identifiers or [], pseudonym_key is not None, export.wave, group_column=group_column,
        distinct_texts={needed[ours]: distinct for ours, (_, distinct) in items_factorised.items()},
    )
    # Item cells are trimmed by parse_items, once per distinct text; the few other columns here.
    text = pd.DataFrame(
        {ours: export.table[theirs] if ours in item_set else export.table[theirs].astype(str).str.strip() for ours, theirs in needed.items()},
        index=export.table.index,
    )

    values, problems = parse_items(text[item_ids], instruments, export.wave, options.missing_values, items_factorised)
    out_of_range = range_problems(values, instruments, export.wave)
    for column, rows in out_of_range.groupby("column")["row"]:
        values.loc[rows.to_numpy(), column] = np.nan

    ids = normalise_ids(text[id_column])
    changed = ids != text[id_column]
    shown_id = (lambda raw: pseudonymise(pd.Series([raw]), pseudonym_key).iloc[0]) if pseudonym_key is not None else printable
    normalised = pd.DataFrame(
        {"wave": export.wave, "row": ids.index[changed], "column": id_column,
         "value": "" if pseudonym_key is not None else text[id_column][changed].map(shown_value), "problem": ID_NORMALISED},  # fmt: skip
        columns=PROBLEM_COLUMNS,
    )
    problems = pd.concat([problems, out_of_range, normalised, unreadable_cell_problems(export, needed)], ignore_index=True)
    if options.id_case != "preserve":
        ids = ids.str.lower() if options.id_case == "lower" else ids.str.upper()
    roles = None
    if group_column is not None:
        group_values = group_text(export, group_column)
        roles = group_roles(export, groups, group_values)
    reasons = row_exclusions(export, text, values, ids, source, options, withdrawn or set(), roles)
    usable = reasons == ""
    candidates = pd.DataFrame({id_column: ids[usable], "__answered": values[usable].notna().sum(axis=1)})
    candidates["__time"] = timestamps(export, text, options)[usable]
    reasons[duplicate_losers(candidates, options, export, id_column, shown_id)] = "duplicate"

    if roles is not None:
        check_groups_not_empty(export, groups, group_values, roles, reasons)

    refused = frozenset(ids[(reasons == "no_consent") & (ids != "")])
    if pseudonym_key is not None:
        ids = pseudonymise(ids, pseudonym_key)
    kept = pd.concat([ids.rename(id_column), values], axis=1).loc[reasons == ""]
    # A failure here is a bug, not bad input. In place: the schema coerces nothing and adds no
    # column, and pandera's default first copies the whole frame (0.6 s at 100,000 rows).
    response_schema(instruments, id_column).validate(kept, lazy=True, inplace=True)
    attributes = ids.rename(id_column).to_frame().join(subgroup_text(export, attribute_columns)).loc[kept.index]
    group = roles.loc[kept.index].rename("group") if roles is not None else no_groups()
    if groups is not None and not baseline and allocated is not None and groups.column in export.table.columns:
        markers = {normalise_label(m) for m in [*MISSING_MARKERS, *options.missing_values]}
        other = other_group_problems(export, groups, ids, reasons == "", allocated, markers)
        problems = pd.concat([problems, other], ignore_index=True) if not other.empty else problems

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
        group=group,
    )


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True).reindex(columns=columns) if frames else pd.DataFrame(columns=columns)


def _duplicate_id_message(export: WaveExport, candidates: pd.DataFrame, id_column: str, shown_id) -> str:
    ids = candidates[id_column]
    repeated = ids[ids.duplicated(keep=False)]
    examples = []
    for participant, rows in repeated.groupby(repeated, sort=False).groups.items():
        listed = ", ".join(str(r) for r in list(rows)[:4]) + (" ..." if len(rows) > 4 else "")
        examples.append(f"{shown_id(participant)[:40]!r} in rows {listed}")
        if len(examples) == 3:
            break
    more = repeated.nunique() - len(examples)
    tail = f" and {more} more" if more > 0 else ""
    return (
        f"{export.path}: column '{id_column}': participant id used more than once: {'; '.join(examples)}{tail}; "
        "keep one row per participant in each wave (or fix the typo in the id), or choose a data.duplicates rule"
    )


def _looks_identifying(cell, kinds: dict[str, str | None]) -> str | None:
    """:func:`pipeline.privacy.looks_identifying` of a cell's trimmed text (as
    :func:`pipeline.privacy.identifying_values` trims it), remembered in ``kinds``."""
    text = str(cell).strip()
    if text not in kinds:
        kinds[text] = looks_identifying(text)
    return kinds[text]


def _format_number(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)
