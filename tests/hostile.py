"""The hostile-input suite's cases: careless and malicious studies, each stating the promise it tests.

Every case starts from the same small study (:func:`base_study`: 24 participants answering a
three-item scale, with ``Name``, ``Email`` and ``Notes`` columns holding planted secrets, as a real
export would), changes one thing in it and says what must happen: exit status 0 or 2, the words
the one-line message must contain, and any further check of what was written. ``tests/test_hostile.py``
runs them all and checks the promises every case shares (see its docstring).

The promises (README, "What the pipeline guarantees"):

* ``overwrite``: outputs never touch inputs, and an output folder holds one whole run;
* ``leak``: nothing identifying reaches an output or a message, and no score of fewer than
  ``t`` people can be worked out from a report;
* ``fetch``: the renderer fetches nothing a study can smuggle in;
* ``outside``: a study reads nothing outside its folder unless it says so;
* ``bounds``: bad or hostile input costs one line, in bounded time and memory;
* ``crash``: valid data never crash;
* ``messages``: every problem is one clear line that names the file and says what to do.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .workbooks import sheet_xml, xlsx_bytes

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "surveys" / "minimal-example" / "instruments" / "tiny.yaml"
ITEMS = ["tiny_1", "tiny_2", "tiny_3"]

#: Planted in every case's exports (and in some cases' ids and subgroup values); no output may contain one.
SECRETS = ["Zebulon Quartermaine", "zebulon.q@example.org", "secret-note-7731", "+44 7700 900461"]
#: A subgroup value held by one person: the research tables list it, the reports never name it.
SMALL_GROUP_NAME = "Ottoline Vantongeren"
SECRET_FILE_TEXT = "root-secret-text-5519"  # the content of a file outside the study


@dataclass
class Case:
    """One hostile or careless study: what it changes, which promise it tests, and what must happen."""

    promise: str
    name: str
    build: Callable[[Path, Path], None]  # (study folder, scratch folder) -> None: make the study hostile
    exit: int  # 0 (valid, however odd) or 2 (refused with one line)
    message: str = ""  # words the error line must contain
    args: list[str] = field(default_factory=list)  # extra command-line arguments for `impact run`
    command: Callable[[Path, Path], list[str]] | None = None  # the whole command line, when not `impact run STUDY --out OUT`
    pdf: bool = False  # render the PDFs (slow): for cases about what the reports show or fetch
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[Path, Path], None] | None = None  # (scratch folder, output folder) -> None: further assertions

    @property
    def id(self) -> str:
        return f"{self.promise}-{self.name}"


# --- the base study -------------------------------------------------------------------------

def answers(n: int = 24, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Baseline and follow-up exports of ``n`` participants, with a planted rise and the secrets' columns."""
    rng = np.random.default_rng(seed)
    ids = [f"P{i:03d}" for i in range(1, n + 1)]
    pre = pd.DataFrame({"participant_id": ids})
    pre["Name"] = [f"{SECRETS[0]} {i}" for i in range(n)]
    pre["Email"] = [f"{i}.{SECRETS[1]}" for i in range(n)]
    pre["Notes"] = SECRETS[2]
    pre["cohort"] = [("Spring", "Summer", "Autumn")[i % 3] for i in range(n)]
    for item in ITEMS:
        pre[item] = rng.integers(1, 5, n)
    post = pre.drop(columns=["cohort"]).copy()
    for item in ITEMS:
        post[item] = np.clip(pre[item] + rng.integers(0, 2, n) * (1 if item != "tiny_2" else -1), 1, 5)
    return pre, post


def base_study(root: Path, n: int = 24) -> Path:
    """``root/study``: study.yaml, its own ``tiny`` instrument, pre.csv and post.csv (``n`` pairs)."""
    study = root / "study"
    (study / "instruments").mkdir(parents=True)
    shutil.copyfile(TINY, study / "instruments" / "tiny.yaml")
    pre, post = answers(n)
    pre.to_csv(study / "pre.csv", index=False)
    post.to_csv(study / "post.csv", index=False)
    write_config(study, {"name": "Hostile base", "id_column": "participant_id", "instruments": ["tiny"], "waves": {"pre": "pre.csv", "post": "post.csv"}})
    return study


def config(study: Path) -> dict:
    return yaml.safe_load((study / "study.yaml").read_text(encoding="utf-8"))


