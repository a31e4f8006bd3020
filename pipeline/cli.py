"""The ``impact`` command line: the edge where arguments, files and messages meet the pipeline.

Problems with a user's files end as one line on standard error and exit status 2, never as a
traceback; an unexpected internal error ends with status 3 and a hint to re-run with ``--debug``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from string import Template

from . import __version__
from .errors import MESSAGE_LIMIT, PipelineError, one_line

REPORTS_DIR = Path("reports")


def _headline(study, variables: int, matched: int, improved: int, engine_note: str = "") -> str:
    """The run's first summary line: variables, matched participants, significant improvements."""
    return (
        f"{study.name}: {variables} variables, {matched} participants at {study.baseline} and {study.primary}, "
        f"{improved} significantly improved ({study.config.analysis.correction}, alpha {study.config.analysis.alpha}{engine_note})"
    )


def _wave_line(wave: str, read: int, accepted: int, excluded: int, reasons) -> str:
    """One wave's rows read, accepted and excluded, with the count of each exclusion reason."""
    why = ", ".join(f"{reason} {count}" for reason, count in reasons)
    return f"{wave}: {read} rows read, {accepted} accepted, {excluded} excluded{f' ({why})' if why else ''}"


def _report_duckdb(run, out_dir: Path) -> int:
    """The summary lines of an out-of-core run (``engine: duckdb``)."""
    study = run.study
    improved = int((run.results["outcome"] == "improved").sum())
    print(_headline(study, len(run.results), run.matched, improved, "; engine duckdb"))
    for row in run.ledger.itertuples():
        reasons = run.exclusions[run.exclusions["wave"] == row.wave]
        print(_wave_line(row.wave, row.rows_read, row.rows_accepted, row.rows_excluded, zip(reasons["reason"], reasons["rows"])))
    if len(run.problems):
        print(f"note: {int(run.problems['cells'].sum())} cells read as missing, counted in data-quality-summary.csv")
    print(f"wrote {out_dir} (results.csv, trajectory.csv, ledger.csv, scores.parquet; no reports with engine: duckdb)")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .pdf import PdfRenderers

    # Forked before the analysis is imported, the PDF renderers load WeasyPrint while this
    # process reads and checks the study (pipeline.pdf).
    with PdfRenderers(0 if args.no_pdf else None) as renderers:
        return _run_study(args, renderers)


