"""The hostile-input suite: every case of :mod:`tests.hostile` keeps every promise.

For each case the study is built in a fresh folder, the command is run as a user runs it (the
``impact`` command line, in this process, from the scratch folder) and then, whatever the case:

* the exit status is the case's: 0 (valid data, however odd) or 2 (refused), never anything else;
* standard error is empty on success, else exactly one line under 300 characters, without a
  traceback, containing the case's words;
* no planted secret (names, e-mail addresses, phone numbers, free text, a file outside the study)
  appears in any file written, in the PDFs' text, or on standard output or error;
* every file that existed before the run is byte-identical after it (the output folder of a
  successful run excepted, which the run owns and replaces whole);
* the case's own check, if any, holds.

Each run is watched: over ``TIME_LIMIT`` seconds or ``MEMORY_LIMIT`` bytes of extra address space
ends it (a hang or a memory blow-up then fails the case rather than the machine).
"""

from __future__ import annotations

import hashlib
import resource
import signal
import stat
import zipfile
from pathlib import Path

import pytest

from pipeline.cli import main

from .hostile import CASES, SECRET_FILE_TEXT, SECRETS, base_study, pdf_text

TIME_LIMIT = 240
MEMORY_LIMIT = 3 << 30
PROMISES = ["overwrite", "leak", "fetch", "outside", "bounds", "crash", "messages"]


class Watchdog(Exception):
    """Raised in the run when it takes longer than ``TIME_LIMIT``."""


def snapshot(root: Path) -> dict[str, str]:
    """SHA-256 of every regular file under ``root`` (FIFOs and devices are not read)."""
    found = {}
    for path in sorted(root.rglob("*")):
        try:
            mode = path.lstat().st_mode
        except OSError:
            continue
        if stat.S_ISREG(mode):
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def written_text(paths: list[Path]) -> str:
    """Every written file as searchable text: PDFs by their text, .xlsx by their XML, the rest as UTF-8."""
    parts = []
    for path in paths:
        if path.suffix == ".pdf":
            parts.append(pdf_text(path))
            parts.append(path.read_bytes().decode("latin-1"))
        elif path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                parts += [book.read(name).decode("utf-8", "replace") for name in book.namelist()]
        else:
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def run_case(case, scratch: Path, monkeypatch, capsys) -> tuple[int, str, str, dict[str, str]]:
    """Build the case's study in ``scratch``, snapshot every file, run the command; (status, stdout, stderr, snapshot)."""
    study = base_study(scratch)
    case.build(study, scratch)
    before = snapshot(scratch)
    monkeypatch.chdir(scratch)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    argv = case.command(study, scratch) if case.command else ["run", str(study), "--out", str(scratch / "out"), *case.args]
    if not case.pdf and argv[0] == "run" and "--no-pdf" not in argv:
        argv.append("--no-pdf")
    capsys.readouterr()

    def alarm(signum, frame):
        raise Watchdog(f"{case.id} ran longer than {TIME_LIMIT} s")

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = _address_space()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(TIME_LIMIT)
    try:
        if used is not None:
            limit = used + MEMORY_LIMIT
            resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
        status = main(argv)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    captured = capsys.readouterr()
    return status, captured.out, captured.err, before


def _address_space() -> int | None:
    """This process' virtual memory size in bytes (Linux), or None where it cannot be read."""
    try:
        fields = Path("/proc/self/statm").read_text().split()
    except OSError:
        return None
    return int(fields[0]) * resource.getpagesize()


def test_the_suite_covers_every_promise_with_at_least_80_cases():
    assert len(CASES) >= 80
    assert {case.promise for case in CASES} == set(PROMISES)
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_case_keeps_every_promise(case, tmp_path, monkeypatch, capsys):
    status, out, err, before = run_case(case, tmp_path, monkeypatch, capsys)
    assert status == case.exit, f"exit {status}, expected {case.exit}: {err.strip()}"
    if case.exit == 0:
        assert err == "", err
    else:
        assert err.count("\n") == 1 and err.endswith("\n"), f"not one line: {err!r}"
        assert err.startswith("error: ") and "Traceback" not in err and len(err.rstrip("\n")) < 300, err
        assert case.message in err, f"{case.message!r} not in {err.strip()!r}"

    after = snapshot(tmp_path)
    owned = {name for name in before if status == 0 and Path(name).parts[0] == "out"}  # a run replaces its own folder
    changed = sorted(name for name, digest in before.items() if name not in owned and after.get(name) != digest)
    assert not changed, f"inputs changed or removed: {changed}"
    written = [tmp_path / name for name in after if name not in before or name in owned]
    text = written_text(written) + out + err
    for secret in [*SECRETS, SECRET_FILE_TEXT]:
        assert secret not in text, f"{secret!r} reached an output or a message"
    if case.check is not None:
        case.check(tmp_path, tmp_path / "out")


def test_the_same_study_gets_the_same_run_id_by_absolute_or_relative_path(tmp_path, monkeypatch, capsys):
    study = base_study(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(study), "--out", str(tmp_path / "absolute"), "--no-pdf"]) == 0
    assert main(["run", "study/../study", "--out", "relative", "--no-pdf"]) == 0
    manifests = [(tmp_path / name / "manifest.json").read_text() for name in ("absolute", "relative")]
    assert manifests[0] == manifests[1]
    assert str(tmp_path) not in manifests[0]
