"""The out-of-core run: ingest, validation counts, scoring and the summary statistics in DuckDB.

With ``engine: duckdb`` in ``study.yaml`` (or ``engine: auto``, the default, when the wave exports
together exceed ``AUTO_DUCKDB_BYTES``) a run never holds the participants in Python memory:

1. each wave's CSV/TSV is read by DuckDB as text (``read_csv(all_varchar)``) into a table of an
   on-disk database in a temporary folder, with DuckDB's ``memory_limit`` (``MEMORY_LIMIT``) and
   spilling to that folder; row order is kept (``preserve_insertion_order``) for the duplicate rule;
2. the item cells are read as :mod:`pipeline.validate` reads them: each column's *distinct* texts
   (a handful: codes, labels, markers, typos) go through :func:`pipeline.validate.read_cell` and the
   response range check in Python, and the answer is applied in SQL as a ``CASE`` over the texts,
   so every rule of the in-memory path holds cell by cell; cells read as missing are counted per
   column (the in-memory path lists each one in ``data-quality.csv``; here they are counted);
3. ids are trimmed, NFC-normalised with format characters removed (the rare ids that are not plain
   printable ASCII go through :func:`pipeline.validate.normalise_ids`), and case-folded as
   ``data.id_case`` says; rows are excluded as ``empty``, ``missing_id`` and ``duplicate`` with
   :func:`pipeline.validate.duplicate_losers`' orders (``most_complete``: most answers, then the
   later row; ``latest``: the later row; ``first``; ``stop`` ends the run);
4. scale scores are computed in SQL exactly as :mod:`pipeline.score` does (reverse keys on the
   declared range, mean or prorated sum in float64 with the same operations, ``min_items``,
   differences) and written as Parquet (``COPY ... (FORMAT parquet)``), one row per participant
   per wave;
5. the statistics come from :mod:`pipeline.statistics.sufficient`: per scale the joint histogram
   of (baseline, primary) scores and per wave the histogram of scores (``GROUP BY``), and per
   scale and wave the complete-case item sums and cross-products in exact integers (``HUGEINT``).

Outputs (``write_duckdb_run``): ``results.csv`` (every column of the in-memory one except the
mixed model's ``lmm_*``, left empty), ``trajectory.csv`` (observed n, mean, SD; no model means),
``ledger.csv``, ``exclusions-summary.csv`` (rows per wave and reason), ``data-quality-summary.csv``
(cells read as missing per wave and column), ``scores.parquet`` and ``manifest.json``. Not
produced: ``changes.csv``, the mixed model, ``reliable_change.csv``, ``attrition.csv``, the per-row
listings, the xlsx and the reports. Configurations whose rules are not mirrored in SQL are refused
with one line (:func:`unsupported`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import PipelineError
from .instruments import published_reliability, published_sd
from .schema import RESULTS, TRAJECTORY
from .statistics.bayes import MEDIUM_PRIOR_SCALE, jzs_log_bf10
from .statistics.multiplicity import adjust_p
from .statistics.power import minimum_detectable_dz
from .statistics.reliable_change import change_basis
from .statistics.sufficient import (
    ItemSums, JointHistogram, alpha_from_sums, omega_from_sums, paired_from_histogram, reliable_change_from_histogram,
    signed_rank_from_histogram,
)
from .privacy import identifying_kinds, identifying_values, looks_identifying
from .validate import (
    MISSING_MARKERS,
    identifying_name,
    identifying_share,
    identifying_use_message,
    normalise_ids,
    normalise_label,
    read_cell,
)

#: ``engine: auto`` uses DuckDB when the wave exports together are larger than this (about 1.5
#: million participants of the demo's 18 instruments at two waves; the in-memory path holds them).
AUTO_DUCKDB_BYTES = 1_000_000_000
#: DuckDB's memory limit (it spills to disk beyond it); the process's measured peak at 10 million
#: participants of the demo's instruments is 2.4 GB (1 million: 1.3 GB).
MEMORY_LIMIT = "2GB"
THREADS = 2
PLAIN_ID = "[!-~]*"  # printable ASCII without spaces: already normalised
#: The characters Python's ``str.strip()`` removes, so that DuckDB's ``trim`` trims as validation does.
#: Written out: computing it at import (every code point's isspace()) took 0.7 s. A test checks it.
PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: :data:`pipeline.privacy.MAYBE_IDENTIFYING` in SQL, for the ids that could be an e-mail, IP address
#: or phone number (:func:`pipeline.privacy.looks_identifying` has the last word): an @, a colon or a
#: dot, nine digits, or any character beyond ASCII (SQL's digits are ASCII only; Python's are not).
MAYBE_IDENTIFYING_SQL = (
    "contains(t, '@') OR contains(t, ':') OR contains(t, '.') OR length(regexp_replace(t, '[^0-9]', '', 'g')) >= 9 "
    "OR NOT regexp_full_match(t, '[\\x00-\\x7f]*')"
)
ID_BATCH = 100_000


def engine_for(study) -> str:
    """``memory`` or ``duckdb``: the study's ``engine``, with ``auto`` decided by export size."""
    engine = study.config.engine
    if engine != "auto":
        return engine
    # auto never picks an engine that would refuse the study: such a study stays in memory
    return "duckdb" if study.export_bytes > AUTO_DUCKDB_BYTES and unsupported(study) is None else "memory"


