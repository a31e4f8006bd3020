"""The output folder: one run, one folder, whole or not at all, and never on top of an input.

A run's files are written into a fresh *staging* folder beside the output folder
(``.<name>.staging-<random>``) and swapped in only when every file is written, so the output
folder always holds one complete run: the new one, or the previous one untouched. While a run
writes, an advisory lock (``.<name>.lock`` beside the folder, ``flock``) refuses a second run into
the same folder; the kernel releases it when the process ends, however it ends, so a killed run
leaves no stale lock (its staging folder is swept by the next run).

An output folder must be one the run *owns*: new, empty, or holding only files a run writes
(:data:`OUTPUT_NAMES`). It may not be, contain or lie inside the study folder, and may not hold
any input (an export, study.yaml, an instrument file, the logo, a key file), because the swap
replaces the folder's whole content. Everything is checked before the work starts, including
that the folder's parent is writable, so a careless ``--out`` costs one line, not a run.

Failures while writing (a full disk, a file-size limit, a permission change) end as one
:class:`PipelineError` line; the staging folder is removed and the previous run stays as it was.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import secrets
import shutil
from contextlib import suppress
from pathlib import Path

from .errors import PipelineError

#: Every file a run may write into its output folder (tables, manifest, both reports and their HTML twins).
TABLE_FILES = (
    "scores.csv", "results.csv", "comparison.csv", "retention.csv", "changes.csv", "trajectory.csv", "reliable_change.csv", "attrition.csv",
    "ledger.csv", "exclusions.csv",
    "data-quality.csv", "unmatched.csv", "subgroups.csv", "tables.xlsx", "manifest.json",
)  # fmt: skip
REPORT_FILES = ("impact-report.pdf", "impact-report.html", "technical-report.pdf", "technical-report.html")
#: The files only an out-of-core run writes (``engine: duckdb``; :mod:`pipeline.engine_duckdb`).
DUCKDB_FILES = ("scores.parquet", "exclusions-summary.csv", "data-quality-summary.csv")
#: The per-participant tables as Parquet, written in place of their CSV files by a large run
#: (:data:`pipeline.run.PARQUET_MIN_ROWS`).
PARQUET_FILES = ("scores.parquet", "reliable_change.parquet")
OUTPUT_NAMES = frozenset(TABLE_FILES + REPORT_FILES + DUCKDB_FILES + PARQUET_FILES)
#: Subfolders of a run's output folder that other commands own and a run keeps as they are
#: (``impact field`` writes ``reports/<study>/fielding/<format>/``).
KEPT_FOLDERS = frozenset({"fielding"})

#: errno values that mean "the disk (or a quota or file-size limit) is full".
DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_RENAME_EXCHANGE = 2  # linux/fs.h: swap two paths atomically (renameat2, Linux 3.15+)


def _is_inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def ownership_problem(target: Path) -> str | None:
    """Why ``target`` cannot be a run's output folder, or None when it can (new, empty, or a previous run's files only)."""
    if target.is_symlink():
        return "is a symbolic link; give a real folder (or a new name) for --out"
    if not target.exists():
        return None
    if not target.is_dir():
        return "exists and is not a folder; give a folder (or a new name) for --out"
    try:
        entries = list(os.scandir(target))
    except OSError as exc:
        return f"cannot be listed ({exc.strerror}); choose a folder you can read and write"
    foreign = [
        entry.name for entry in entries
        if not (entry.name in OUTPUT_NAMES and entry.is_file(follow_symlinks=False))
        and not (entry.name in KEPT_FOLDERS and entry.is_dir(follow_symlinks=False))
    ]  # fmt: skip
    if foreign:
        shown = ", ".join(repr(name[:40]) for name in sorted(foreign)[:3])
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        return (
            f"holds {shown}{more}, which a run does not write; the run replaces the folder's whole content, so give "
            "--out an empty or new folder"
        )
    return None


def check_output_folder(target: Path, study_folder: Path, inputs: list[Path]) -> None:
    """Refuse an output folder that is, holds or lies inside the study folder or an input, or that holds foreign files."""
    shown = str(target)[:120]
    resolved = target.resolve()
    study = study_folder.resolve()
    if _is_inside(resolved, study):
        where = "is the study folder" if resolved == study else "lies inside the study folder"
        raise PipelineError(f"--out {shown}: {where}; outputs never go beside raw exports: give a folder outside it, e.g. reports/<study>")
    if _is_inside(study, resolved):
        raise PipelineError(f"--out {shown}: holds the study folder; give an empty or new folder of its own for the outputs")
    for path in inputs:
        if _is_inside(path.resolve(), resolved):
            raise PipelineError(f"--out {shown}: holds the input {path.name[:60]!r}; outputs never overwrite inputs: give an empty or new folder")
    problem = ownership_problem(target)
    if problem:
        raise PipelineError(f"--out {shown}: {problem}")


class OutputFolder:
    """A claimed output folder: checked, locked, with a staging folder to write into (see the module docstring).

    Use as a context manager; :meth:`publish` swaps the staging folder in. Leaving the block
    without publishing (an error, an interrupt) removes the staging folder and keeps the
    previous outputs.
    """

    def __init__(self, target: Path, study_folder: Path, inputs: list[Path]):
        self.target = Path(target)
        self.study_folder = Path(study_folder)
        self.inputs = list(inputs)
        self.staging: Path | None = None
        self._lock_fd: int | None = None

    def __enter__(self) -> OutputFolder:
        check_output_folder(self.target, self.study_folder, self.inputs)
        parent = self.target.absolute().parent
        name = self.target.absolute().name
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(parent / f".{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            why = "a part of the path is a file, not a folder" if exc.errno in (errno.EEXIST, errno.ENOTDIR) else exc.strerror
            raise PipelineError(f"--out {str(self.target)[:120]}: cannot write into {str(parent)[:100]} ({why}); choose a writable folder") from None
        self._take_lock()
        self._sweep(parent, name)
        staging = parent / f".{name}.staging-{secrets.token_hex(4)}"
        try:
            staging.mkdir()
            probe = staging / ".probe"
            probe.write_bytes(b"0")
            probe.unlink()
        except OSError as exc:
            self._release()
            raise PipelineError(f"--out {str(self.target)[:120]}: cannot write into {str(parent)[:100]} ({exc.strerror}); choose a writable folder") from None
        self.staging = staging
        return self

    def _take_lock(self) -> None:
        import fcntl

        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise PipelineError(
                f"--out {str(self.target)[:120]}: another impact run is writing into this folder; wait for it to finish, or choose another --out"
            ) from None

    def _sweep(self, parent: Path, name: str) -> None:
        """Remove staging folders of earlier runs into this folder that were killed (we hold the lock, so none is live)."""
        for leftover in parent.glob(f".{name}.staging-*"):
            if leftover.is_dir() and not leftover.is_symlink():
                _carry_kept(leftover, parent / name)  # a run killed between the swap and the carry-over
                shutil.rmtree(leftover, ignore_errors=True)

    def write(self, name: str, content: bytes) -> Path:
        """Write one output into the staging folder; a full disk ends the run with one line."""
        if name not in OUTPUT_NAMES:
            raise ValueError(f"{name!r} is not an output of a run (pipeline.outputs.OUTPUT_NAMES)")
        path = self.staging / name
        try:
            with open(path, "xb") as stream:
                stream.write(content)
        except OSError as exc:
            raise write_error(exc, self.target, name) from None
        return self.target / name

    def publish(self) -> None:
        """Swap the staging folder in place of the output folder (atomically where the kernel can), and drop the old run."""
        os.chmod(self.staging, 0o777 & ~_umask())
        target = self.target.absolute()
        try:
            if not target.exists():
                os.rename(self.staging, target)
            elif _exchange(self.staging, target):
                _carry_kept(self.staging, target)
                shutil.rmtree(self.staging, ignore_errors=True)  # the staging path now holds the previous run
            else:
                previous = target.parent / f".{target.name}.previous-{secrets.token_hex(4)}"
                os.rename(target, previous)
                os.rename(self.staging, target)
                _carry_kept(previous, target)
                shutil.rmtree(previous, ignore_errors=True)
        except OSError as exc:
            raise write_error(exc, self.target, "the output folder") from None
        self.staging = None

    def __exit__(self, *exc_info) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
        self._release()

    def _release(self) -> None:
        if self._lock_fd is not None:
            with suppress(OSError):
                os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None


def _carry_kept(old: Path, new: Path) -> None:
    """Move the kept subfolders (:data:`KEPT_FOLDERS`) of a previous run's folder into the new one."""
    for name in KEPT_FOLDERS:
        kept = old / name
        if kept.is_dir() and not kept.is_symlink() and new.is_dir() and not (new / name).exists():
            os.rename(kept, new / name)


def write_error(exc: OSError, target: Path, name: str) -> PipelineError:
    """One line for an OS error while writing an output; the previous run in ``target`` is untouched."""
    what = "no space left (disk, quota or file-size limit full)" if exc.errno in DISK_FULL else (exc.strerror or type(exc).__name__)
    return PipelineError(
        f"--out {str(target)[:120]}: could not write {name}: {what}; nothing was changed in the folder: free space or fix "
        "permissions, then run again"
    )


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders atomically with Linux's renameat2(RENAME_EXCHANGE); False where that is unavailable."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # old kernel or a file system without exchange: fall back to two renames
    raise OSError(code, os.strerror(code))


def write_atomic(content: bytes, path: Path) -> Path:
    """Write one file atomically (a temporary file in the same folder, then a rename), for single-file outputs."""
    import tempfile

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual mode
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise write_error(exc, path.parent, path.name) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
