"""The two reports of the demo study: every part the funder and the reviewer need, privacy,
security, accessibility and byte-identical rebuilds."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import struct
import zlib
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from pipeline import report
from pipeline.analyze import RESULT_COLUMNS
from pipeline.errors import PipelineError
from pipeline.run import manifest, run_study, write_outputs
from pipeline.study import load_study

from .conftest import DEMO

EPOCH = "1767225600"  # 2026-01-01


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def squashed(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def demo_run():
    return run_study(load_study(DEMO))


@pytest.fixture(scope="module")
def demo_reports(demo_run):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        return report.render_reports(demo_run)


def test_both_reports_come_as_pdf_and_html(demo_reports):
    assert set(demo_reports) == {"impact-report.pdf", "impact-report.html", "technical-report.pdf", "technical-report.html"}
    for name, content in demo_reports.items():
        assert content.startswith(b"%PDF-" if name.endswith(".pdf") else b"<!DOCTYPE html>")


def test_impact_report_has_every_part_a_funder_needs(demo_run, demo_reports):
    text = squashed(pdf_text(demo_reports["impact-report.pdf"]))
    config = demo_run.study.config
    for part in [config.program, config.organisation, config.period, "Contents", "Summary", "Who took part",
                 "Change on every variable", "Variable by variable", "Results table", "What this design cannot show",
                 "How the numbers were made", "Glossary", "No comparison group", "regression to the mean",
                 "Reliable change", "Page 3 of", "Results by subgroup", "By cohort", "Spring"]:  # fmt: skip
        assert part in text, part
    improved = int((demo_run.results["outcome"] == "improved").sum())
    before = report.improved_before_correction(demo_run.results, 0.05)
    assert f"Significant improvement in {improved} of 20 variables" in text
    assert f"{before} of 20 before correction" in text
    assert "Holm (1979) correction" in text
    # Every variable is named with its effect size in words, d_z and raw units
    for name in demo_run.results.loc[demo_run.results["outcome"] == "improved", "name"]:
        assert name in text
    assert re.search(r"d z [0-9.]+, (small|medium|large)", text.replace("dz", "d z"))
    assert "on its 1\u20137 scale" in text


def test_reports_state_the_run_id_and_input_hashes(demo_run, demo_reports):
    provenance = manifest(demo_run)
    for name in ("impact-report.pdf", "technical-report.pdf"):
        text = pdf_text(demo_reports[name]).replace("\n", "")
        assert provenance["run_id"] in text
        for wave in demo_run.waves:
            assert wave.sha256 in text, (name, wave.wave)


def test_technical_report_shows_every_results_column(demo_reports):
    html = demo_reports["technical-report.html"].decode()
    grouped = [column for _, _, columns in report.TECHNICAL_GROUPS for column in columns]
    assert sorted(grouped) == sorted(set(RESULT_COLUMNS) - {"variable", "name", "note"})  # each exactly once
    for column in grouped:
        breakable = column.replace("_", "_\u200b")
        assert f">{breakable}</th>" in html, column
    text = squashed(pdf_text(demo_reports["technical-report.pdf"]))
    for part in ["Assumptions", "Shapiro", "Reliability in this sample", "Reliable change", "Attrition",
                 "Intention-to-treat mixed model", "Instruments", "Run manifest", "Git commit",
                 "suppression threshold 10", "weasyprint"]:  # fmt: skip
        assert part in text, part


def test_no_participant_id_reaches_either_pdf(demo_run, demo_reports):
    ids = set(demo_run.scores[demo_run.study.id_column])
    for name in ("impact-report.pdf", "technical-report.pdf"):
        text = pdf_text(demo_reports[name])
        assert not [participant for participant in ids if participant in text], name


def test_every_image_has_alt_text_and_every_table_header_a_scope(demo_reports):
    for name in ("impact-report.html", "technical-report.html"):
        html = demo_reports[name].decode()
        assert '<html lang="en">' in html and "<title>" in html
        images = re.findall(r"<img [^>]*>", html)
        assert images and all(re.search(r'alt="[^"]{12,}"', image) for image in images), name
        assert not re.search(r"<th(?![^>]*scope=)(?!ead)[^>]*>", html), name
    # The forest plot's alt text states the finding, not just "chart"
    assert "improved significantly, the largest being" in demo_reports["impact-report.html"].decode()


def test_html_twins_are_self_contained(demo_reports):
    for name in ("impact-report.html", "technical-report.html"):
        html = demo_reports[name].decode()
        assert "file:" not in html and "http://" not in html and "https://" not in html


def test_fonts_are_embedded(demo_reports):
    for name in ("impact-report.pdf", "technical-report.pdf"):
        reader = PdfReader(io.BytesIO(demo_reports[name]))
        fonts = {}
        for page in reader.pages:
            for font in (page["/Resources"].get("/Font") or {}).values():
                font = font.get_object()
                descriptor = font.get("/FontDescriptor") or font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
                descriptor = descriptor.get_object()
                fonts[font["/BaseFont"]] = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
        assert fonts and all(fonts.values()), fonts


def test_same_inputs_give_byte_identical_pdfs(demo_run, demo_reports, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)  # this time in one process: the bytes must not depend on it
    again = report.render_reports(demo_run)
    assert again["impact-report.pdf"] == demo_reports["impact-report.pdf"]
    assert again["technical-report.pdf"] == demo_reports["technical-report.pdf"]


def test_flow_counts_are_suppressed_and_totals_coarsened():
    import pandas as pd

    flow = {
        "rows_pre": 25, "excluded_pre_duplicate": 2, "excluded_pre_empty": 1, "rows_post": 15,
        "valid_pre": 22, "valid_post": 15, "matched": 15, "pre_only": 7, "post_only": 0,
    }  # fmt: skip
    config = SimpleNamespace(enrolled=30)
    study = SimpleNamespace(config=config, wave_names=("pre", "post"), baseline="pre", primary="post", later_waves=("post",), wave_label=str)
    run = SimpleNamespace(flow=flow, study=study, results=pd.DataFrame({"n_pairs": [15, 14, 9]}))
    published = report.participant_flow(run, threshold=10)
    shown = published["shown"]
    assert shown["matched"] == "15" and shown["pre_only"] == "<10" and shown["excluded_pre"] == "<10"
    assert shown["valid_pre"] == "16\u201324"  # 15 + (1..9), so the 7 cannot be worked out
    assert shown["rows_pre"] == "17\u201333" and shown["enrolled"] == "17\u201333"
    assert published["analysed"] == "<10\u201315"
    boxes = " ".join(f"{box['count']} {box['label']}" for box in published["main"])
    lines = " ".join(line for box in published["side"] for line in [box["title"], *box["lines"]])
    assert not re.search(r"\b(7|22|3)\b", boxes + " " + lines)
    assert "repeat answers of one person: <10" in lines and "no usable answers: <10" in lines


def test_tables_xlsx_has_the_tables_and_no_live_formulas(demo_run, tmp_path):
    write_outputs(demo_run, tmp_path, pdf=False)
    book = load_workbook(tmp_path / "tables.xlsx")
    assert {"results", "reliable change", "attrition", "participant flow", "ledger", "exclusion reasons", "subgroups"} <= set(book.sheetnames)
    assert (tmp_path / "subgroups.csv").is_file()
    results = book["results"]
    assert [cell.value for cell in results[1]] == RESULT_COLUMNS
    assert all(cell.data_type != "f" for row in results.iter_rows() for cell in row)


# --- security ------------------------------------------------------------------------------

HOSTILE = '<img src="file:///etc/passwd"><link rel="attachment" href="file:///etc/hostname"><b>bold</b>'


def hostile_study(study_dir):
    """The minimal study with markup in its name, an instrument's labels and participant values."""
    path = study_dir / "study.yaml"
    path.write_text(
        path.read_text().replace("name: Minimal example", f"name: '{HOSTILE}'")
        + f"program: '{HOSTILE}'\norganisation: '<link rel=\"attachment\" href=\"file:///etc/hostname\">'\n"
    )
    instrument = study_dir / "instruments" / "tiny.yaml"
    instrument.write_text(instrument.read_text().replace("name: Tiny score", f"name: '{HOSTILE}'"))
    for wave in ("pre.csv", "post.csv"):
        export = study_dir / wave
        lines = export.read_text().splitlines()
        lines[1] = '"<img src=""file:///etc/passwd"">"' + lines[1][lines[1].index(","):]
        export.write_text("\n".join(lines) + "\n")
    return study_dir


