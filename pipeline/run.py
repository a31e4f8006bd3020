"""Run a whole study: the stages in order, then the output files (the only writing edge).

``run_study`` is the pipeline as data in, data out; ``write_outputs`` writes what it returns.
"""

from __future__ import annotations

import io
import json
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .analyze import analyze
from .errors import PipelineError, shorten
from .ingest import read_wave
from .outputs import OutputFolder
from .pdf import PdfRenderers
from .privacy import load_key, redcap_identifier_fields
from .progress import Progress
from .provenance import REPOSITORY, manifest
from .score import score_responses
from .study import GROUP_ROLES, STUDY_FILE, Study, WaveSource
from .subgroups import SUBGROUP_COLUMNS, subgroup_results
from .validate import EXCLUSION_COLUMNS, PROBLEM_COLUMNS, ValidatedWave, no_groups, validate_wave

LEDGER_COLUMNS = ["wave", "file", "sha256", "rows_read", "rows_accepted", "rows_excluded"]


@dataclass(frozen=True)
class StudyRun:
    """Everything one run computed, ready to be written or rendered."""

    study: Study
    waves: tuple[ValidatedWave, ...]
    scores: pd.DataFrame  # long: id column, wave, one column per scale
    results: pd.DataFrame  # one row per scale: baseline -> primary (see pipeline.analyze.RESULT_COLUMNS)
    reliable_change: pd.DataFrame  # one row per paired participant per scale (baseline -> primary)
    attrition: pd.DataFrame  # one row per scale and later wave: seen at that wave against not, at baseline
    attributes: pd.DataFrame = field(default_factory=pd.DataFrame)  # baseline: id column + one text column per subgroup
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per scale and contrast (pipeline.analyze.CHANGE_COLUMNS)
    trajectory: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per scale and wave
    paired: pd.DataFrame = field(default_factory=pd.DataFrame)  # baseline and primary scores of every pair, per scale, no ids
    # Two-group study: each participant's baseline group ("program"/"comparison"), indexed by participant id; else empty.
    groups: pd.Series = field(default_factory=no_groups)
    # Two-group study (pipeline.between_groups): program against comparison per scale and later wave,
    # attrition by group per later wave, and each group's own baseline -> primary results; else empty.
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    retention: pd.DataFrame = field(default_factory=pd.DataFrame)
    group_results: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def two_groups(self) -> bool:
        """Whether the study compares a program group with a comparison group (``groups:``)."""
        return self.study.groups is not None

    @property
    def ledger(self) -> pd.DataFrame:
        """Rows read, accepted and excluded per wave; the run refuses to go on if they do not balance."""
        return pd.DataFrame(
            [[w.wave, w.file, w.sha256, w.rows_read, w.rows_accepted, w.rows_excluded] for w in self.waves],
            columns=LEDGER_COLUMNS,
        )

    @property
    def exclusions(self) -> pd.DataFrame:
        return pd.concat([w.exclusions for w in self.waves], ignore_index=True).reindex(columns=EXCLUSION_COLUMNS)

    @property
    def problems(self) -> pd.DataFrame:
        return pd.concat([w.problems for w in self.waves], ignore_index=True).reindex(columns=PROBLEM_COLUMNS)

    @cached_property
    def accepted_ids(self) -> dict[str, set[str]]:
        """Each wave's accepted participant ids."""
        return {w.wave: set(w.responses[self.study.id_column]) for w in self.waves}

    @cached_property
    def not_followed(self) -> dict[str, set[str]]:
        """Participants who cannot be followed, by wave: at the baseline, those accepted there and at
        no later wave; at each later wave, those accepted there but not at baseline."""
        ids, baseline = self.accepted_ids, self.study.baseline
        later = self.study.later_waves
        return {baseline: ids[baseline] - set().union(*(ids[wave] for wave in later))} | {
            wave: ids[wave] - ids[baseline] for wave in later
        }

    @property
    def unmatched(self) -> pd.DataFrame:
        """``not_followed`` as a table (for the researcher; never in the funder's PDF)."""
        rows = [(wave, participant) for wave, participants in self.not_followed.items() for participant in sorted(participants)]
        return pd.DataFrame(rows, columns=["wave", "participant"])

    @cached_property
    def flow(self) -> dict[str, int]:
        """Participant counts for the flow diagram, from the ledger, keyed by wave name: ``rows_<wave>``
        (a REDCap file's rows of other events not counted), ``excluded_<wave>_<reason>``, ``valid_<wave>``
        (accepted ids); ``matched``, those accepted at baseline and at the primary endpoint (the
        confirmatory pairs); ``matched_<wave>`` the same for every other later wave;
        ``<baseline>_only``, accepted at baseline and at no later wave; ``<wave>_only`` per later
        wave, accepted there but not at baseline.

        A two-group study adds, per group ``<role>`` (program, comparison; a participant's group is
        their baseline group): ``allocated_<role>`` (accepted at baseline in that group);
        ``valid_<wave>_<role>`` for every wave (accepted there and allocated to that group: at the
        baseline the allocated, at a later wave the same people as ``matched_<wave>_<role>``, since
        people not seen at baseline have no group); ``matched_<wave>_<role>`` for every later wave,
        the primary endpoint included; ``<baseline>_only_<role>``."""
        ids, baseline, primary = self.accepted_ids, self.study.baseline, self.study.primary
        later = self.study.later_waves
        counts = {}
        for validated in self.waves:
            wave = validated.wave
            reasons = validated.exclusions["reason"].value_counts()
            counts[f"rows_{wave}"] = validated.rows_read - int(reasons.get("other_event", 0))
            for reason, count in reasons.items():
                if reason != "other_event":
                    counts[f"excluded_{wave}_{reason}"] = int(count)
        counts |= {f"valid_{wave}": len(ids[wave]) for wave in self.study.wave_names}
        counts["matched"] = len(ids[baseline] & ids[primary])
        counts |= {f"matched_{wave}": len(ids[baseline] & ids[wave]) for wave in later if wave != primary}
        counts |= {f"{wave}_only": len(participants) for wave, participants in self.not_followed.items()}
        if self.study.groups is not None:
            counts |= self.group_flow
        return counts

    @property
    def group_flow(self) -> dict[str, int]:
        """The per-group counts of ``flow`` (see there); empty for a one-group study."""
        if self.study.groups is None:
            return {}
        ids, baseline = self.accepted_ids, self.study.baseline
        members = {role: set(self.groups.index[self.groups == role]) for role in GROUP_ROLES}
        counts = {f"allocated_{role}": len(members[role]) for role in GROUP_ROLES}
        counts |= {f"valid_{wave}_{role}": len(ids[wave] & members[role]) for wave in self.study.wave_names for role in GROUP_ROLES}
        counts |= {f"matched_{wave}_{role}": len(ids[baseline] & ids[wave] & members[role]) for wave in self.study.later_waves for role in GROUP_ROLES}
        counts |= {f"{baseline}_only_{role}": len(self.not_followed[baseline] & members[role]) for role in GROUP_ROLES}
        return counts

    @cached_property
    def subgroup_results(self) -> pd.DataFrame:
        """Exploratory paired results per value of each ``subgroups`` column and variable, not yet
        suppressed for publication (see :mod:`pipeline.subgroups`); empty when the study has none."""
        subgroups = self.study.config.subgroups
        if not subgroups:
            return pd.DataFrame(columns=SUBGROUP_COLUMNS)
        waves, id_column = (self.study.baseline, self.study.primary), self.study.id_column
        if not self.two_groups:
            return subgroup_results(self.scores, self.results, self.attributes, id_column, subgroups, waves)
        tables = []  # a two-group study: within each group, the group's own change broken down
        for role in GROUP_ROLES:
            members = self.groups.index[self.groups == role]
            scores = self.scores[self.scores[id_column].isin(members)]
            attributes = self.attributes[self.attributes[id_column].isin(members)]
            table = subgroup_results(scores, self.results, attributes, id_column, subgroups, waves)
            table.insert(0, "group", role)
            tables.append(table)
        return pd.concat(tables, ignore_index=True)

    @property
    def scores_table(self) -> pd.DataFrame:
        """``scores.csv``: the long scores, with each participant's baseline ``group`` after ``wave``
        in a two-group study (participants without one, seen only later, have it blank)."""
        if not self.two_groups:
            return self.scores
        table = self.scores.copy()
        table.insert(2, "group", table[self.study.id_column].map(self.groups).fillna(""))
        return table