def _run_study(args: argparse.Namespace, renderers) -> int:
    from .outputs import OutputFolder
    from .engine_duckdb import engine_for, write_duckdb_run
    from .progress import Progress, choose_mode, run_stages
    from .run import run_study, write_run
    from .study import load_study
    from .validate import ID_NORMALISED

    study = load_study(Path(args.study_dir))
    out_dir = Path(args.out) if args.out else REPORTS_DIR / Path(args.study_dir).resolve().name
    progress = Progress(run_stages(len(study.wave_names), not args.no_pdf), sys.stderr, choose_mode(sys.stderr, study.export_bytes, args.quiet))
    with OutputFolder(out_dir, study.folder, study.input_files) as folder:  # checked and writable before any work
        if engine_for(study) == "duckdb":  # out of core: its own, narrower outputs (pipeline.engine_duckdb)
            run = write_duckdb_run(study, folder)
            return 0 if args.quiet else _report_duckdb(run, out_dir)
        try:
            run = run_study(study, progress=progress)
            written = write_run(run, folder, pdf=not args.no_pdf, progress=progress, renderers=renderers)
        finally:
            progress.close()
    if args.quiet:
        return 0
    improved = int((run.results["outcome"] == "improved").sum())
    flow = run.flow
    print(_headline(study, len(run.results), flow["matched"], improved))
    for wave in run.waves:
        reasons = wave.exclusions["reason"].value_counts()
        print(_wave_line(wave.wave, wave.rows_read, wave.rows_accepted, wave.rows_excluded, reasons.items()))
    if len(run.problems):
        normalised = int((run.problems["problem"] == ID_NORMALISED).sum())
        cells = len(run.problems) - normalised
        if cells:
            print(f"note: {cells} cells read as missing are listed in data-quality.csv")
        if normalised:
            print(f"note: {normalised} ids were normalised (Unicode NFC, invisible characters removed); listed in data-quality.csv")
    baseline_only = flow[f"{study.baseline}_only"]
    without_baseline = sum(flow[f"{wave}_only"] for wave in study.later_waves)
    if flow["matched"] == 0:
        print(f"warning: no participant id appears in both {study.baseline} and {study.primary}; check that '{study.id_column}' holds the same ids in both files")
    elif baseline_only or without_baseline:
        typo_hint = "; ids seen without a baseline may be typos (or differ in case: see data.id_case)" if without_baseline else ""
        print(
            f"note: {baseline_only} participants answered at baseline only, {without_baseline} answers came from people with no "
            f"baseline (unmatched.csv){typo_hint}"
        )
    for path in written:
        print(f"wrote {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .simulate import TRIAL_PARTICIPANTS, TRIAL_WAVES, write_demo_study

    target = Path(args.out_dir)
    if target.exists() and not target.is_dir():
        raise PipelineError(f"{target}: exists and is not a folder; give a new or empty folder for the demo study")
    if target.is_dir() and any(target.iterdir()) and not args.force:
        raise PipelineError(f"{target}: the folder is not empty; give a new or empty folder, or pass --force to overwrite its study files")
    participants = args.participants or (TRIAL_PARTICIPANTS if args.groups else 150)
    waves = args.waves or (TRIAL_WAVES if args.groups else 2)
    folder = write_demo_study(
        target, participants=participants, seed=args.seed, export_format=args.format, waves=waves, groups=args.groups
    )
    if args.groups:
        print(f"wrote demo trial with {participants} participants randomised to program and waitlist ({args.format} export, {waves} waves) to {folder}")
    else:
        shown = f", {waves} waves" if waves != 2 else ""
        print(f"wrote demo study with {participants} participants ({args.format} export{shown}) to {folder}")
    return 0


def _cmd_field(args: argparse.Namespace) -> int:
    import csv
    import io
    from datetime import datetime, timezone

    from .fielding import build_redcap, build_xlsform
    from .outputs import write_atomic
    from .study import load_study

    study = load_study(Path(args.study_dir))
    out_dir = Path(args.out) if args.out else REPORTS_DIR / Path(args.study_dir).resolve().name / "fielding" / args.format
    if args.format == "redcap":
        fielded = build_redcap(study)
    else:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        moment = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
        fielded = build_xlsform(study, version=moment.strftime("%Y%m%d") + "01", required=args.required)
    names = [*fielded.tables, *fielded.workbooks, *fielded.texts]
    if out_dir.is_dir() and not out_dir.is_symlink():
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in names)
        if foreign:
            raise PipelineError(
                f"--out {str(out_dir)[:120]}: holds {foreign[0][:40]!r}, which `impact field` does not write (an export?); "
                "field into a new or empty folder, or one holding only an earlier fielding's files"
            )
    _field_folder_check(out_dir, study)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in fielded.tables.items():
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        written.append(write_atomic(buffer.getvalue().encode("utf-8"), out_dir / name))
    for name, sheets in fielded.workbooks.items():
        written.append(write_atomic(_xlsx_bytes(sheets), out_dir / name))
    for name, text in fielded.texts.items():
        written.append(write_atomic(text.encode("utf-8"), out_dir / name))
    print(f"{study.name}: fielded {len(study.instruments)} instruments over {len(study.wave_names)} waves as {args.format}")
    for note in fielded.wording:
        print(f"wording: {note}")
    for note in fielded.notes:
        print(f"note: {note}")
    for path in written:
        print(f"wrote {path}")
    return 0


def _field_folder_check(out_dir: Path, study) -> None:
    """An existing output folder of ``impact field``: never the study folder, inside it, around it or around an input."""
    from .outputs import check_output_folder

    try:
        check_output_folder(out_dir, study.folder, study.input_files)
    except PipelineError as exc:
        if "which a run does not write" not in str(exc):  # the earlier fielding's own files were checked above
            raise


def _xlsx_bytes(sheets: dict[str, list[list[str]]]) -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cmd_instruments_check(args: argparse.Namespace) -> int:
    from .instrument_check import check_files, files_to_check

    files = files_to_check([Path(path) for path in args.paths])
    findings, loaded = check_files(files, strict=args.strict)
    for finding in findings:
        print(finding)
    errors = sum(finding.severity == "error" for finding in findings)
    warnings = len(findings) - errors
    print(f"checked {len(files)} instrument file(s), {loaded} loaded: {errors} error(s), {warnings} warning(s)")
    return 2 if errors else 0