def test_markup_in_names_labels_and_values_is_shown_as_text_and_nothing_is_fetched(minimal_study, monkeypatch):
    fetched = []
    original = report.asset_fetcher

    def recording_fetcher(*args, **kwargs):
        fetcher = original(*args, **kwargs)
        fetch = fetcher.fetch

        def record(url, headers=None):
            fetched.append(url)
            return fetch(url, headers)

        fetcher.fetch = record
        return fetcher

    monkeypatch.setattr("pipeline.pdf.asset_fetcher", recording_fetcher)  # where html_to_pdf looks it up
    # Render in this process, so that every fetch is recorded here (not in a renderer process).
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    run = run_study(load_study(hostile_study(minimal_study)))
    outputs = report.render_reports(run)
    assert fetched and all(url.startswith("data:") for url in fetched)  # charts only; no file, no network
    for name in ("impact-report.html", "technical-report.html"):
        html = outputs[name].decode()
        assert "<img src=\"file:///etc" not in html and '<link rel="attachment"' not in html and "<b>bold" not in html
        assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    for name in ("impact-report.pdf", "technical-report.pdf"):
        reader = PdfReader(io.BytesIO(outputs[name]))
        assert "/EmbeddedFiles" not in str(reader.trailer["/Root"].get("/Names", {}))
        assert all(annotation.get_object().get("/Subtype") != "/FileAttachment" for page in reader.pages for annotation in page.get("/Annots") or [])
        text = "".join(page.extract_text() for page in reader.pages).replace("\n", "")
        assert '<img src="file:///etc/passwd">' in text  # the name, shown as text
        assert "/etc/passwd\"\">" not in text  # the participant id never reaches the PDF


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://169.254.169.254/latest", "https://example.org/x.css", "ftp://example.org/x"])
def test_fetcher_refuses_anything_but_assets_and_declared_files(url, tmp_path):
    from weasyprint.urls import FatalURLFetchingError

    declared = tmp_path / "logo.png"
    declared.write_bytes(png_bytes())
    with pytest.raises((FatalURLFetchingError, ValueError)):
        report.asset_fetcher(files=(declared,)).fetch(url)
    sibling = tmp_path / "secret.txt"
    sibling.write_text("secret")
    with pytest.raises(FatalURLFetchingError):
        report.asset_fetcher(files=(declared,)).fetch(sibling.as_uri())
    assert report.asset_fetcher(files=(declared,)).fetch(declared.as_uri()) is not None


