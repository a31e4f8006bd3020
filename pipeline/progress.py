"""Which stage a long run is in, and how far it is.

A run reports its stages (reading and checking each wave, scoring, the analysis, writing the
tables, rendering the reports) to a :class:`Progress`. What the user sees depends on where the
output goes: on a terminal a tqdm bar over the run's stages, with the stage's name and the time
spent; anywhere else (a log, CI, ``make`` piped to a file) one plain line per stage; nothing with
``--quiet``. Progress goes to stderr, so stdout keeps the run's summary only.

Whether a run counts as long is decided before it starts, from the size of its input files
(:data:`PROGRESS_MIN_BYTES`), not from a clock: the same study shows the same lines on every
machine, and a small study (the demo) shows none.
"""

from __future__ import annotations

import time
from typing import TextIO

#: Input files (all waves' exports) at least this large make a run show its progress: about
#: 15,000 participants of the demo's 20 variables, a run of a few seconds on a laptop.
PROGRESS_MIN_BYTES = 10 * 2**20


class Progress:
    """Stage-by-stage progress of a run of ``total`` stages: silent (``mode="off"``), one line per
    stage (``"plain"``) or a tqdm bar (``"bar"``), written to ``stream``."""

    MODES = ("off", "plain", "bar")

    def __init__(self, total: int, stream: TextIO | None = None, mode: str = "off") -> None:
        if mode not in self.MODES:
            raise ValueError(f"progress mode {mode!r} is not one of {', '.join(self.MODES)}")
        self.total = max(total, 1)
        self.stream = stream
        self.mode = mode if stream is not None else "off"
        self.done = 0
        self.started = time.perf_counter()
        self._bar = None

    def stage(self, label: str) -> None:
        """Begin the next stage, named ``label`` (the previous one is then complete)."""
        if self.mode == "off":
            return
        self.done = min(self.done + 1, self.total)
        elapsed = time.perf_counter() - self.started
        if self.mode == "plain":
            self.stream.write(f"[{self.done}/{self.total}] {label} ({elapsed:.1f} s)\n")
            self.stream.flush()
            return
        if self._bar is None:
            from tqdm import tqdm  # only a terminal run with a long input pays for the import

            self._bar = tqdm(total=self.total, file=self.stream, leave=False, unit="stage", dynamic_ncols=True,
                             bar_format="{desc} {bar} {n_fmt}/{total_fmt} stages [{elapsed}]")
        self._bar.set_description_str(label, refresh=False)
        self._bar.update(self.done - self._bar.n)
        self._bar.refresh()  # stages are few and long: draw each one now, not at tqdm's next interval

    def close(self) -> None:
        """End the display (the bar is removed from the terminal; plain lines stay)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def run_stages(waves: int, pdf: bool) -> int:
    """How many stages :func:`pipeline.run.run_study` and :func:`pipeline.run.write_run` report:
    reading and checking each wave, scoring, the analysis, writing the tables, and (with PDFs)
    rendering the reports."""
    return 2 * waves + 3 + int(pdf)


def choose_mode(stream: TextIO, input_bytes: int, quiet: bool = False, min_bytes: int = PROGRESS_MIN_BYTES) -> str:
    """``"off"`` when ``quiet`` or the inputs are smaller than ``min_bytes``; otherwise ``"bar"`` on
    a terminal and ``"plain"`` elsewhere."""
    if quiet or input_bytes < min_bytes:
        return "off"
    isatty = getattr(stream, "isatty", None)
    return "bar" if isatty is not None and isatty() else "plain"
