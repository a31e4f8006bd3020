"""Wall time and peak memory of `impact run`, beside the naive analyst's script. Not a test.

Run with `make bench` (`BENCH_FULL=1 make bench` adds 1,000,000 participants and the DuckDB
engine at 1,000,000 and 10,000,000). Prints one table. Every case runs as its own process, so
import time counts as it does for a user, and its peak resident memory is that process's own
(os.wait4). Each demo-size case is run three times and the fastest kept (the machine's noise
is larger than the differences at that size); large cases run once.

The naive script is ``../shared/anchors/naive_pipeline.py`` (pandas scoring, pingouin paired t
and Wilcoxon, statsmodels Holm/BH, a matplotlib forest plot, one jinja2 + WeasyPrint PDF). The
bench installs its packages into a venv of its own (``.bench/naive-venv``, made once; the
project's venv is never touched) and reports the ratio ours / naive; where the script or its
packages are not available the ratio is left out, with a line saying why.

Large studies are generated on the fly by ``impact demo --participants N`` (seeded), into a
temporary folder removed afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMPACT = Path(sys.executable).parent / "impact"
NAIVE_SCRIPT = Path(os.environ.get("NAIVE_SCRIPT", REPO.parent / "shared" / "anchors" / "naive_pipeline.py"))
NAIVE_VENV = REPO / ".bench" / "naive-venv"
NAIVE_PACKAGES = ["pingouin", "pandas", "statsmodels", "matplotlib", "jinja2", "weasyprint", "pyyaml"]
DEMO = REPO / "surveys" / "demo-pilot"
REPEATS = 3
FULL = os.environ.get("BENCH_FULL") == "1"


def measure(args: list[str], cwd: Path = REPO) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MiB) of that process alone."""
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed: {process.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def best_of(args: list[str], repeats: int = REPEATS, cwd: Path = REPO) -> tuple[float, float]:
    """The fastest of ``repeats`` runs (and its peak memory)."""
    return min(measure(args, cwd) for _ in range(repeats))


def naive_python() -> tuple[Path | None, str]:
    """The naive script's interpreter (its venv made on first use), or None and why not."""
    if not NAIVE_SCRIPT.exists():
        return None, f"naive script not found at {NAIVE_SCRIPT} (set NAIVE_SCRIPT=...)"
    python = NAIVE_VENV / "bin" / "python"
    if not python.exists():
        print(f"making {NAIVE_VENV.relative_to(REPO)} for the naive script (once) ...", file=sys.stderr)
        made = subprocess.run([sys.executable, "-m", "venv", str(NAIVE_VENV)], capture_output=True)
        if made.returncode == 0:
            made = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *NAIVE_PACKAGES],
                                  capture_output=True)
        if made.returncode != 0:
            return None, f"could not install the naive script's packages: {made.stderr.decode().strip().splitlines()[-1:]}"
    return python, ""


def generate(folder: Path, participants: int) -> Path:
    """A seeded demo study of ``participants`` enrolled, written into ``folder``."""
    subprocess.run([str(IMPACT), "demo", str(folder), "--participants", str(participants), "--seed", "1"],
                   check=True, stdout=subprocess.DEVNULL)
    return folder


def with_engine(study: Path, engine: str) -> Path:
    """The same study read by another engine (study.yaml's ``engine:``)."""
    path = study / "study.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + f"\nengine: {engine}\n", encoding="utf-8")
    return study


def main() -> None:
    rows: list[tuple[str, float, float, str]] = []
    notes: list[str] = []

    def row(label: str, measured: tuple[float, float], ratio: str = "") -> None:
        rows.append((label, *measured, ratio))
        print(f"  {label}: {measured[0]:.2f} s", file=sys.stderr)

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        run = [str(IMPACT), "run", str(DEMO), "--quiet"]
        ours_full = best_of([*run, "--out", str(scratch / "demo-full")])
        ours_tables = best_of([*run, "--out", str(scratch / "demo-tables"), "--no-pdf"])
        python, why = naive_python()
        if python is not None:
            naive = [str(python), str(NAIVE_SCRIPT), str(DEMO.relative_to(REPO))]
            naive_full = best_of([*naive, "--out", str(scratch / "naive-full")])
            naive_tables = best_of([*naive, "--out", str(scratch / "naive-tables"), "--no-pdf"])
            row("demo (150 enrolled), both PDFs", ours_full, f"{ours_full[0] / naive_full[0]:.2f}x naive")
            row("  naive script, one PDF", naive_full)
            row("demo, tables only", ours_tables, f"{ours_tables[0] / naive_tables[0]:.2f}x naive")
            row("  naive script, tables only", naive_tables)
        else:
            row("demo (150 enrolled), both PDFs", ours_full)
            row("demo, tables only", ours_tables)
            notes.append(f"no ratio: {why}")

        sizes = [10_000, 100_000] + ([1_000_000] if FULL else [])
        for size in sizes:
            study = generate(scratch / f"study-{size}", size)
            row(f"{size:,} enrolled, tables only", measure([str(IMPACT), "run", str(study), "--quiet", "--no-pdf", "--out", str(scratch / f"t{size}")]))
            row(f"{size:,} enrolled, both PDFs", measure([str(IMPACT), "run", str(study), "--quiet", "--out", str(scratch / f"f{size}")]))
            if size == 1_000_000:
                row(f"{size:,} enrolled, DuckDB engine", measure([str(IMPACT), "run", str(with_engine(study, "duckdb")), "--quiet", "--no-pdf",
                                                                   "--out", str(scratch / f"d{size}")]))
            subprocess.run(["rm", "-rf", str(study), str(scratch / f"t{size}"), str(scratch / f"f{size}"), str(scratch / f"d{size}")])
        if FULL:
            # The generator holds a study in memory (1M: about 6 GB), so 10M is 100,000 generated
            # participants tiled 100 times with new ids, streamed (benchmarks/duckdb_tile.py).
            seed = generate(scratch / "study-100000-seed", 100_000)
            study = scratch / "study-10000000"
            subprocess.run([sys.executable, str(Path(__file__).with_name("duckdb_tile.py")), str(seed), str(study), "100"], check=True)
            subprocess.run(["rm", "-rf", str(seed)])
            row("10,000,000 enrolled, DuckDB engine", measure([str(IMPACT), "run", str(study), "--quiet", "--no-pdf", "--out", str(scratch / "d10m")]))
        else:
            notes.append("BENCH_FULL=1 adds 1,000,000 enrolled (in memory and DuckDB) and 10,000,000 (DuckDB)")

    print(f"{'impact run (wall: best of 3 at demo size)':<42} {'wall (s)':>9} {'peak RSS (MiB)':>15}  {'ratio':<12}")
    print("-" * 82)
    for label, seconds, mebibytes, ratio in rows:
        print(f"{label:<42} {seconds:>9.2f} {mebibytes:>15.0f}  {ratio:<12}")
    for note in notes:
        print(f"note: {note}")
    print(f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