def png_bytes(width: int = 40, height: int = 12) -> bytes:
    """A small valid navy PNG, written by hand so the test needs no image library."""
    row = b"\x00" + b"\x12\x35\x5b" * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def test_a_declared_logo_is_drawn_and_embedded_in_the_html(minimal_study):
    (minimal_study / "logo.png").write_bytes(png_bytes())
    path = minimal_study / "study.yaml"
    path.write_text(path.read_text() + "report:\n  logo: logo.png\n")
    outputs = report.render_reports(run_study(load_study(minimal_study)))
    assert "data:image/png;base64," in outputs["impact-report.html"].decode()
    reader = PdfReader(io.BytesIO(outputs["impact-report.pdf"]))
    objects = (reader.pages[0]["/Resources"].get("/XObject") or {}).values()
    assert any(item.get_object().get("/Subtype") == "/Image" for item in objects)  # the cover draws the logo


@pytest.mark.parametrize(
    ("logo", "message"),
    [("../outside.png", "outside the study folder"), ("missing.png", "not found"), ("pre.csv", "must be a")],
)
def test_a_logo_outside_the_study_folder_or_missing_is_refused(minimal_study, logo, message):
    shutil.copy(minimal_study / "pre.csv", minimal_study.parent / "outside.png")
    path = minimal_study / "study.yaml"
    path.write_text(path.read_text() + f"report:\n  logo: '{logo}'\n")
    with pytest.raises(PipelineError, match=message):
        load_study(minimal_study)


