"""Wall time and peak memory of `impact run` on the demo study and on a generated large study.

Run with `make bench`. Each case runs `impact run` as a separate process (so import time counts,
as it does for a user) and reads that process's own peak resident memory from os.wait4.
Not a test: numbers vary by machine, and nothing here asserts on time.
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
            ("10,000 enrolled, with PDF", [str(IMPACT), "run", str(large), "--out", str(scratch / "o3")]),
            ("10,000 enrolled, tables only", [str(IMPACT), "run", str(large), "--out", str(scratch / "o4"), "--no-pdf"]),
        ]
        print(f"{'case':<34} {'wall (s)':>9} {'peak RSS (MiB)':>15}")
        print("-" * 60)
        for label, args in cases:
            seconds, mebibytes = measure(args)
            print(f"{label:<34} {seconds:>9.2f} {mebibytes:>15.0f}")


if __name__ == "__main__":
    main()