def check_ledger_balances(wave: ValidatedWave) -> None:
    """Stop if a row went missing: every row read must be accepted or excluded."""
    if wave.rows_read != wave.rows_accepted + wave.rows_excluded:
        raise PipelineError(
            f"{wave.file}: {wave.rows_read} rows read but {wave.rows_accepted} accepted + "
            f"{wave.rows_excluded} excluded; this is a bug in the pipeline, please report it"
        )


def run_study(study: Study, pseudonym_key: bytes | None = None, progress: Progress | None = None) -> StudyRun:
    """Ingest, validate, score and analyze every wave of ``study``.

    ``pseudonym_key`` is needed when the study sets ``data.pseudonymise`` (see ``study_key``);
    ``progress`` is told each stage as it begins (:mod:`pipeline.progress`).
    """
    progress = progress or Progress(0)
    options = study.config.data
    if options.pseudonymise is not None and pseudonym_key is None:
        pseudonym_key = study_key(study)
    waves = []
    allocated = None  # participant id -> group, from the baseline (two-group studies)
    for wave in study.wave_names:
        source = study.wave_sources[wave]
        progress.stage(f"reading {source.file}")
        export = read_wave(wave, study.wave_files[wave], source)
        progress.stage(f"checking {wave}: {len(export.table):,} rows")
        withdrawn = set().union(*(w.no_consent for w in waves))
        identifiers = [*study.config.identifiers, *dictionary_identifiers(study, wave)]
        validated = validate_wave(
            export, study.instruments, study.id_column, source, options, identifiers, pseudonym_key, withdrawn,
            subgroups=study.config.subgroups, baseline=wave == study.baseline, groups=study.groups, allocated=allocated,
        )
        check_ledger_balances(validated)
        waves.append(replace(validated, file=source.file))  # as study.yaml names it: outputs do not depend on the path typed
        if wave == study.baseline and study.groups is not None:
            allocated = allocation(validated, study.id_column)
    check_waves_follow_baseline(study, waves)
    run_groups = allocated if allocated is not None else no_groups()
    scored = []
    progress.stage("scoring")
    for validated in waves:
        frame = score_responses(validated.responses, study.instruments, study.id_column)
        frame.insert(1, "wave", validated.wave)
        scored.append(frame)
    scores = pd.concat(scored, ignore_index=True)
    progress.stage("analysing")
    analysis = analyze(scores, study, responses={w.wave: w.responses for w in waves}, groups=run_groups)
    return StudyRun(
        study=study,
        waves=tuple(waves),
        scores=scores,
        results=analysis.results,
        reliable_change=analysis.reliable_change,
        attrition=analysis.attrition,
        attributes=waves[0].attributes,
        changes=analysis.changes,
        trajectory=analysis.trajectory,
        paired=analysis.paired,
        groups=run_groups,
        comparison=analysis.comparison,
        retention=analysis.retention,
        group_results=analysis.group_results,
    )