def test_pdf_ua_variant_is_marked_as_such(minimal_study):
    path = minimal_study / "study.yaml"
    path.write_text(path.read_text() + "report:\n  pdf_variant: pdf/ua-1\n")
    outputs = report.render_reports(run_study(load_study(minimal_study)))
    root = PdfReader(io.BytesIO(outputs["impact-report.pdf"])).trailer["/Root"]
    assert b'pdfuaid:part="1"' in root["/Metadata"].get_object().get_data()
    assert "/StructTreeRoot" in root and root["/Lang"] == "en"


def test_suppression_threshold_is_configurable(minimal_study):
    path = minimal_study / "study.yaml"
    path.write_text(path.read_text() + "report:\n  suppression_threshold: 5\n")
    run = run_study(load_study(minimal_study))
    context = report.report_context(run)
    assert context["threshold"] == 5
    assert all(not str(value).startswith("<") or str(value) == "<5" for value in context["flow"]["shown"].values())


def test_a_threshold_of_two_is_refused_because_it_would_hide_nothing(minimal_study):
    path = minimal_study / "study.yaml"
    path.write_text(path.read_text() + "report:\n  suppression_threshold: 2\n")
    with pytest.raises(PipelineError, match="would hide nothing"):
        load_study(minimal_study)


def test_demo_flow_shows_exclusions_suppressed_and_the_total_coarsened(demo_run, demo_reports):
    # The demo's baseline has 150 valid answers plus 3 excluded rows (2 repeat attempts, 1 test row):
    # the reasons are "<10", and 153 would give the 3 away, so it is shown as 151–159.
    assert demo_run.flow["rows_pre"] == 153 and demo_run.flow["valid_pre"] == 150
    html = demo_reports["impact-report.html"].decode()
    flow_svg = base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)" alt="Participant flow', html).group(1)).decode()
    assert "151\u2013159" in flow_svg and "repeat answers of one person: &lt;10" in flow_svg and "no participant id: &lt;10" in flow_svg
    assert ">153<" not in flow_svg


# --- three or more waves ---------------------------------------------------------------------

def svgs(html: str, alt_start: str = "") -> list[str]:
    """The SVG documents of the ``<img>``s whose alt text starts with ``alt_start``."""
    found = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)" alt="' + re.escape(alt_start), html)
    return [base64.b64decode(data).decode() for data in found]


@pytest.fixture(scope="module")
def followup_run():
    from .conftest import SURVEYS

    return run_study(load_study(SURVEYS / "demo-followup"))


@pytest.fixture(scope="module")
def followup_reports(followup_run):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        return report.render_reports(followup_run)


