"""Wall time and peak memory of `impact run`, and of the analysis stage alone.

Run with `make bench`. Part 1 runs `impact run` on the demo study and on a generated large study
as separate processes (so import time counts, as it does for a user) and reads each process's
own peak resident memory from os.wait4. Part 2 times the rendering of the demo's
two reports (context and PDF separately). Part 3 times `pipeline.analyze.analyze` alone for the
demo's 20 variables at about 1,000 and 100,000 pairs (data simulated, validated and scored
first, untimed); its memory is the peak of Python and numpy allocations during the stage
(tracemalloc, measured in a second, separate call because tracing slows Python code).
Not a test: numbers vary by machine, and nothing here asserts on time.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMPACT = Path(sys.executable).parent / "impact"


def measure(args: list[str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MiB) of that process alone."""
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed: {process.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        large = scratch / "study-10000"
        subprocess.run([str(IMPACT), "demo", str(large), "--participants", "10000", "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
        cases = [
            ("demo (150 enrolled), with PDF", [str(IMPACT), "run", str(REPO / "surveys" / "demo-pilot"), "--out", str(scratch / "o1")]),
            ("demo, tables only (--no-pdf)", [str(IMPACT), "run", str(REPO / "surveys" / "demo-pilot"), "--out", str(scratch / "o2"), "--no-pdf"]),
            ("3-wave demo, with PDF", [str(IMPACT), "run", str(REPO / "surveys" / "demo-followup"), "--out", str(scratch / "o5")]),
            ("3-wave demo, tables only", [str(IMPACT), "run", str(REPO / "surveys" / "demo-followup"), "--out", str(scratch / "o6"), "--no-pdf"]),
            ("10,000 enrolled, with PDF", [str(IMPACT), "run", str(large), "--out", str(scratch / "o3")]),
            ("10,000 enrolled, tables only", [str(IMPACT), "run", str(large), "--out", str(scratch / "o4"), "--no-pdf"]),
        ]
        print(f"{'case':<34} {'wall (s)':>9} {'peak RSS (MiB)':>15}")
        print("-" * 60)
        for label, args in cases:
            seconds, mebibytes = measure(args)
            print(f"{label:<34} {seconds:>9.2f} {mebibytes:>15.0f}")


def analysis_stage(pairs: int) -> tuple[int, float, float]:
    """(matched pairs, seconds, peak MiB) of the analysis stage for a simulated demo study."""
    from pipeline.analyze import analyze
    from pipeline.run import run_study
    from pipeline.simulate import FOLLOW_UP_RATE, write_demo_study
    from pipeline.study import load_study

    with tempfile.TemporaryDirectory() as scratch:
        folder = write_demo_study(Path(scratch) / "study", participants=round(pairs / FOLLOW_UP_RATE), seed=7)
        study = load_study(folder)
        run = run_study(study)  # ingest, validate, score (and one analysis, untimed)
    responses = {w.wave: w.responses for w in run.waves}
    start = time.perf_counter()
    analysis = analyze(run.scores, study, responses=responses)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    analyze(run.scores, study, responses=responses)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return int(analysis.results["n_pairs"].max()), seconds, peak


def main_analysis() -> None:
    print(f"\n{'analysis stage alone (20 variables)':<40} {'pairs':>8} {'wall (s)':>9} {'peak (MiB)':>11}")
    print("-" * 71)
    for target in (1_000, 100_000):
        pairs, seconds, peak = analysis_stage(target)
        print(f"{f'about {target:,} pairs':<40} {pairs:>8,} {seconds:>9.2f} {peak:>11.0f}")


def main_rendering() -> None:
    """Render time of each report of the demo study, in one process after the run (untimed)."""
    from pypdf import PdfReader

    from pipeline import report
    from pipeline.run import manifest, run_study
    from pipeline.study import load_study

    run = run_study(load_study(REPO / "surveys" / "demo-pilot"))
    provenance = manifest(run)
    print(f"\n{'rendering the demo reports':<40} {'context (s)':>12} {'PDF (s)':>9} {'pages':>6}")
    print("-" * 71)
    for label, build, template in [
        ("impact-report.pdf", report.report_context, "impact-report.html.j2"),
        ("technical-report.pdf", report.technical_context, "technical-report.html.j2"),
    ]:
        start = time.perf_counter()
        html = report.render_html(build(run, provenance), template)
        context_seconds = time.perf_counter() - start
        start = time.perf_counter()
        pdf = report.html_to_pdf(html)
        pdf_seconds = time.perf_counter() - start
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        print(f"{label:<40} {context_seconds:>12.2f} {pdf_seconds:>9.2f} {pages:>6}")


if __name__ == "__main__":
    main()
    main_rendering()
    main_analysis()