def allocation(baseline: ValidatedWave, id_column: str) -> pd.Series:
    """Each baseline participant's group: a Series named "group", indexed by participant id (as in
    the responses, so pseudonymised when ids are)."""
    index = pd.Index(baseline.responses[id_column].to_numpy(), name=id_column)
    roles = baseline.group.loc[baseline.responses.index].to_numpy(dtype=object)
    return pd.Series(roles, index=index, name="group", dtype=object)


def check_waves_follow_baseline(study: Study, waves: list[ValidatedWave]) -> None:
    """Stop when a later wave's accepted ids and the baseline's are both there but share none: the
    file is of another study, or the ids were written differently (a wave with no usable rows is
    reported, not refused)."""
    baseline = set(waves[0].responses[study.id_column])
    for validated in waves[1:]:
        later = set(validated.responses[study.id_column])
        if baseline and later and not baseline & later:
            raise PipelineError(
                f"{study.folder / STUDY_FILE}: waves.{validated.wave}: no participant id of {validated.file} is in the "
                f"baseline's ({waves[0].file}); check the file is this study's and '{study.id_column}' holds the same ids (data.id_case)"
            )


def dictionary_identifiers(study: Study, wave: str) -> list[str]:
    """The fields a wave's REDCap data dictionary (``waves.<wave>.dictionary``) flags ``Identifier? = y``."""
    source = study.wave_sources[wave]
    if not source.dictionary:
        return []
    path = study.folder / source.dictionary
    table = read_wave(wave, path, WaveSource(file=source.dictionary)).table
    try:
        return redcap_identifier_fields(table)
    except ValueError as exc:
        raise PipelineError(f"{path}: not a REDCap data dictionary: {exc}; download it from REDCap's Project Setup (Data Dictionary, CSV)") from None


def study_key(study: Study) -> bytes:
    """The study's pseudonymisation key, from its environment variable or key file (never from the repository)."""
    settings = study.config.data.pseudonymise
    return load_key(settings.key_env, settings.key_file, REPOSITORY)


def write_outputs(run: StudyRun, out_dir: Path, pdf: bool = True) -> list[Path]:
    """Write the run's tables (and, unless ``pdf`` is false, both reports as PDF and HTML) into
    ``out_dir``, which must be a folder the run owns (:mod:`pipeline.outputs`): all files or none."""
    with OutputFolder(out_dir, run.study.folder, run.study.input_files) as folder:
        return write_run(run, folder, pdf=pdf)