def test_a_three_wave_report_shows_trajectories_the_later_waves_and_a_flow_box_per_wave(followup_run, followup_reports):
    import xml.etree.ElementTree as ET

    html = followup_reports["impact-report.html"].decode()
    # A trajectory per variable in place of the paired slopes, with the waves' labels in the chart.
    assert html.count('<img class="slopes trajectory"') == 20 and '<img class="slopes" ' not in html
    charts = svgs(html, "Subjective happiness: the mean was")
    assert len(charts) == 1
    root = ET.fromstring(charts[0])
    labels = " ".join(t.text for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert all(word in labels for word in ("Start of program", "End of program", "months", "after"))
    # What happened at the later wave, in words (8 of the 12 planted improvements were kept).
    improved = followup_run.results.loc[followup_run.results["outcome"] == "improved", "variable"]
    kept = followup_run.changes.query("from_wave == 'pre' and to_wave == 'followup' and outcome == 'improved'")["variable"]
    assert (len(improved), len(set(kept) & set(improved))) == (12, 8)
    assert "At 6 months after, 8 of the 12 improvements were still significant against the start of program." in html
    assert "Between the end of program and 6 months after, 4 variables lost ground significantly" in html
    assert "Significant improvement in 12 of 20 variables at the end of program" in html
    # One main box per wave, each named by its label.
    (flow,) = svgs(html, "Participant flow")
    boxes = [r for r in ET.fromstring(flow).iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "main"]
    assert len(boxes) == 4  # answers received at baseline, then valid answers at each of the 3 waves
    flow_text = squashed(" ".join(t.text for t in ET.fromstring(flow).iter("{http://www.w3.org/2000/svg}text")))
    for label in ("Excluded at baseline", "Excluded at End of program", "Excluded at 6 months after", "End of program (primary"):
        assert label in flow_text, label
    # Attrition at each wave, and the forest plot's interval per later wave with its legend.
    assert "38 of the 150 people with a valid baseline answer (25%) did not answer at the end of program" in html
    assert "60 of the 150 people with a valid baseline answer (40%) did not answer at 6 months after" in html
    (forest,) = svgs(html, "Forest plot")
    legend = [t.text for t in ET.fromstring(forest).iter("{http://www.w3.org/2000/svg}text") if t.text in ("End of program", "6 months after")]
    assert legend == ["End of program", "6 months after"] and 'class="markers square"' in forest
    assert "Satterthwaite" in html and "Kuznetsova" in html


def test_a_three_wave_technical_report_has_the_changes_and_trajectory_tables(followup_run, followup_reports):
    from pipeline.schema import CHANGES, TRAJECTORY

    html = followup_reports["technical-report.html"].decode()
    assert 'id="changes"' in html and 'id="trajectory"' in html
    for table, groups in ((CHANGES, ("change_descriptives", "change_tests", "change_model")), (TRAJECTORY, ("trajectory",))):
        for group in groups:
            for column in table.grouped()[group]:
                breakable = column.replace("_", "_\u200b")
                assert f">{breakable}</th>" in html, column
    assert html.count("shs_total: pre \u2192 followup</span>") == 4  # one row in each changes table (the tests are split in two)
    assert "shs_total: followup</span>" in html
    text = squashed(pdf_text(followup_reports["technical-report.pdf"]))
    assert "Change at every wave: tests and effect sizes (1 of 2)" in text and "Trajectory: the mean at every wave" in text
    impact = squashed(pdf_text(followup_reports["impact-report.pdf"]))
    assert "At the other waves" in impact and "6 months after" in impact


def test_two_wave_reports_have_no_trajectory_and_no_later_wave_sections(demo_reports):
    impact = demo_reports["impact-report.html"].decode()
    assert 'class="slopes trajectory"' not in impact and impact.count('<img class="slopes" ') == 20
    assert "At the other waves" not in impact and "answers received before the program (baseline)" in base64.b64decode(
        re.search(r'src="data:image/svg\+xml;base64,([^"]+)" alt="Participant flow', impact).group(1)
    ).decode()
    (forest,) = svgs(impact, "Forest plot")
    assert 'id="legend"' not in forest
    technical = demo_reports["technical-report.html"].decode()
    assert 'id="changes"' not in technical and 'id="trajectory"' not in technical and "Wald" not in technical
    assert "Satterthwaite df and t (lmerTest)" in technical


def test_waves_are_read_by_role_not_by_name(minimal_study):
    # The same two-wave study with its waves named t0 and t1 reads exactly as before, but for the names in the manifest.
    before = report.render_html(report.report_context(run_study(load_study(minimal_study))))
    path = minimal_study / "study.yaml"
    path.write_text(path.read_text().replace("  pre: pre.csv", "  t0: pre.csv").replace("  post: post.csv", "  t1: post.csv"))
    renamed = run_study(load_study(minimal_study))
    after = report.render_html(report.report_context(renamed))
    assert re.sub(r"<td>(pre|post|t0|t1)</td>", "", re.sub(r"[0-9a-f]{12}", "", before)) == re.sub(
        r"<td>(pre|post|t0|t1)</td>", "", re.sub(r"[0-9a-f]{12}", "", after)
    )