def write_config(study: Path, data: dict) -> None:
    (study / "study.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def edit(**changes) -> Callable[[Path, Path], None]:
    """A builder that merges ``changes`` into study.yaml (mappings merged one level deep)."""
    def build(study: Path, scratch: Path) -> None:
        data = config(study)
        for key, value in changes.items():
            data[key] = {**data[key], **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
        write_config(study, data)
    return build


def wave(wave_name: str, entry) -> Callable[[Path, Path], None]:
    """A builder that sets one wave's entry in study.yaml."""
    def build(study: Path, scratch: Path) -> None:
        data = config(study)
        data["waves"][wave_name] = entry
        write_config(study, data)
    return build


def both(*builders) -> Callable[[Path, Path], None]:
    def build(study: Path, scratch: Path) -> None:
        for builder in builders:
            builder(study, scratch)
    return build


def raw_yaml(text: str) -> Callable[[Path, Path], None]:
    def build(study: Path, scratch: Path) -> None:
        (study / "study.yaml").write_text(text, encoding="utf-8")
    return build


def rewrite_pre(change: Callable[[pd.DataFrame], pd.DataFrame], post_too: bool = False) -> Callable[[Path, Path], None]:
    """A builder that rewrites pre.csv (and post.csv) through ``change``."""
    def build(study: Path, scratch: Path) -> None:
        for name in ["pre.csv", "post.csv"] if post_too else ["pre.csv"]:
            frame = pd.read_csv(study / name, dtype=str, keep_default_na=False)
            change(frame).to_csv(study / name, index=False)
    return build


def set_cells(column: str, values: list, rows=None) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        positions = list(range(len(values))) if rows is None else rows
        frame[column] = frame[column].astype(object)
        for position, value in zip(positions, values):
            frame.loc[position, column] = value
        return frame
    return change


def secret_file(scratch: Path) -> Path:
    """A file outside the study folder whose content must never be read into an output."""
    folder = scratch / "elsewhere"
    folder.mkdir(exist_ok=True)
    path = folder / "private.csv"
    shutil.copyfile(scratch / "study" / "pre.csv", path)
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(f"{SECRET_FILE_TEXT},,,,,1,1,1\n")
    return path


def write_qualtrics(study: Path, columns: dict[str, str] | None = None) -> None:
    """Both waves as Qualtrics exports (3 header rows), with Qualtrics' own personal-data columns."""
    pre, post = answers()
    for name, frame in (("pre-q.csv", pre), ("post-q.csv", post)):
        frame = frame.rename(columns={"Email": "RecipientEmail", "Name": "RecipientFirstName"})
        frame.insert(0, "Status", "0")
        frame.insert(1, "Finished", "1")
        frame.insert(2, "IPAddress", [f"192.0.2.{i + 1}" for i in range(len(frame))])
        header = list(frame.columns)
        body = io.StringIO()
        frame.to_csv(body, index=False, header=False)
        lines = [",".join(header), ",".join(f'"{c} question"' for c in header), ",".join(f'"{{""ImportId"":""{c}""}}"' for c in header)]
        (study / name).write_text("\n".join(lines) + "\n" + body.getvalue(), encoding="utf-8")
    data = config(study)
    data["waves"] = {"pre": {"file": "pre-q.csv", "format": "qualtrics"}, "post": {"file": "post-q.csv", "format": "qualtrics"}}
    write_config(study, data)


def excel_pre(rows_extra: Callable[[list[list]], list[list]] = lambda rows: rows, formula_cells: dict[str, str] | None = None, **options) -> Callable[[Path, Path], None]:
    """A builder that replaces pre.csv by a hand-made pre.xlsx of the same answers."""
    formula_cells = formula_cells or {}

    def build(study: Path, scratch: Path) -> None:
        pre, _ = answers()
        frame = pre[["participant_id", *ITEMS]]
        rows = [list(frame.columns)] + [[row[0], *map(int, row[1:])] for row in frame.itertuples(index=False)]
        for ref, formula in formula_cells.items():  # e.g. "B3": a formula without a saved value, in that cell
            rows[int(ref[1:]) - 1]["ABCDEFGHIJ".index(ref[0])] = f'<c r="REF"><f>{formula}</f></c>'
        (study / "pre.xlsx").write_bytes(xlsx_bytes(sheet_xml(rows_extra(rows), **options)))
        wave("pre", "pre.xlsx")(study, scratch)
    return build


def svg_logo(svg: str, name: str = "logo.svg") -> Callable[[Path, Path], None]:
    def build(study: Path, scratch: Path) -> None:
        (study / name).write_text(svg, encoding="utf-8")
        edit(report={"logo": name})(study, scratch)
    return build


SVG_HEAD = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="20">'


def instrument_edit(change: Callable[[dict], dict]) -> Callable[[Path, Path], None]:
    """A builder that rewrites the study's own tiny.yaml through ``change``."""
    def build(study: Path, scratch: Path) -> None:
        path = study / "instruments" / "tiny.yaml"
        path.write_text(yaml.safe_dump(change(yaml.safe_load(path.read_text())), sort_keys=False), encoding="utf-8")
    return build


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


# --- checks ---------------------------------------------------------------------------------

def no_stale_pdf(scratch: Path, out: Path) -> None:
    assert not (out / "impact-report.pdf").exists(), "a previous run's PDF stayed beside this run's tables"


def too_few_reported(scratch: Path, out: Path) -> None:
    text = pdf_text(out / "impact-report.pdf")
    assert "Too few people answered both times" in text
    results = pd.read_csv(out / "results.csv")
    for column in ["mean_pre", "mean_post", "sd_pre", "sd_post"]:
        shown = f"{results.loc[0, column]:.2f}"
        assert shown not in text, f"{column} {shown} is printed for a variable of {results.loc[0, 'n_pairs']} pairs"


def few_noncompleters_hidden(scratch: Path, out: Path) -> None:
    attrition = pd.read_csv(out / "attrition.csv")
    assert attrition.loc[0, "n_noncompleters"] == 2
    for report in ("impact-report.pdf", "technical-report.pdf"):
        text = pdf_text(out / report)
        for column in ["mean_noncompleters", "std_diff"]:
            shown = f"{abs(attrition.loc[0, column]):.2f}"
            assert shown not in text, f"{report} prints {column} of 2 non-completers ({shown})"


def small_subgroup_unnamed(scratch: Path, out: Path) -> None:
    for report in ("impact-report", "technical-report"):
        assert SMALL_GROUP_NAME not in pdf_text(out / f"{report}.pdf")
        assert SMALL_GROUP_NAME not in (out / f"{report}.html").read_text(encoding="utf-8")
    assert SMALL_GROUP_NAME in (out / "subgroups.csv").read_text(encoding="utf-8")  # the researcher's table has it


def ids_pair_after_normalising(scratch: Path, out: Path) -> None:
    results = pd.read_csv(out / "results.csv")
    assert results.loc[0, "n_pairs"] == 24, "ids that look the same did not pair"
    quality = pd.read_csv(out / "data-quality.csv")
    assert quality["problem"].str.startswith("id normalised").sum() >= 1


def formula_listed(scratch: Path, out: Path) -> None:
    quality = pd.read_csv(out / "data-quality.csv")
    assert quality["problem"].str.startswith("formula without a saved value").sum() == 1


def stray_secrets_masked(scratch: Path, out: Path) -> None:
    quality = pd.read_csv(out / "data-quality.csv", keep_default_na=False)
    assert quality["value"].str.startswith("(not shown: looks like").sum() == 2


def no_absolute_path_in_reports(scratch: Path, out: Path) -> None:
    for report in ("impact-report.pdf", "technical-report.pdf", "manifest.json"):
        text = pdf_text(out / report) if report.endswith(".pdf") else (out / report).read_text()
        assert str(scratch) not in text.replace("\n", ""), f"{report} holds the absolute study path"


def no_attachments(scratch: Path, out: Path) -> None:
    from pypdf import PdfReader

    for report in ("impact-report.pdf", "technical-report.pdf"):
        reader = PdfReader(out / report)
        assert not reader.attachments
        assert SECRET_FILE_TEXT not in pdf_text(out / report)


def ran_whole(scratch: Path, out: Path) -> None:
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 1


def symlink_to(target: Callable[[Path], Path], name: str) -> Callable[[Path, Path], None]:
    def build(study: Path, scratch: Path) -> None:
        os.symlink(target(scratch), study / name)
    return build


def fifo(name: str) -> Callable[[Path, Path], None]:
    def build(study: Path, scratch: Path) -> None:
        os.mkfifo(study / name)
    return build


def folder(name: str) -> Callable[[Path, Path], None]:
    def build(study: Path, scratch: Path) -> None:
        (study / name).mkdir()
    return build


def write(name: str, content: bytes | str) -> Callable[[Path, Path], None]:
    def build(study: Path, scratch: Path) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        (study / name).write_bytes(data)
    return build


def in_scratch(make: Callable[[Path], None]) -> Callable[[Path, Path], None]:
    def build(study: Path, scratch: Path) -> None:
        make(scratch)
    return build


def demo_command(extra: list[str]) -> Callable[[Path, Path], list[str]]:
    return lambda study, scratch: ["demo", str(study), "--participants", "12", *extra]


def out_at(where: Callable[[Path, Path], Path], *extra: str) -> Callable[[Path, Path], list[str]]:
    return lambda study, scratch: ["run", str(study), "--out", str(where(study, scratch)), "--no-pdf", *extra]


PNG_HEADER = b"\x89PNG\r\n\x1a\n"


def png_bomb() -> bytes:
    """A PNG whose header claims 60,000 x 60,000 pixels (3.6 gigapixels) with almost no data."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 2, 0, 0, 0)
    return PNG_HEADER + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")


def zip_bomb() -> bytes:
    """An .xlsx-shaped zip whose sheet inflates to 2 GiB of zeros from a few megabytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            block = b"0" * (1 << 20)
            for _ in range(2048):
                sheet.write(block)
    return buffer.getvalue()


BILLION_LAUGHS = """name: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]
a1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]
a2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]
a3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]
a4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]
a5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]
a6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]
a7: &a7 [*a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6, *a6]
id_column: *a7
"""
BASE_YAML = "name: Hostile base\nid_column: participant_id\ninstruments: [tiny]\nwaves: {pre: pre.csv, post: post.csv}\n"


def key_env() -> dict[str, str]:
    return {"IMPACT_ID_KEY": "a-secret-of-at-least-16-bytes"}


PSEUDONYMISE = {"pseudonymise": {"key_env": "IMPACT_ID_KEY"}}


def drop_post_rows(k: int) -> Callable[[Path, Path], None]:
    """A builder whose first ``k`` participants answer at baseline only (non-completers)."""
    def build(study: Path, scratch: Path) -> None:
        pd.read_csv(study / "post.csv", dtype=str, keep_default_na=False).iloc[k:].to_csv(study / "post.csv", index=False)
    return build


def ids_by_wave(pre_id: Callable[[int], str], post_id: Callable[[int], str]) -> Callable[[Path, Path], None]:
    """A builder that gives participant ``i`` the id ``pre_id(i)`` at baseline and ``post_id(i)`` at follow-up."""
    def build(study: Path, scratch: Path) -> None:
        for name, make in (("pre.csv", pre_id), ("post.csv", post_id)):
            frame = pd.read_csv(study / name, dtype=str, keep_default_na=False)
            frame.assign(participant_id=[make(i) for i in range(len(frame))]).to_csv(study / name, index=False)
    return build


def write_demo_study(folder: Path, participants: int) -> None:
    from pipeline.simulate import write_demo_study as simulate

    simulate(folder, participants=participants)
THOUSAND_VALUES = [f"group {i}" for i in range(1000)]
#: A two-group study on the base study's cohort column: Spring and Summer the program, Autumn the comparison.
GROUPS = {"column": "cohort", "program": ["Spring", "Summer"], "comparison": ["Autumn"], "assignment": "randomised"}


def groups(**changes) -> Callable[[Path, Path], None]:
    """A builder that makes the study a two-group one (``GROUPS``, with ``changes``)."""
    return edit(groups={**GROUPS, **changes})


def post_cohorts(values: list[str]) -> Callable[[Path, Path], None]:
    """A builder that gives post.csv a cohort column too (participant i gets ``values[i]``, the rest blank)."""
    def build(study: Path, scratch: Path) -> None:
        frame = pd.read_csv(study / "post.csv", dtype=str, keep_default_na=False)
        frame["cohort"] = (values + [""] * len(frame))[: len(frame)]
        frame.to_csv(study / "post.csv", index=False)
    return build


def unknown_groups_counted(n: int) -> Callable[[Path, Path], None]:
    def check(scratch: Path, out: Path) -> None:
        exclusions = pd.read_csv(out / "exclusions.csv")
        assert (exclusions["reason"] == "unknown_group").sum() == n
        ledger = pd.read_csv(out / "ledger.csv").set_index("wave")
        assert ledger.loc["pre", "rows_read"] == ledger.loc["pre", "rows_accepted"] + ledger.loc["pre", "rows_excluded"]
    return check


def other_group_listed(scratch: Path, out: Path) -> None:
    quality = pd.read_csv(out / "data-quality.csv", keep_default_na=False)
    rows = quality[quality["column"] == "cohort"]
    assert rows["row"].tolist() == [2, 3] and rows["problem"].str.startswith("names another group than the baseline's (program)").all()
    assert len(rows["value"].iloc[1]) <= 60 and rows["value"].iloc[0] == "(not shown: looks like an e-mail address)"


# --- the cases ------------------------------------------------------------------------------

CASES: list[Case] = [
    # -- overwrite: outputs never touch inputs; one folder holds one whole run --------------------
    Case("overwrite", "out-is-the-study-folder", both(write("scores.csv", "participant_id,x\n"), write("results.csv", "a\n")), 2,
         "is the study folder", command=out_at(lambda study, scratch: study)),
    Case("overwrite", "out-inside-the-study-folder", lambda s, x: None, 2, "lies inside the study folder",
         command=out_at(lambda study, scratch: study / "reports")),
    Case("overwrite", "out-holds-the-study", lambda s, x: None, 2, "holds the study folder", command=out_at(lambda study, scratch: scratch)),
    Case("overwrite", "out-climbs-to-the-study", lambda s, x: None, 2, "is the study folder",
         command=out_at(lambda study, scratch: study / "instruments" / "..")),
    Case("overwrite", "study-kept-under-reports-without-out", lambda study, scratch: ((scratch / "reports").mkdir(), study.rename(scratch / "reports" / "study")),
         2, "is the study folder",
         command=lambda study, scratch: ["run", "reports/study", "--no-pdf"]),
    Case("overwrite", "out-is-a-file", in_scratch(lambda scratch: (scratch / "out").write_text("keep me")), 2, "exists and is not a folder"),
    Case("overwrite", "out-holds-a-foreign-file", in_scratch(lambda scratch: ((scratch / "out").mkdir(), (scratch / "out" / "thesis.docx").write_text("keep"))),
         2, "which a run does not write"),
    Case("overwrite", "out-holds-a-folder-named-like-an-output", in_scratch(lambda scratch: (scratch / "out" / "results.csv").mkdir(parents=True)),
         2, "which a run does not write"),
    Case("overwrite", "out-is-a-symlink", in_scratch(lambda scratch: ((scratch / "real").mkdir(), (scratch / "out").symlink_to(scratch / "real"))),
         2, "is a symbolic link"),
    Case("overwrite", "out-holds-an-input", both(in_scratch(lambda scratch: (scratch / "out").mkdir()),
         lambda study, scratch: shutil.copyfile(study / "pre.csv", scratch / "out" / "scores.csv"),
         wave("pre", "../out/scores.csv"), edit(data={"allow_outside": True})), 2, "holds the input 'scores.csv'"),
    Case("overwrite", "out-below-a-file", in_scratch(lambda scratch: (scratch / "afile").write_text("x")), 2, "a part of the path is a file",
         command=out_at(lambda study, scratch: scratch / "afile" / "out")),
    Case("overwrite", "out-is-the-working-folder", lambda s, x: None, 2, "holds the study folder", command=lambda study, scratch: ["run", "study", "--out", ".", "--no-pdf"]),
    Case("overwrite", "previous-run-replaced-whole", in_scratch(lambda scratch: ((scratch / "out").mkdir(), (scratch / "out" / "impact-report.pdf").write_bytes(b"%PDF-old"))),
         0, check=no_stale_pdf),
    Case("overwrite", "demo-into-a-study-without-force", lambda s, x: None, 2, "the folder is not empty", command=demo_command([])),
    Case("overwrite", "demo-into-a-file", in_scratch(lambda scratch: (scratch / "plain.txt").write_text("keep")), 2, "exists and is not a folder",
         command=lambda study, scratch: ["demo", str(scratch / "plain.txt")]),

    # -- leak: nothing identifying in any output or message; no small group's scores --------------
    Case("leak", "subgroup-is-an-email-column", edit(subgroups=["Email"]), 2, "is a column of personal data", pdf=True),
    Case("leak", "subgroup-is-a-name-column", edit(subgroups=["Name"]), 2, "is a column of personal data"),
    Case("leak", "subgroup-holds-e-mails", both(rewrite_pre(set_cells("Notes", [SECRETS[1]])), edit(subgroups=["Notes"])), 2, "holds e-mail addresses"),
    Case("leak", "subgroup-holds-phone-numbers", both(rewrite_pre(set_cells("Notes", [SECRETS[3]] * 24)), edit(subgroups=["Notes"])), 2, "holds phone numbers"),
    Case("leak", "subgroup-is-qualtrics-email", both(lambda study, scratch: write_qualtrics(study), edit(subgroups=["RecipientEmail"])), 2,
         "the survey platform fills with personal data"),
    Case("leak", "subgroup-is-qualtrics-ip", both(lambda study, scratch: write_qualtrics(study), edit(subgroups=["IPAddress"])), 2,
         "the survey platform fills with personal data"),
    Case("leak", "item-mapped-to-email", wave("pre", {"file": "pre.csv", "columns": {"tiny_1": "Email"}}), 2, "items are never read from identifying columns"),
    Case("leak", "item-mapped-to-declared-identifier", both(wave("pre", {"file": "pre.csv", "columns": {"tiny_1": "Notes"}}), edit(identifiers=["Notes"])), 2,
         "items are never read from identifying columns"),
    Case("leak", "item-column-of-e-mails", rewrite_pre(set_cells("tiny_1", [f"{i}.{SECRETS[1]}" for i in range(24)])), 2, "holds e-mail addresses"),
    Case("leak", "stray-email-and-phone-in-answers", rewrite_pre(set_cells("tiny_1", [SECRETS[1], SECRETS[3]])), 0, check=stray_secrets_masked),
    Case("leak", "ids-are-e-mails", rewrite_pre(set_cells("participant_id", [f"{i}.{SECRETS[1]}" for i in range(24)]), post_too=True), 2, "pseudonymise the ids"),
    Case("leak", "ids-are-e-mails-pseudonymised", both(rewrite_pre(set_cells("participant_id", [f"{i}.{SECRETS[1]}" for i in range(24)]), post_too=True),
         edit(data=PSEUDONYMISE)), 0, env=key_env(), pdf=True),
    Case("leak", "id-column-is-email", edit(id_column="Email"), 2, "pseudonymise the ids"),
    Case("leak", "id-column-is-email-pseudonymised", both(edit(id_column="Email"), edit(data=PSEUDONYMISE)), 0, env=key_env()),
    Case("leak", "id-column-is-qualtrics-recipient", both(lambda study, scratch: write_qualtrics(study), edit(id_column="RecipientEmail")), 2, "pseudonymise the ids"),
    Case("leak", "duplicate-pseudonymised-ids-stop", both(rewrite_pre(set_cells("participant_id", [SECRETS[0]] * 2), post_too=False),
         edit(data={**PSEUDONYMISE, "duplicates": "stop"})), 2, "participant id used more than once", env=key_env()),
    Case("leak", "id-with-invisible-characters-pseudonymised", both(rewrite_pre(set_cells("participant_id", ["Zebulon\u200bQuartermaine"])),
         edit(data=PSEUDONYMISE)), 0, env=key_env()),
    Case("leak", "identifying-column-used-for-consent", both(rewrite_pre(set_cells("Notes", ["yes"] * 24)),
         edit(identifiers=["Notes"], data={"consent": {"column": "Notes"}})), 0),
    Case("leak", "redcap-dictionary-identifier-as-subgroup", both(
        write("records.csv", "record_id,redcap_event_name,cohort,tiny_1,tiny_2,tiny_3,survey_complete\n"
              + "".join(f"r{i},baseline_arm_1,Zebulon Quartermaine {i},3,3,3,2\nr{i},followup_arm_1,,4,2,4,2\n" for i in range(12))),
        write("dictionary.csv", '"Variable / Field Name","Form Name","Field Type","Identifier?"\nrecord_id,survey,text,\ncohort,survey,text,y\n'),
        wave("pre", {"file": "records.csv", "format": "redcap", "event": "baseline_arm_1", "dictionary": "dictionary.csv"}),
        wave("post", {"file": "records.csv", "format": "redcap", "event": "followup_arm_1"}),
        edit(id_column="record_id", subgroups=["cohort"])), 2, "is listed as identifying"),
    Case("leak", "two-pairs-print-no-means", both(rewrite_pre(lambda frame: frame.iloc[:2]), rewrite_pre(lambda frame: frame.iloc[:2], post_too=True)),
         0, pdf=True, check=too_few_reported),
    Case("leak", "two-noncompleters-no-attrition-figures", drop_post_rows(2), 0, pdf=True, check=few_noncompleters_hidden),
    Case("leak", "a-name-as-a-small-subgroup-value", both(rewrite_pre(set_cells("cohort", [SMALL_GROUP_NAME])), edit(subgroups=["cohort"])),
         0, pdf=True, check=small_subgroup_unnamed),
    Case("leak", "group-column-is-an-email-column", groups(column="Email"), 2, "is a column of personal data"),
    Case("leak", "group-column-holds-e-mails", both(rewrite_pre(set_cells("Notes", [SECRETS[1]])), groups(column="Notes")), 2, "holds e-mail addresses"),
    Case("leak", "group-column-listed-as-identifying", both(groups(), edit(identifiers=["cohort"])), 2, "listed under identifiers"),
    Case("leak", "empty-group-message-masks-a-phone-number", both(rewrite_pre(set_cells("cohort", [SECRETS[3]] + ["Spring"] * 23)),
         groups(comparison=["waitlist"])), 2, "the column holds 'Spring' (23), (not shown: looks like a phone number) (1)"),
    Case("leak", "later-group-value-holding-an-e-mail-is-masked", both(groups(), post_cohorts([SECRETS[1], "x" * 500])), 0, check=other_group_listed),

    # -- fetch: the renderer fetches nothing a study smuggles in ----------------------------------
    Case("fetch", "svg-logo-image-file-url", svg_logo(SVG_HEAD + '<image href="file:///etc/passwd" width="9" height="9"/></svg>'), 2, "logo", pdf=True),
    Case("fetch", "svg-logo-xlink-href", svg_logo(SVG_HEAD + '<image xlink:href="../elsewhere/private.csv" width="9" height="9"/></svg>'), 2, "logo"),
    Case("fetch", "svg-logo-css-url", svg_logo(SVG_HEAD + '<rect width="9" height="9" style="fill: url(file:///etc/passwd)"/></svg>'), 2, "logo"),
    Case("fetch", "svg-logo-style-import", svg_logo(SVG_HEAD + "<style>@import url(http://example.org/x.css);</style></svg>"), 2, "logo"),
    Case("fetch", "svg-logo-script", svg_logo(SVG_HEAD + "<script>alert(1)</script></svg>"), 2, "logo"),
    Case("fetch", "svg-logo-external-entity", svg_logo('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
         + SVG_HEAD + "<text>&x;</text></svg>"), 2, "logo"),
    Case("fetch", "svg-logo-data-url-image", svg_logo(SVG_HEAD + '<image href="data:image/svg+xml;base64,PHN2Zy8+" width="9" height="9"/></svg>'), 2, "logo"),
    Case("fetch", "svg-logo-foreign-object", svg_logo(SVG_HEAD + '<foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml" src="file:///etc/passwd"/></foreignObject></svg>'),
         2, "logo"),
    Case("fetch", "png-logo-that-is-html", both(write("logo.png", '<img src="file:///etc/passwd">'), edit(report={"logo": "logo.png"})), 2, "logo"),
    Case("fetch", "png-logo-decompression-bomb", both(write("logo.png", png_bomb()), edit(report={"logo": "logo.png"})), 2, "logo"),
    Case("fetch", "html-in-the-study-name", edit(name='<img src="file:///etc/passwd"><link rel="attachment" href="../elsewhere/private.csv">'),
         0, pdf=True, check=no_attachments),
    Case("fetch", "html-in-an-instrument-label", instrument_edit(lambda d: {**d, "name": '<link rel="attachment" href="file:///etc/hostname"> scale'}),
         0, pdf=True, check=no_attachments),

    # -- outside: a study reads nothing outside its folder unless it says so ----------------------
    Case("outside", "absolute-wave-path", lambda study, scratch: wave("pre", str(secret_file(scratch)))(study, scratch), 2, "is an absolute path outside the study folder"),
    Case("outside", "wave-climbs-out", lambda study, scratch: (secret_file(scratch), wave("pre", "../elsewhere/private.csv")(study, scratch)), 2, "leads outside the study folder"),
    Case("outside", "wave-symlink-out", lambda study, scratch: (secret_file(scratch), (study / "pre.csv").unlink(),
         os.symlink(scratch / "elsewhere" / "private.csv", study / "pre.csv")), 2, "symbolic link that leads outside"),
    Case("outside", "wave-is-etc-passwd", wave("pre", "/etc/passwd"), 2, "is an absolute path outside the study folder"),
    Case("outside", "allow-outside-opens-the-door", lambda study, scratch: (shutil.copytree(study, scratch / "elsewhere2"),
         wave("pre", "../elsewhere2/pre.csv")(study, scratch), edit(data={"allow_outside": True})(study, scratch)), 0, check=ran_whole),
    Case("outside", "instrument-id-climbs-out", edit(instruments=["../../elsewhere/x"]), 2, "instruments"),
    Case("outside", "instrument-file-symlinked-out", lambda study, scratch: ((scratch / "elsewhere").mkdir(),
         (study / "instruments" / "tiny.yaml").rename(scratch / "elsewhere" / "tiny.yaml"),
         os.symlink(scratch / "elsewhere" / "tiny.yaml", study / "instruments" / "tiny.yaml")), 2, "leads outside the study folder"),
    Case("outside", "instruments-folder-symlinked-out", lambda study, scratch: ((study / "instruments").rename(scratch / "shared-instruments"),
         os.symlink(scratch / "shared-instruments", study / "instruments")), 2, "leads outside the study folder"),
    Case("outside", "logo-climbs-out", lambda study, scratch: ((scratch / "logo.png").write_bytes(b"x"), edit(report={"logo": "../logo.png"})(study, scratch)),
         2, "leads outside the study folder"),
    Case("outside", "logo-symlink-to-passwd", both(symlink_to(lambda scratch: Path("/etc/passwd"), "logo.png"), edit(report={"logo": "logo.png"})), 2,
         "symbolic link that leads outside"),
    Case("outside", "dictionary-outside", both(wave("pre", {"file": "pre.csv", "format": "redcap", "event": "x", "dictionary": "/etc/passwd"})), 2,
         "outside the study folder"),

    # -- bounds: one line, bounded time and memory ------------------------------------------------
    Case("bounds", "yaml-billion-laughs", raw_yaml(BILLION_LAUGHS), 2, "study.yaml"),
    Case("bounds", "yaml-merge-key", raw_yaml(BASE_YAML + "base: &b {alpha: 0.05}\nanalysis:\n  <<: *b\n"), 2, "study.yaml"),
    Case("bounds", "yaml-merge-key-without-anchor", raw_yaml(BASE_YAML + "analysis:\n  <<: {alpha: 0.05}\n"), 2, "<<"),
    Case("bounds", "yaml-mapping-as-key", raw_yaml(BASE_YAML + "? {a: 1}\n: x\n"), 2, "study.yaml"),
    Case("bounds", "yaml-sequence-as-key", raw_yaml(BASE_YAML + "? [a, b]\n: x\n"), 2, "study.yaml"),
    Case("bounds", "yaml-deep-nesting", raw_yaml(BASE_YAML + "description: " + "[" * 5000 + "]" * 5000 + "\n"), 2, "study.yaml"),
    Case("bounds", "yaml-python-tag", raw_yaml(BASE_YAML + "program: !!python/object/apply:os.system [echo hi]\n"), 2, "study.yaml"),
    Case("bounds", "yaml-huge-file", raw_yaml(BASE_YAML + "description: '" + "x" * 3_000_000 + "'\n"), 2, "study.yaml"),
    Case("bounds", "response-range-of-ten-million", instrument_edit(lambda d: {**d, "response": {"min": 0, "max": 10_000_000}}), 2, "tiny.yaml"),
    Case("bounds", "instrument-listed-twice-two-spellings", edit(instruments=["tiny", "TINY"]), 2, "instruments"),
    Case("bounds", "instrument-listed-twice", edit(instruments=["tiny", "tiny"]), 2, "listed twice"),
    Case("bounds", "xlsx-claims-a-million-rows", excel_pre(dimension="A1:XFD1048576"), 0, check=ran_whole),
    Case("bounds", "xlsx-zip-bomb", both(write("pre.xlsx", zip_bomb()), wave("pre", "pre.xlsx")), 2, "pre.xlsx"),
    Case("bounds", "xlsx-that-is-a-csv", lambda study, scratch: (shutil.copyfile(study / "pre.csv", study / "pre.xlsx"), wave("pre", "pre.xlsx")(study, scratch)),
         2, "pre.xlsx"),
    Case("bounds", "sav-that-is-garbage", both(write("pre.sav", b"\x00garbage" * 100), wave("pre", "pre.sav")), 2, "pre.sav"),
    Case("bounds", "wave-is-dev-zero", both(wave("pre", "/dev/zero"), edit(data={"allow_outside": True})), 2, "not a regular file"),
    Case("bounds", "wave-is-a-fifo", both(fifo("pipe.csv"), wave("pre", "pipe.csv")), 2, "not a regular file"),
    Case("bounds", "wave-is-a-folder", both(folder("data.csv"), wave("pre", "data.csv")), 2, "data.csv"),
    Case("bounds", "delimiter-newline", wave("pre", {"file": "pre.csv", "delimiter": "\n"}), 2, "delimiter"),
    Case("bounds", "delimiter-letter", wave("pre", {"file": "pre.csv", "delimiter": "a"}), 2, "delimiter"),
    Case("bounds", "delimiter-quote", wave("pre", {"file": "pre.csv", "delimiter": '"'}), 2, "delimiter"),
    Case("bounds", "encoding-that-is-not-text", wave("pre", {"file": "pre.csv", "encoding": "base64"}), 2, "encoding"),
    Case("bounds", "header-of-a-hundred-thousand-columns", write("pre.csv", ",".join(f"c{i}" for i in range(100_000)) + "\n"), 2, "pre.csv"),
    Case("bounds", "subgroup-of-a-thousand-values", both(rewrite_pre(lambda frame: frame), lambda study, scratch: (
         lambda frame: pd.concat([frame] * 42, ignore_index=True).head(1000).assign(participant_id=[f"Q{i}" for i in range(1000)], cohort=THOUSAND_VALUES)
         .to_csv(study / "pre.csv", index=False))(pd.read_csv(study / "pre.csv", dtype=str)), edit(subgroups=["cohort"])), 2, "distinct values"),
    Case("bounds", "subgroup-value-of-ten-megabytes", both(rewrite_pre(set_cells("cohort", ["x" * 10_000_000])), edit(subgroups=["cohort"])), 2, "characters"),
    Case("bounds", "group-value-of-ten-megabytes", both(rewrite_pre(set_cells("cohort", ["x" * 10_000_000])), groups()), 0, check=unknown_groups_counted(1)),
    Case("bounds", "group-values-of-control-characters-and-overrides", both(rewrite_pre(set_cells("cohort", ["\u202eAutumn\x1b[31m"] * 24)), groups()), 2,
         "no participant is in either group; the column holds '\\u202eAutumn\\x1b[31m' (24)"),
    Case("bounds", "key-file-is-dev-zero", edit(data={"pseudonymise": {"key_file": "/dev/zero"}}), 2, "not a regular file"),
    Case("bounds", "key-file-is-a-fifo", lambda study, scratch: (os.mkfifo(scratch / "key.fifo"),
         edit(data={"pseudonymise": {"key_file": str(scratch / "key.fifo")}})(study, scratch)), 2, "not a regular file"),
    Case("bounds", "a-five-megabyte-answer", rewrite_pre(set_cells("tiny_1", ["9" * 5_000_000])), 0, check=ran_whole),

    # -- crash: valid data never crash ------------------------------------------------------------
    Case("crash", "ten-thousand-participants", lambda study, scratch: write_demo_study(scratch / "big", participants=10_000), 0,
         command=lambda study, scratch: ["run", str(scratch / "big"), "--out", str(scratch / "out"), "--no-pdf"]),
    Case("crash", "every-answer-the-same", rewrite_pre(lambda f: f.assign(**dict.fromkeys(ITEMS, "3")), post_too=True), 0, pdf=True),
    Case("crash", "everyone-rises-by-exactly-one", lambda study, scratch: (lambda pre: (pre.to_csv(study / "pre.csv", index=False),
         pre.assign(tiny_1=pre["tiny_1"].clip(1, 4) + 1).assign(tiny_3=pre["tiny_3"].clip(1, 4) + 1, tiny_2=pre["tiny_2"].clip(2, 5) - 1)
         .to_csv(study / "post.csv", index=False)))(pd.read_csv(study / "pre.csv").assign(tiny_1=2, tiny_2=4, tiny_3=2)), 0, pdf=True),
    Case("crash", "one-pair-only", rewrite_pre(lambda frame: frame.iloc[:1], post_too=True), 0, pdf=True),
    # A later wave sharing no id with the baseline is another study's file or differently written ids: refused, ids not echoed.
    Case("crash", "no-id-in-both-waves", rewrite_pre(lambda f: f.assign(participant_id=[f"X{i}" for i in range(len(f))])), 2,
         "waves.post: no participant id of post.csv is in the baseline's (pre.csv)"),
    Case("crash", "three-waves-one-empty", both(write("later.csv", "participant_id,tiny_1,tiny_2,tiny_3\n"), wave("later", "later.csv")), 0, pdf=True),
    Case("crash", "twelve-waves-of-one-file", edit(waves={f"w{i}": "post.csv" for i in range(10)}), 0),  # pre, post and 10 more
    Case("messages", "fourteen-waves", edit(waves={f"w{i}": "post.csv" for i in range(12)}), 2, "waves: a study has 2 to 12 waves in time order"),
    Case("crash", "follow-up-all-blank", lambda study, scratch: pd.read_csv(study / "post.csv", dtype=str).assign(**dict.fromkeys(ITEMS, ""))
         .to_csv(study / "post.csv", index=False), 0, pdf=True),
    Case("crash", "unicode-ids", rewrite_pre(lambda f: f.assign(participant_id=[f"\u05d0{i}\U0001f600" for i in range(len(f))]), post_too=True), 0, pdf=True),
    Case("crash", "all-at-the-top-of-the-scale", rewrite_pre(lambda f: f.assign(tiny_1="5", tiny_2="1", tiny_3="5"), post_too=True), 0),
    Case("crash", "huge-t-from-tiny-noise", lambda study, scratch: (lambda pre: (pre.to_csv(study / "pre.csv", index=False),
         pre.assign(tiny_1=5, tiny_2=1, tiny_3=[5 if i else 4 for i in range(len(pre))]).to_csv(study / "post.csv", index=False)))(
         pd.read_csv(study / "pre.csv").assign(tiny_1=1, tiny_2=5, tiny_3=1)), 0),

    # -- messages: one clear line naming the file and what to do ----------------------------------
    Case("messages", "yaml-control-character", raw_yaml(BASE_YAML + "program: bell\x07here\n"), 2, "study.yaml"),
    Case("messages", "yaml-nul-byte", raw_yaml(BASE_YAML + "program: a\x00b\n"), 2, "study.yaml"),
    Case("messages", "study-yaml-is-a-list", raw_yaml("- a\n- b\n"), 2, "expected a YAML mapping"),
    Case("messages", "study-yaml-missing", lambda study, scratch: (study / "study.yaml").unlink(), 2, "study.yaml"),
    Case("messages", "unknown-field", edit(wavez={"pre": "pre.csv"}), 2, "unknown field"),
    Case("messages", "groups-as-a-string", edit(groups="cohort"), 2, "groups is a mapping, e.g. groups: {column: cohort, program: [program]"),
    Case("messages", "groups-unknown-field", groups(colour="red"), 2, "groups.colour: unknown field"),
    Case("messages", "group-column-missing", groups(column="arm"), 2, "group column 'arm' not found; groups.column names the baseline export's column"),
    Case("messages", "group-value-in-both-lists", groups(comparison=["Autumn", " SPRING"]), 2, "' SPRING' is in both groups.program and groups.comparison"),
    Case("messages", "one-group-empty", groups(comparison=["waitlist"]), 2,
         "no participant is in the comparison group; the column holds 'Spring' (8), 'Summer' (8), 'Autumn' (8); add its values to groups.comparison"),
    Case("messages", "two-groups-with-unknown-values", both(rewrite_pre(set_cells("cohort", ["", "Winter", " autumn "])), groups()), 0,
         check=unknown_groups_counted(2)),
    Case("messages", "nul-in-a-header", write("pre.csv", "participant_id,tiny_1,tiny_2,tiny_3,No\x00tes\nP001,1,2,3,x\n"), 2, "pre.csv"),
    Case("messages", "ids-differ-by-unicode-normalisation", ids_by_wave(lambda i: f"Am\u00e9lie{i}", lambda i: f"Ame\u0301lie{i}"),
         0, check=ids_pair_after_normalising),
    Case("messages", "ids-with-zero-width-spaces-and-boms", rewrite_pre(lambda f: f.assign(participant_id=[
         f"\ufeff{p}" if i % 2 else f"{p[:2]}\u200b{p[2:]}" for i, p in enumerate(f["participant_id"])])), 0, check=ids_pair_after_normalising),
    Case("messages", "same-study-absolute-path", lambda study, scratch: None, 0, pdf=True, check=no_absolute_path_in_reports),
    Case("messages", "source-date-epoch-garbage", lambda study, scratch: None, 2, "SOURCE_DATE_EPOCH", env={"SOURCE_DATE_EPOCH": "garbage"}),
    Case("messages", "pseudonymise-without-key", edit(data=PSEUDONYMISE), 2, "IMPACT_ID_KEY"),
    Case("messages", "utf16-export", lambda study, scratch: (study / "pre.csv").write_bytes((study / "pre.csv").read_text().encode("utf-16")), 2, "utf-16"),
    Case("messages", "excel-formula-without-saved-value", excel_pre(formula_cells={"B3": "1+1"}), 0, check=formula_listed),
    Case("messages", "wave-file-missing", wave("pre", "nowhere.csv"), 2, "not found"),
    Case("messages", "instrument-missing", edit(instruments=["tiny", "nonesuch"]), 2, "nonesuch"),
    Case("messages", "duplicate-column-names", write("pre.csv", "participant_id,tiny_1,tiny_1,tiny_2,tiny_3\nP001,1,2,3,4\n"), 2, "used twice"),
]