def write_run(run: StudyRun, folder: OutputFolder, pdf: bool = True, progress: Progress | None = None, renderers=None) -> list[Path]:
    """Write every output of ``run`` into a claimed ``folder``'s staging area, then publish it whole
    (``progress`` is told each stage as it begins).

    With ``pdf``, the reports' HTML is made first and their PDFs rendered in ``renderers`` (a
    :class:`pipeline.pdf.PdfRenderers`, started by the caller before the run so that WeasyPrint is
    loaded by then; made here when not given) while the tables are written.
    """
    progress = progress or Progress(0)
    progress.stage("writing the tables")
    provenance = manifest(run)
    with ExitStack() as stack:
        if pdf:
            from .report import start_reports  # charts and templates: only loaded when needed

            if renderers is None:
                renderers = stack.enter_context(PdfRenderers())
            reports = start_reports(run, renderers, provenance)
        tables = {
            "scores.csv": run.scores_table,
            "results.csv": run.results,
            **({"comparison.csv": run.comparison, "retention.csv": run.retention} if run.two_groups else {}),
            "changes.csv": run.changes,
            "trajectory.csv": run.trajectory,
            "reliable_change.csv": run.reliable_change,
            "attrition.csv": run.attrition,
            "ledger.csv": run.ledger,
            "exclusions.csv": run.exclusions,
            "data-quality.csv": run.problems,
            "unmatched.csv": run.unmatched,
            **({"subgroups.csv": run.subgroup_results} if not run.subgroup_results.empty else {}),
        }
        written = [folder.write(*table_file(name, frame)) for name, frame in tables.items()]
        written.append(folder.write("tables.xlsx", xlsx_bytes(publication_tables(run))))
        written.append(folder.write("manifest.json", json.dumps(provenance, indent=2).encode() + b"\n"))
        if pdf:
            progress.stage("rendering the reports")
            for name, content in reports().items():
                written.append(folder.write(name, content))
    folder.publish()
    return written


#: Per-participant tables longer than this are written as Parquet (``scores.parquet``,
#: ``reliable_change.parquet``) instead of CSV: a spreadsheet opens at most 1,048,576 rows, and
#: a columnar file is a tenth of the size and written in a fraction of the time.
PARQUET_MIN_ROWS = 1_000_000
PER_PARTICIPANT_TABLES = ("scores.csv", "reliable_change.csv")