def _cmd_instruments_new(args: argparse.Namespace) -> int:
    from .instrument_check import display_path
    from .instruments import ID_PATTERN, LIBRARY_DIR
    from .report import TEMPLATES_DIR

    if not re.match(ID_PATTERN, args.id):
        raise PipelineError(f"'{args.id}' is not a valid id: start with a letter, then letters, digits or underscores only")
    folder = Path(args.dir) if args.dir else LIBRARY_DIR
    path = folder / f"{args.id}.yaml"
    if path.exists() and not args.force:
        raise PipelineError(f"{path}: already exists; choose another id or pass --force to overwrite it")
    template = Template((TEMPLATES_DIR / "instrument-template.yaml").read_text(encoding="utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    shown = display_path(path)
    path.write_text(template.substitute(id=args.id, path=shown), encoding="utf-8")
    print(f"wrote {shown}: fill in every TODO, then run: impact instruments check --strict {shown}")
    return 0


def _cmd_instruments_catalogue(args: argparse.Namespace) -> int:
    from .catalogue import render_catalogue_html
    from .instrument_check import files_to_check
    from .instruments import load_instrument
    from .report import html_to_pdf, report_date
    from .outputs import write_atomic

    codebook = None
    if args.study:
        from .catalogue import study_codebook
        from .study import load_study

        study = load_study(Path(args.study))
        instruments, codebook = list(study.instruments), study_codebook(study)  # the study's order, its own instruments
        default = REPORTS_DIR / Path(args.study).resolve().name / "fielding" / "codebook"
    else:
        instruments = sorted((load_instrument(path) for path in files_to_check([Path(p) for p in args.paths])), key=lambda i: i.id)
        default = REPORTS_DIR / "catalogue"
    out_dir = Path(args.out) if args.out else default
    if args.study and out_dir.resolve().is_relative_to(Path(args.study).resolve()):
        raise PipelineError(f"--out {str(out_dir)[:120]}: lies inside the study folder; outputs never go beside raw exports: give a folder outside it")
    out_dir.mkdir(parents=True, exist_ok=True)
    html = render_catalogue_html(instruments, report_date(), include_wording=args.include_wording, study=codebook)
    written = [write_atomic(html.encode("utf-8"), out_dir / "instrument-catalogue.html")]
    if not args.no_pdf:
        written.append(write_atomic(html_to_pdf(html), out_dir / "instrument-catalogue.pdf"))
    print(f"catalogue of {len(instruments)} instruments")
    for path in written:
        print(f"wrote {path}")
    return 0


def _add_instrument_commands(commands) -> None:
    group = commands.add_parser("instruments", help="check, create and catalogue instrument definitions")
    sub = group.add_subparsers(dest="instruments_command", required=True, metavar="ACTION")

    check = sub.add_parser("check", help="validate definitions: schema, references, bands, norms, worked examples")
    check.add_argument("paths", nargs="*", metavar="PATH", help="instrument files, folders or study folders (the library is always included)")
    check.add_argument("--strict", action="store_true", help="treat incompleteness warnings as errors (as `make test` does)")
    check.set_defaults(handler=_cmd_instruments_check)

    new = sub.add_parser("new", help="write a commented template for a new instrument")
    new.add_argument("id", metavar="ID", help="the instrument id, also its file name (letters, digits, underscores)")
    new.add_argument("--dir", metavar="DIR", help="folder to write into (default: the library, instruments/)")
    new.add_argument("--force", action="store_true", help="overwrite an existing file")
    new.set_defaults(handler=_cmd_instruments_new)

    catalogue = sub.add_parser("catalogue", help="write the codebook of the library as HTML and PDF")
    catalogue.add_argument("paths", nargs="*", metavar="PATH", help="extra instrument files, folders or study folders")
    catalogue.add_argument("--out", metavar="DIR", help="output folder (default: reports/catalogue/; with --study reports/<study>/fielding/codebook/)")
    catalogue.add_argument("--study", metavar="DIR", help="the codebook of one study for its field team: its instruments, licence notes, scoring, reversed items")
    catalogue.add_argument("--no-pdf", action="store_true", help="write the HTML only")
    catalogue.add_argument(
        "--include-wording", action="store_true", help="print item wording from local overlays (licensed, local use only: never share the output)"
    )
    catalogue.set_defaults(handler=_cmd_instruments_catalogue)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="impact", description="Score surveys across waves, test change, write impact reports.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a full traceback on internal errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a study folder: scores, paired tests and the impact report")
    run.add_argument("study_dir", metavar="STUDY_DIR", help="folder holding study.yaml")
    run.add_argument("--out", metavar="DIR", help="output folder (default: reports/<study folder name>/)")
    run.add_argument("--no-pdf", action="store_true", help="write the tables only, not the PDF report")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors (no progress, no summary)")
    run.set_defaults(handler=_cmd_run)

    demo = commands.add_parser("demo", help="generate the simulated demo study (seeded, any size)")
    demo.add_argument("out_dir", metavar="OUT_DIR", help="folder to write study.yaml and the waves' exports into")
    demo.add_argument("--participants", type=_positive_int, metavar="N", help="participants enrolled (default 150; 300 with --groups)")
    demo.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    demo.add_argument(
        "--format", choices=["csv", "excel", "spss", "qualtrics", "redcap", "odk"], default="csv",
        help="export format of the waves (default csv); every format holds the same answers",
    )  # fmt: skip
    demo.add_argument(
        "--waves", type=_wave_count, metavar="N",
        help="waves from 2 to 12 (default 2: pre, post; 3 with --groups); 3 adds a follow-up 6 months after, more add one every 6 months",
    )  # fmt: skip
    demo.add_argument(
        "--groups", action="store_true",
        help="a waitlist-controlled trial instead: participants randomised 1:1 to program and waitlist (baseline column arm), "
        "program effects on 10 of the 20 variables, a shared drift on all 20 in both groups",
    )  # fmt: skip
    demo.add_argument("--force", action="store_true", help="write into a folder that is not empty, replacing its study.yaml and exports")
    demo.set_defaults(handler=_cmd_demo)

    field = commands.add_parser("field", help="write the survey that collects a study's data: a REDCap data dictionary or XLSForm workbooks")
    field.add_argument("study_dir", metavar="STUDY_DIR", help="folder holding study.yaml")
    field.add_argument("--format", choices=["redcap", "xlsform"], required=True, help="redcap (data dictionary, events, mapping) or xlsform (ODK Central, KoboToolbox)")
    field.add_argument("--out", metavar="DIR", help="output folder (default: reports/<study folder name>/fielding/<format>/)")
    field.add_argument("--required", action="store_true", help="XLSForm: make every item required (default: items may be skipped, as scoring allows)")
    field.set_defaults(handler=_cmd_field)

    _add_instrument_commands(commands)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a whole number of at least 1")
    return value


def _wave_count(text: str) -> int:
    from .simulate import MAX_WAVES, MIN_WAVES

    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not MIN_WAVES <= value <= MAX_WAVES:
        raise argparse.ArgumentTypeError(f"must be a whole number from {MIN_WAVES} to {MAX_WAVES}")
    return value


def check_source_date_epoch() -> None:
    """Refuse a malformed ``SOURCE_DATE_EPOCH`` first: libraries read it at import (numpy's f2py) and would crash."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and not re.fullmatch(r"\d{1,12}", epoch.strip()):
        raise PipelineError(
            f"SOURCE_DATE_EPOCH={epoch[:30]!r} is not a date: set it to whole seconds since 1970-01-01 UTC (e.g. `date +%s`), or unset it"
        )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_source_date_epoch()
        return args.handler(args)
    except PipelineError as exc:
        print(f"error: {one_line(str(exc), MESSAGE_LIMIT - len('error: '))}", file=sys.stderr)
        return 2
    except MemoryError:  # a bound we missed: still one line, and the user's input is the likely cause
        print("error: out of memory reading the study's files; check that the exports are the files you meant (see README, What the pipeline guarantees)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python docs' recipe: no second error at exit
        return 141
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        from .outputs import DISK_FULL

        if isinstance(exc, OSError) and exc.errno in DISK_FULL:  # e.g. a library's temporary file on a full disk
            print("error: no space left (disk, quota or file-size limit full) while working; free space and run again (an earlier run's outputs are untouched)", file=sys.stderr)
            return 2
        if args.debug:
            raise
        print(f"internal error: {type(exc).__name__}: {one_line(str(exc), 160)} (re-run with --debug for details, and please report it)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