def unsupported(study) -> str | None:
    """Why ``engine: duckdb`` cannot run this study (one line), or None."""
    config = study.config
    reasons = []
    if config.groups is not None:
        reasons.append("a two-group study (groups)")
    if config.subgroups:
        reasons.append("subgroups")
    data = config.data
    if data.pseudonymise is not None:
        reasons.append("data.pseudonymise")
    if data.consent is not None:
        reasons.append("data.consent")
    if data.timestamp_column:
        reasons.append("data.timestamp_column")
    for wave, source in study.wave_sources.items():
        if source.resolved_format not in ("csv", "tsv"):
            reasons.append(f"waves.{wave} format {source.resolved_format} (only csv and tsv)")
        if source.encoding.replace("-", "").lower() not in ("utf8", "utf8sig"):
            reasons.append(f"waves.{wave} encoding {source.encoding} (only utf-8)")
    if not reasons:
        return None
    return (
        f"{study.folder / 'study.yaml'}: engine: duckdb does not support {', '.join(reasons)}; "
        "set engine: memory (or remove the engine line) to run this study in memory"
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class DuckRun:
    """What an out-of-core run computed (see the module docstring)."""

    study: object
    ledger: pd.DataFrame
    exclusions: pd.DataFrame  # wave, reason, rows
    problems: pd.DataFrame  # wave, column, cells
    results: pd.DataFrame
    trajectory: pd.DataFrame
    matched: int


class _Rows:
    def __init__(self, rows: list):
        self.rows = rows

    def fetchall(self) -> list:
        return self.rows

    def fetchone(self):
        return self.rows[0] if self.rows else None


class _Engine:
    def __init__(self, study, work: Path):
        import duckdb  # imported only by runs that use it

        self.study = study
        self.work = work
        self.con = duckdb.connect(str(work / "run.duckdb"))
        for setting in (f"memory_limit='{MEMORY_LIMIT}'", f"threads={THREADS}", f"temp_directory={_lit(str(work / 'spill'))}",
                        "preserve_insertion_order=true"):  # fmt: skip
            self.con.execute(f"SET {setting}")
        self.items = {item: instrument for instrument in study.instruments for item in instrument.item_ids}

    def sql(self, query: str) -> _Rows:
        """Run one statement and read its whole result (DuckDB wants it read before the next statement)."""
        return _Rows(self.con.execute(query).fetchall())

    # --- ingest and validation -----------------------------------------------------------------

    def load_wave(self, wave: str) -> dict:
        """Pass 1 over the export: header check, row count, each item column's histogram of texts and the odd ids."""
        import duckdb

        study, source = self.study, self.study.wave_sources[wave]
        path = study.wave_files[wave]
        delimiter = source.delimiter or ("\t" if source.resolved_format == "tsv" else ",")
        reader = f"read_csv({_lit(str(path))}, all_varchar=true, header=true, delim={_lit(delimiter)}, quote='\"', escape='\"')"
        try:
            header = [row[0] for row in self.sql(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
            columns = {name.strip().lstrip("\ufeff"): name for name in header}
            needed = {study.id_column: study.id_column, **{item: source.export_column(item) for item in self.items}}
            absent = [column for column in needed.values() if column not in columns]
            if absent:
                shown = ", ".join(absent[:8]) + (f" and {len(absent) - 8} more" if len(absent) > 8 else "")
                raise PipelineError(
                    f"{path}: row 1: column(s) not found: {shown}; item columns must be named by item id, and the id column as id_column says"
                )
            select = ", ".join(f"{_q(columns[theirs])} AS {_q(ours)}" for ours, theirs in needed.items())
            source_sql = f"(SELECT {select} FROM {reader})"
            id_column = _q(study.id_column)
            texts: dict[str, list[tuple[str | None, int]]] = {item: [] for item in self.items}
            # One streaming pass: every (column, text) pair counted; few distinct pairs, so little memory.
            unpivot = f"UNPIVOT (SELECT {', '.join(_q(i) for i in self.items)} FROM {source_sql}) ON COLUMNS(*) INTO NAME item VALUE text"
            for item, text, count in self.sql(f"SELECT item, text, count(*) FROM ({unpivot}) GROUP BY ALL").fetchall():
                texts[item].append((text, int(count)))
            rows_read = self.sql(f"SELECT count(*) FROM {source_sql}").fetchone()[0]
            # The odd ids (not printable ASCII without spaces) as a table, so that however many there are they spill.
            self.sql(
                f"CREATE TABLE odd_{wave} AS SELECT DISTINCT {id_column} AS raw FROM {source_sql} "
                f"WHERE {id_column} IS NOT NULL AND NOT regexp_full_match({id_column}, '{PLAIN_ID}')"
            )
            odd = self.sql(f"SELECT count(*) FROM odd_{wave}").fetchone()[0]
            for item in self.items:  # the blank cells (NULL in DuckDB) that UNPIVOT leaves out
                blank = rows_read - sum(count for _, count in texts[item])
                if blank:
                    texts[item].append((None, blank))
        except duckdb.Error as error:
            raise PipelineError(f"{path}: cannot be read as {source.resolved_format}: {str(error).splitlines()[0]}") from None
        return {"path": path, "rows_read": rows_read, "texts": texts, "odd": odd, "source": source_sql, "columns": needed}

    def check_identifying(self, wave: str, loaded: dict) -> None:
        """What :func:`pipeline.validate.check_identifying_uses` checks, without holding the export:
        each item column by its name and its distinct texts (counted by :meth:`load_wave`), the id
        column by its name and its distinct trimmed ids, of which only those that might be personal
        data are streamed to Python and judged by :func:`pipeline.privacy.looks_identifying`."""
        from .run import dictionary_identifiers  # run.py imports this module lazily too

        study, path = self.study, loaded["path"]
        identifiers = [*study.config.identifiers, *dictionary_identifiers(study, wave)]
        fmt = study.wave_sources[wave].resolved_format
        for ours, theirs in loaded["columns"].items():
            reason = identifying_name(theirs, identifiers, fmt)
            if not reason and ours != study.id_column:
                texts = pd.Series([text for text, _ in loaded["texts"][ours] if text is not None], dtype=object)
                reason = identifying_values(texts, share=identifying_share(ours, study.id_column))
            if not reason and ours == study.id_column:
                reason = self.identifying_ids(loaded["source"])
            if reason:
                raise PipelineError(identifying_use_message(path, theirs, ours, study.id_column, wave, reason))

    def identifying_ids(self, source_sql: str) -> str | None:
        """:func:`pipeline.privacy.identifying_values` of the id column (any e-mail or IP address,
        or mostly phone numbers), counted over its distinct trimmed non-blank ids in batches."""
        trimmed = f"trim({_q(self.study.id_column)}, {_lit(PYTHON_WHITESPACE)})"
        distinct = f"(SELECT DISTINCT {trimmed} AS t FROM {source_sql} WHERE {trimmed} <> '')"
        cursor = self.con.execute(f"SELECT t FROM {distinct} WHERE {MAYBE_IDENTIFYING_SQL}")
        kinds: dict[str, int] = {}
        while batch := cursor.fetchmany(ID_BATCH):
            for (text,) in batch:
                kind = looks_identifying(text)
                if kind:
                    kinds[kind] = kinds.get(kind, 0) + 1
            if kinds.get("an e-mail address") or kinds.get("an IP address"):
                break  # any one is enough
        if not kinds:
            return None
        return identifying_kinds(kinds, self.sql(f"SELECT count(*) FROM {distinct}").fetchone()[0])

    def cell_rules(self, texts: dict) -> tuple[list[str], dict[str, int]]:
        """Per item: the SQL value expression, from each distinct text read as validate reads it, and
        how many cells were read as missing with a problem (not blank, not a valid value).

        The expression is a range-checked ``TRY_CAST(text AS INTEGER)`` (fast), with a ``WHEN`` for
        every distinct text where that cast and :func:`pipeline.validate.read_cell` disagree
        (labels, "3.0", padded codes, "2.5" that a cast would round): exact, since every distinct text
        is checked against the cast DuckDB itself computes."""
        markers = {normalise_label(m) for m in [*MISSING_MARKERS, *self.study.config.data.missing_values]}
        distinct = sorted({text for item in self.items for text, _ in texts[item] if text is not None})
        cast = {}
        if distinct:
            frame = pd.DataFrame({"text": distinct})
            self.con.register("distinct_texts", frame)
            cast = dict(self.con.execute("SELECT text, TRY_CAST(text AS INTEGER) FROM distinct_texts").fetchall())
            self.con.unregister("distinct_texts")
        expressions, problems = [], {}
        for item, instrument in self.items.items():
            labels = {normalise_label(label): value for value, label in (instrument.response.labels or {}).items()}
            low, high = instrument.response.min, instrument.response.max
            exceptions, bad = [], 0
            for text, count in texts[item]:
                value, problem = read_cell("" if text is None else str(text).strip(), labels, markers)
                read = int(value) if not problem and not np.isnan(value) and value == int(value) and low <= value <= high else None
                if read is None and not (not problem and np.isnan(value)):
                    bad += count
                if text is None:
                    continue
                fast = cast.get(text)
                fast = fast if fast is not None and low <= fast <= high else None
                if fast != read:
                    exceptions.append((text, "NULL" if read is None else str(read)))
            problems[item] = bad
            column = _q(item)
            fast_sql = f"CASE WHEN TRY_CAST({column} AS INTEGER) BETWEEN {low} AND {high} THEN TRY_CAST({column} AS INTEGER) END"
            if exceptions:
                cases = " ".join(f"WHEN {_lit(text)} THEN {value}" for text, value in exceptions)
                fast_sql = f"CASE {column} {cases} ELSE {fast_sql} END"
            expressions.append(f"({fast_sql})::INTEGER AS {column}")
        return expressions, problems

    def id_rules(self, wave: str, odd: int) -> tuple[str, int]:
        """The plainly normalised id as SQL; the ``odd`` distinct odd ids (not printable ASCII without
        spaces, in table ``odd_<wave>``) are normalised in Python, in batches, into table
        ``ids_<wave>``. Returns how many distinct odd ids there are."""
        id_column = _q(self.study.id_column)
        case = self.study.config.data.id_case
        fold = {"lower": "lower", "upper": "upper"}.get(case)
        plain = f"{fold}({id_column})" if fold else id_column
        if odd:
            self.sql(f"CREATE TABLE ids_{wave} (raw VARCHAR, normal VARCHAR, changed BOOLEAN)")
            cursor = self.con.cursor()  # a second cursor: the first streams while this one inserts
            reader = self.con.execute(f"SELECT raw FROM odd_{wave}")
            while batch := reader.fetchmany(ID_BATCH):
                raw = [text for (text,) in batch]
                stripped = pd.Series([text.strip() for text in raw], dtype=object)
                normal = normalise_ids(stripped)
                changed = (normal != stripped).to_numpy()
                if case != "preserve":
                    normal = normal.str.lower() if case == "lower" else normal.str.upper()
                cursor.register("odd_batch", pd.DataFrame({"raw": raw, "normal": normal.to_numpy(dtype=object), "changed": changed}))
                cursor.execute(f"INSERT INTO ids_{wave} SELECT * FROM odd_batch")
                cursor.unregister("odd_batch")
            cursor.close()
        return f"CASE WHEN {id_column} IS NULL THEN '' WHEN regexp_full_match({id_column}, '{PLAIN_ID}') THEN {plain} END", odd

    def validate_wave(self, wave: str) -> dict:
        loaded = self.load_wave(wave)
        self.check_identifying(wave, loaded)
        expressions, problem_cells = self.cell_rules(loaded["texts"])
        id_sql, n_odd = self.id_rules(wave, loaded["odd"])
        items = list(self.items)
        id_column = _q(self.study.id_column)
        answered = " + ".join(f"({_q(i)} IS NOT NULL)::INTEGER" for i in items)
        # Pass 2: the parsed rows in file order (rowid = position), odd ids kept raw until updated.
        self.sql(
            f"CREATE TABLE parsed_{wave} AS SELECT *, {answered} AS answered, '' AS reason FROM "
            f"(SELECT {id_sql} AS id, CASE WHEN {id_sql} IS NULL THEN {id_column} END AS odd_id, {', '.join(expressions)} FROM {loaded['source']})"
        )
        ids_changed = 0
        if n_odd:
            self.sql(f"UPDATE parsed_{wave} SET id = i.normal FROM ids_{wave} i WHERE parsed_{wave}.odd_id = i.raw")
            ids_changed = self.sql(f"SELECT count(*) FROM parsed_{wave} p JOIN ids_{wave} i ON p.odd_id = i.raw WHERE i.changed").fetchone()[0]
        problems = [(wave, item, int(problem_cells[item])) for item in items if problem_cells[item]]
        if ids_changed:
            problems.append((wave, self.study.id_column, int(ids_changed)))
        self.sql(f"UPDATE parsed_{wave} SET reason = CASE WHEN answered = 0 THEN 'empty' ELSE 'missing_id' END WHERE answered = 0 OR id = ''")
        order = {"most_complete": "answered DESC, pos DESC", "latest": "pos DESC", "first": "pos ASC", "stop": "pos ASC"}[
            self.study.config.data.duplicates
        ]
        # Duplicates are rare: rank only the rows of ids seen more than once.
        self.sql(
            f"UPDATE parsed_{wave} SET reason = 'duplicate' WHERE rowid IN (SELECT pos FROM (SELECT rowid AS pos, answered, "
            f"row_number() OVER (PARTITION BY id ORDER BY {order}) AS rank FROM parsed_{wave} WHERE reason = '' AND id IN "
            f"(SELECT id FROM parsed_{wave} WHERE reason = '' GROUP BY id HAVING count(*) > 1)) WHERE rank > 1)"
        )
        reasons = dict(self.sql(f"SELECT reason, count(*) FROM parsed_{wave} GROUP BY reason").fetchall())
        if self.study.config.data.duplicates == "stop" and reasons.get("duplicate"):
            raise PipelineError(
                f"{loaded['path']}: {reasons['duplicate']} rows repeat a participant id of an earlier row; keep one row per participant "
                "in each wave (or fix the typo in the id), or choose a data.duplicates rule"
            )
        self.sql(f"CREATE VIEW acc_{wave} AS SELECT id, {', '.join(_q(i) for i in items)} FROM parsed_{wave} WHERE reason = ''")
        accepted = reasons.pop("", 0)
        excluded = sum(reasons.values())
        if loaded["rows_read"] != accepted + excluded:
            raise PipelineError(f"{loaded['path']}: {loaded['rows_read']} rows read but {accepted} accepted + {excluded} excluded; this is a bug")
        return {"path": loaded["path"], "rows_read": loaded["rows_read"], "accepted": accepted, "excluded": excluded, "reasons": reasons,
                "problems": problems}  # fmt: skip

    # --- scoring ---------------------------------------------------------------------------------

    def keyed(self, instrument, scale) -> dict[str, str]:
        reverse = set(instrument.reversed_in(scale))
        total = instrument.response.min + instrument.response.max
        return {item: f"({total} - {_q(item)})" if item in reverse else _q(item) for item in scale.items}

    def score_expressions(self) -> list[tuple[str, str]]:
        expressions: dict[str, str] = {}
        ordered = []
        for instrument in self.study.instruments:
            for scale in instrument.scales:
                if scale.is_composite:
                    continue
                keyed = self.keyed(instrument, scale)
                answered = " + ".join(f"({_q(i)} IS NOT NULL)::INTEGER" for i in scale.items)
                total = " + ".join(f"coalesce({k}, 0)" for k in keyed.values())
                value = f"({total})::DOUBLE / ({answered})" if scale.method == "mean" else f"(({total})::DOUBLE * {len(scale.items)}) / ({answered})"
                expressions[scale.id] = f"CASE WHEN ({answered}) >= {scale.required_items} THEN {value} END"
            for scale in instrument.scales:
                if scale.is_composite:
                    first, second = scale.of
                    expressions[scale.id] = f"(({expressions[first]}) - ({expressions[second]}))"
            ordered.extend((scale.id, expressions[scale.id]) for scale in instrument.scales)
        return ordered

    def score_waves(self, waves: list[str]) -> None:
        expressions = self.score_expressions()
        for wave in waves:
            self.sql(f"CREATE TABLE scores_{wave} AS SELECT id, {', '.join(f'{e} AS {_q(name)}' for name, e in expressions)} FROM acc_{wave}")

    def write_scores(self, waves: list[str], target: Path) -> None:
        scale_ids = [scale.id for instrument in self.study.instruments for scale in instrument.scales]  # as score_responses
        columns = ", ".join(_q(s) for s in scale_ids)
        union = " UNION ALL ".join(
            f"SELECT id AS {_q(self.study.id_column)}, {_lit(w)} AS wave, {columns} FROM scores_{w}" for w in waves
        )
        self.sql(f"COPY ({union}) TO {_lit(str(target))} (FORMAT parquet, COMPRESSION zstd)")

    # --- summaries ------------------------------------------------------------------------------

    def histogram(self, wave: str, scale_id: str) -> tuple[np.ndarray, np.ndarray]:
        rows = self.sql(f"SELECT {_q(scale_id)}, count(*) FROM scores_{wave} WHERE {_q(scale_id)} IS NOT NULL GROUP BY 1").fetchall()
        return np.array([r[0] for r in rows], dtype=float), np.array([r[1] for r in rows], dtype=np.int64)

    def joint(self, base: str, primary: str, scale_id: str) -> JointHistogram:
        s = _q(scale_id)
        rows = self.sql(
            f"SELECT a.{s}, b.{s}, count(*) FROM scores_{base} a JOIN scores_{primary} b USING (id) "
            f"WHERE a.{s} IS NOT NULL AND b.{s} IS NOT NULL GROUP BY 1, 2"
        ).fetchall()
        return JointHistogram.of([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])

    def item_sums(self, wave: str, instrument, scale) -> ItemSums:
        keyed = list(self.keyed(instrument, scale).values())
        k = len(keyed)
        pieces = ["count(*)"] + [f"sum({x}::HUGEINT)" for x in keyed]
        pieces += [f"sum(({keyed[i]})::BIGINT * ({keyed[j]})::BIGINT)" for i in range(k) for j in range(i, k)]
        where = " AND ".join(f"{_q(i)} IS NOT NULL" for i in scale.items)
        values = self.sql(f"SELECT {', '.join(pieces)} FROM acc_{wave} WHERE {where}").fetchone()
        n, sums, upper = int(values[0]), [int(v or 0) for v in values[1 : k + 1]], iter(int(v or 0) for v in values[k + 1 :])
        cross = [[0] * k for _ in range(k)]
        for i in range(k):
            for j in range(i, k):
                cross[i][j] = cross[j][i] = next(upper)
        return ItemSums(n, tuple(sums), tuple(tuple(row) for row in cross))


def _mean_sd(values: np.ndarray, counts: np.ndarray) -> tuple[int, float, float]:
    from .statistics.sufficient import exact_moments

    n, mean, squares = exact_moments(values, counts)
    return n, float(mean) if n else np.nan, float(np.sqrt(float(squares / (n - 1)))) if n > 1 else np.nan


def scale_row(engine: _Engine, instrument, scale, base: str, primary: str, alpha_level: float) -> tuple[dict, JointHistogram]:
    """One row of results.csv from the scale's summaries (the in-memory ``scale_analysis`` without the mixed model)."""
    histogram = engine.joint(base, primary, scale.id)
    row = paired_from_histogram(histogram)
    diff, count = histogram.differences()
    ranks = signed_rank_from_histogram(diff, count)
    row.update(
        wilcoxon_v=ranks.v, wilcoxon_n=ranks.n_nonzero if row["n_pairs"] else np.nan, wilcoxon_method=ranks.method,
        p_wilcoxon=ranks.p, r_rb=ranks.r_rb, mde_dz=minimum_detectable_dz(row["n_pairs"], alpha_level),
        log_bf10=np.nan if np.isnan(row["t"]) else jzs_log_bf10(row["t"], row["n_pairs"], MEDIUM_PRIOR_SCALE),
    )  # fmt: skip
    row["bf10"] = np.exp(row["log_bf10"])
    if ranks.note:
        row["notes"].append(ranks.note)
    for column, wave in (("pre", base), ("post", primary)):
        if scale.is_composite:
            row.update({f"alpha_{column}": np.nan, f"alpha_n_{column}": 0, f"omega_{column}": np.nan})
            continue
        sums = engine.item_sums(wave, instrument, scale)
        row.update({f"alpha_{column}": alpha_from_sums(sums), f"alpha_n_{column}": sums.n, f"omega_{column}": omega_from_sums(sums)})
    if scale.is_composite:
        row["notes"].append("a difference of two scales: no alpha or omega")
    elif len(scale.items) < 3:
        row["notes"].append("one item: no alpha or omega" if len(scale.items) == 1 else "two items: no omega (one factor needs 3 or more)")
    row.update(reliable_change_columns(instrument, scale, histogram, row))
    row.update(
        variable=scale.id, name=scale.name, instrument=instrument.label, domain=scale.domain or "", higher_is=scale.higher_is,
        n_pre=int(engine.histogram(base, scale.id)[1].sum()), n_post=int(engine.histogram(primary, scale.id)[1].sum()),
        note="; ".join(dict.fromkeys(row.pop("notes"))),
    )  # fmt: skip
    return row, histogram


def reliable_change_columns(instrument, scale, histogram: JointHistogram, row: dict) -> dict:
    """The ``rci_*`` and recovery columns, as :func:`pipeline.analyze.reliable_change`."""
    columns = dict.fromkeys(
        ["rci_basis", "rci_sd", "rci_reliability", "rci_threshold", "rci_improved_pct", "rci_unchanged_pct",
         "rci_deteriorated_pct", "recovery_cutoff", "n_cases_pre", "recovered_pct"], np.nan)  # fmt: skip
    columns.update(rci_basis="", recovery_cutoff="")
    if histogram.n == 0:
        return columns
    basis, reason = change_basis(published_sd(instrument, scale), published_reliability(instrument, scale), row["sd_pre"], row["alpha_pre"])
    if basis is None:
        if histogram.n >= 2:
            row["notes"].append(reason)
        return columns
    columns.update(rci_basis=basis.basis, rci_sd=basis.sd, rci_reliability=basis.reliability, rci_threshold=basis.threshold)
    if scale.higher_is == "neutral":
        row["notes"].append("no direction of improvement: reliable change is in reliable_change.csv as increased or decreased")
        return columns
    cutoff = scale.cutoffs[0] if scale.cutoffs else None
    columns.update(reliable_change_from_histogram(histogram, basis.s_diff, scale.higher_is, cutoff))
    if cutoff is not None:
        columns["recovery_cutoff"] = f"{cutoff.case_when} {cutoff.score:g}"
    return columns


def classify(table: pd.DataFrame, correction: str, alpha: float) -> pd.DataFrame:
    from .analyze import classify_outcome

    table = table.copy()
    table["p_holm"] = adjust_p(table["p"], "holm")
    table["p_fdr"] = adjust_p(table["p"], "fdr")
    table["outcome"] = [classify_outcome(d, p, h, alpha) for d, p, h in zip(table["mean_diff"], table[f"p_{correction}"], table["higher_is"])]
    return table


def run_duckdb(study, work: Path, scores_path: Path | None = None) -> DuckRun:
    """The out-of-core run of ``study`` in the empty folder ``work`` (database and spill files)."""
    reason = unsupported(study)
    if reason:
        raise PipelineError(reason)
    engine = _Engine(study, work)
    try:
        waves = list(study.wave_names)
        checked = {wave: engine.validate_wave(wave) for wave in waves}
        engine.score_waves(waves)
        if scores_path is not None:
            engine.write_scores(waves, scores_path)
        base, primary = study.baseline, study.primary
        options = study.config.analysis
        rows, trajectory = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for instrument, scale in study.scales:
                row, _ = scale_row(engine, instrument, scale, base, primary, options.alpha)
                rows.append(row)
                for wave in waves:
                    n, mean, sd = _mean_sd(*engine.histogram(wave, scale.id))
                    trajectory.append({"variable": scale.id, "name": scale.name, "wave": wave, "n": n, "mean": mean, "sd": sd})
        matched = engine.sql(f"SELECT count(*) FROM acc_{base} JOIN acc_{primary} USING (id)").fetchone()[0]
    finally:
        engine.con.close()
    results = classify(pd.DataFrame(rows), options.correction, options.alpha).reindex(columns=RESULTS.names)
    ledger = pd.DataFrame(
        [[w, study.wave_sources[w].file, file_sha256(c["path"]), c["rows_read"], c["accepted"], c["excluded"]] for w, c in checked.items()],
        columns=["wave", "file", "sha256", "rows_read", "rows_accepted", "rows_excluded"],
    )
    exclusions = pd.DataFrame([(w, r, n) for w, c in checked.items() for r, n in sorted(c["reasons"].items())], columns=["wave", "reason", "rows"])
    problems = pd.DataFrame([p for c in checked.values() for p in c["problems"]], columns=["wave", "column", "cells"])
    return DuckRun(study, ledger, exclusions, problems, results, pd.DataFrame(trajectory).reindex(columns=TRAJECTORY.names), matched)


def write_duckdb_run(study, folder) -> DuckRun:
    """Run ``study`` out of core into a claimed :class:`pipeline.outputs.OutputFolder` and publish it."""
    from .run import csv_bytes

    work = Path(tempfile.mkdtemp(prefix=".duckdb-", dir=folder.staging))
    try:
        run = run_duckdb(study, work, folder.staging / "scores.parquet")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, frame in (("results.csv", run.results), ("trajectory.csv", run.trajectory), ("ledger.csv", run.ledger),
                        ("exclusions-summary.csv", run.exclusions), ("data-quality-summary.csv", run.problems)):  # fmt: skip
        folder.write(name, csv_bytes(frame))
    manifest = {"engine": "duckdb", "memory_limit": MEMORY_LIMIT, "study": study.name, "matched": int(run.matched),
                "outputs": ["results.csv", "trajectory.csv", "ledger.csv", "exclusions-summary.csv", "data-quality-summary.csv", "scores.parquet"]}  # fmt: skip
    folder.write("manifest.json", json.dumps(manifest, indent=2).encode() + b"\n")
    folder.publish()
    return run