def table_file(name: str, frame: pd.DataFrame) -> tuple[str, bytes]:
    """The file name and bytes of one table: CSV (:func:`csv_bytes`), or Parquet for a
    per-participant table of more than :data:`PARQUET_MIN_ROWS` rows (:func:`parquet_bytes`)."""
    if name in PER_PARTICIPANT_TABLES and len(frame) > PARQUET_MIN_ROWS:
        return name.removesuffix(".csv") + ".parquet", parquet_bytes(frame)
    return name, csv_bytes(frame)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as a zstd-compressed Parquet file, written by DuckDB (pyarrow is not a dependency),
    rows in order.

    DuckDB writes files, not bytes, so the file passes through the system's temporary folder; a
    temporary folder that is full, missing or unwritable stops the run with one line naming it
    (DuckDB's own I/O errors are not ``OSError``)."""
    import tempfile

    import duckdb

    try:
        with tempfile.TemporaryDirectory() as scratch:
            target = Path(scratch) / "table.parquet"
            with duckdb.connect() as con:
                con.execute("SET preserve_insertion_order = true")
                con.register("frame", frame)
                con.execute("COPY frame TO '" + str(target).replace("'", "''") + "' (FORMAT parquet, COMPRESSION zstd)")
            return target.read_bytes()
    except (OSError, duckdb.Error) as error:
        # The reason, but only from an I/O error: another DuckDB error could quote a cell (an id).
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        if isinstance(error, duckdb.IOException):
            reason = shorten(str(error).splitlines()[0], 120) if str(error) else reason
        raise PipelineError(
            f"could not write a Parquet table through the temporary folder {tempfile.gettempdir()} ({reason}): "
            "free space there, or set TMPDIR to a folder with room"
        ) from None


def publication_tables(run: StudyRun) -> dict[str, pd.DataFrame]:
    """The tables of tables.xlsx (for researchers, unsuppressed like the CSV files; no participant ids)."""
    flow = pd.DataFrame(list(run.flow.items()), columns=["count", "n"])
    reasons = run.exclusions.groupby(["wave", "reason"]).size().rename("rows").reset_index()
    categories = (
        run.reliable_change.groupby(["variable", "category"]).size().unstack(fill_value=0).reset_index()
        if not run.reliable_change.empty
        else pd.DataFrame(columns=["variable"])
    )
    tables = {
        "results": run.results,
        **({"comparison": run.comparison, "retention": run.retention} if run.two_groups else {}),
        "changes": run.changes,
        "trajectory": run.trajectory,
        "reliable change": categories,
        "attrition": run.attrition,
        "participant flow": flow,
        "ledger": run.ledger,
        "exclusion reasons": reasons,
    }
    if not run.subgroup_results.empty:
        tables["subgroups"] = run.subgroup_results
    return tables


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """One sheet per table, text neutralised against formula injection and cut to Excel's cell limit, header row frozen."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            fit_excel_cells(neutralise_formulas(frame)).to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            sheet.freeze_panes = "A2"
            for column in sheet.columns:
                width = max(len(str(cell.value)) if cell.value is not None else 0 for cell in column[:200])
                sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 40)
        writer.book.properties.creator = "impact pipeline"
    return buffer.getvalue()


#: Excel's limit on the characters of one cell (Microsoft, "Excel specifications and limits").
EXCEL_CELL_LIMIT = 32_767


def fit_excel_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Text longer than an Excel cell holds, cut with a note saying how long it was (Excel would refuse or cut it silently)."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            text = frame[column]
            long = text.map(lambda cell: isinstance(cell, str) and len(cell) > EXCEL_CELL_LIMIT).astype(bool)
            if long.any():
                frame[column] = text.astype(object).where(~long, text[long].map(_cut_for_excel))
    return frame


def _cut_for_excel(cell: str) -> str:
    note = f" [cut: {len(cell):,} characters; the CSV file has the whole text]"
    return cell[: EXCEL_CELL_LIMIT - len(note)] + note


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells starting with ``= + - @`` with ``'`` so spreadsheets show, not run, them (OWASP CSV injection).

    ``frame`` itself when no cell needs it. A column of text only is judged once per distinct
    text (ids, variable names and categories repeat across a long table); a column mixing text
    with other values is judged cell by cell, as the value's text (a negative number in it too).
    """
    result = frame
    for column in frame.columns:
        series = frame[column]
        if not (series.dtype == object or pd.api.types.is_string_dtype(series)):
            continue
        if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
            codes, distinct = pd.factorize(series)
            text = pd.Series(distinct, dtype=object)
            # one more False at the end, which a missing cell's code (-1) picks
            risky = np.append(text.str.match(FORMULA_START).to_numpy(dtype=bool), False)[codes]
            prefixed = lambda: np.append(("'" + text).to_numpy(dtype=object), None)[codes]  # noqa: E731
        else:
            text = series.astype("string")
            risky = text.str.match(FORMULA_START).fillna(False).to_numpy(dtype=bool)
            prefixed = lambda: ("'" + text.astype(object)).to_numpy(dtype=object)  # noqa: E731
        if risky.any():
            cells = series.to_numpy(dtype=object).copy()
            cells[risky] = prefixed()[risky]
            result = frame.copy(deep=False) if result is frame else result
            result[column] = pd.Series(cells, index=frame.index, dtype=object)
    return result


#: The first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_START = r"^[=+\-@]"


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as UTF-8 CSV, text neutralised against formula injection."""
    return floats_as_csv_text(neutralise_formulas(frame)).to_csv(index=False, lineterminator="\n").encode("utf-8")


def floats_as_csv_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each float64 column as the text ``to_csv`` writes for it (numpy's shortest
    repr, blank for NaN), each distinct value formatted once: scores and changes take few distinct
    values, and formatting every float was most of the time of writing a large table. The CSV
    bytes are the same; a column holding -0.0 (which factorising would merge with 0.0) is
    formatted cell by cell."""
    columns = {}
    for column, series in frame.items():
        if series.dtype != np.float64:
            continue
        values = series.to_numpy()
        if np.any((values == 0) & np.signbit(values)):
            text = values.astype(str).astype(object)
        else:
            codes, distinct = pd.factorize(values)
            text = np.append(distinct.astype(str).astype(object), "")[codes]  # code -1 (NaN) picks the blank
        text[np.isnan(values)] = ""
        columns[column] = pd.Series(text, index=frame.index, dtype=object)
    if not columns:
        return frame
    result = frame.copy(deep=False)
    for column, text in columns.items():
        result[column] = text
    return result
