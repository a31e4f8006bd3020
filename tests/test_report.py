"""Report: numbers formatted honestly, hostile text shown as text, nothing fetched from outside."""

from __future__ import annotations

import pytest
from pypdf import PdfReader

from pipeline import report
from pipeline.run import run_study
from pipeline.study import load_study

from .conftest import DEMO

HOSTILE = '<img src="file:///etc/passwd"><link rel="attachment" href="file:///etc/hostname"><b>x</b>'


@pytest.mark.parametrize(("n", "shown"), [(0, "0"), (1, "<10"), (9, "<10"), (10, "10"), (1234, "1,234")])
def test_small_counts_are_suppressed(n, shown):
    assert report.suppress_count(n) == shown


@pytest.mark.parametrize(("p", "shown"), [(0.0004, "<.001"), (0.001, ".001"), (0.0456, ".046"), (1.0, "1.000"), (float("nan"), "\u2014")])
def test_p_values_in_apa_style(p, shown):
    assert report.format_p(p) == shown


def test_change_in_words_names_direction_and_range():
    assert report.change_in_words(-2.954, "worse", 20, 80) == "a drop of 2.95 on its 20\u201380 scale, where lower is better"
    assert report.change_in_words(0.49, "better", 1, 7) == "a rise of 0.49 on its 1\u20137 scale"


def test_numbers_use_a_real_minus_and_no_negative_zero():
    assert report.format_number(-0.354) == "\u22120.35"
    assert report.format_number(-0.001) == "0.00"


def test_hostile_study_text_is_escaped_and_nothing_is_fetched(minimal_study, tmp_path):
    path = minimal_study / "study.yaml"
    path.write_text(path.read_text().replace("name: Minimal example", f"name: '{HOSTILE}'"))
    instrument = minimal_study / "instruments" / "tiny.yaml"
    instrument.write_text(instrument.read_text().replace("name: Tiny score", f"name: '{HOSTILE}'"))
    run = run_study(load_study(minimal_study))
    html = report.render_html(report.report_context(run))
    assert "<img src=\"file:///etc" not in html and "<link rel=\"attachment\"" not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html

    pdf_path = tmp_path / "report.pdf"
    pdf_path.write_bytes(report.html_to_pdf(html))
    reader = PdfReader(pdf_path)
    assert "/EmbeddedFiles" not in str(reader.trailer["/Root"].get("/Names", {}))
    assert '<img src="file:///etc/passwd">' in "".join(page.extract_text() for page in reader.pages).replace("\n", "")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://169.254.169.254/latest", "https://example.org/x.css"])
def test_fetcher_refuses_anything_outside_the_assets(url):
    from weasyprint.urls import FatalURLFetchingError

    with pytest.raises((FatalURLFetchingError, ValueError)):
        report.asset_fetcher().fetch(url)


def test_fetcher_serves_data_urls_and_package_assets():
    response = report.asset_fetcher().fetch("data:text/plain;base64,aGk=")
    assert response is not None
    asset = report.ASSETS_DIR / ".keep"
    assert report.asset_fetcher().fetch(asset.as_uri()) is not None


def test_forest_plot_points_right_for_improvement_on_lower_is_better_scales():
    import pandas as pd

    results = pd.DataFrame(
        {"name": ["Depression"], "instrument": ["PHQ-9"], "domain": ["distress"], "higher_is": ["worse"],
         "d_z": [-0.5], "d_z_ci_low": [-0.8], "d_z_ci_high": [-0.2], "outcome": ["improved"]}  # fmt: skip
    )
    svg = report.forest_plot_svg(results)
    assert "Depression (PHQ-9)" in svg
    assert report.improvement_sign("worse") == -1 and report.improvement_sign("neutral") == 1


def test_reliable_change_bar_merges_small_groups_and_hides_a_bar_that_would_say_nothing():
    import pandas as pd

    def bar(improved, unchanged, deteriorated, higher_is="better"):
        categories = pd.Series(["improved"] * improved + ["unchanged"] * unchanged + ["deteriorated"] * deteriorated)
        return report.reliable_change_bar(categories, higher_is, threshold=10)

    shown = bar(40, 67, 3)["segments"]
    assert [(s["label"], s["percent"]) for s in shown] == [("improved", 36), ("no reliable change or deteriorated", 64)]
    either = bar(6, 100, 5)["segments"]
    assert [(s["label"], s["percent"]) for s in either] == [("reliable change either way", 10), ("no reliable change", 90)]
    hidden = bar(4, 100, 3)
    assert hidden["segments"] == [] and "fewer than 10" in hidden["note"]
    assert sum(s["width"] for s in bar(30, 50, 20)["segments"]) == pytest.approx(100)


def test_effect_sizes_in_words_follow_cohens_benchmarks():
    assert [report.effect_size_in_words(d) for d in (0.1, -0.2, 0.49, 0.5, -0.8, 2.0)] == [
        "very small", "small", "small", "medium", "large", "large"
    ]


def test_technical_numbers_keep_precision_and_mark_the_undefined():
    assert report.format_technical(0.00001234, "p") == "1.234e\u221205"
    assert report.format_technical(0.0283, "p_holm") == "0.0283"
    assert report.format_technical(-0.123456, "d_z") == "\u22120.1235"
    assert report.format_technical(112.0, "n_pairs") == "112"
    assert report.format_technical(float("nan"), "d_z") == "\u2014"
    assert report.format_technical(float("inf"), "bf10") == "\u221e"
    assert report.format_technical("exact", "wilcoxon_method") == "exact"


def test_domains_are_ordered_by_the_study_not_by_the_code():
    from types import SimpleNamespace

    study = load_study(DEMO)
    # No order given: as the study's analysed scales first name them (SPANE's negative feelings bring distress in second).
    unconfigured = SimpleNamespace(config=SimpleNamespace(report=SimpleNamespace(domain_order=None)), scales=study.scales)
    assert report.domain_order(unconfigured) == ["wellbeing", "distress", "meaning and purpose", "career"]
    given = ["wellbeing", "meaning and purpose", "career", "distress"]
    assert report.domain_order(study) == given  # the demo's study.yaml gives this order
    configured = SimpleNamespace(config=SimpleNamespace(report=SimpleNamespace(domain_order=given)), scales=study.scales)
    assert report.domain_order(configured) == given  # report.domain_order in study.yaml, once ReportOptions has it


def test_the_no_comparison_group_caveat_follows_the_design(minimal_study):
    from types import SimpleNamespace

    run = run_study(load_study(minimal_study))
    assert report.study_design(run.study) == report.Design(comparison_group=False)  # no groups: in study.yaml
    groups = SimpleNamespace(assignment="not-randomised")
    assert report.study_design(SimpleNamespace(config=SimpleNamespace(groups=groups))) == report.Design(True, "not-randomised")
    assert not report.Design(True, "not-randomised").randomised and report.Design(True, "randomised").randomised
    context = report.report_context(run)
    assert context["limitations"][0]["title"] == "No comparison group"
    assert "There was no comparison group" in report.render_html(context)
    flow, alpha, name = context["flow"]["shown"], context["alpha"], context["correction_name"]
    controlled = report.limitations(run, context["threshold"], flow, alpha, name, design=report.Design(comparison_group=True))
    assert "No comparison group" not in [item["title"] for item in controlled]
    assert "There was no comparison group" not in report.render_html(context | {"design": report.Design(comparison_group=True)})


def test_the_cover_line_comes_from_the_study_or_is_neutral(minimal_study):
    from types import SimpleNamespace

    html = report.render_html(report.report_context(run_study(load_study(minimal_study))))
    assert f'<div class="subtitle">{report.DEFAULT_SUBTITLE}</div>' in html and "career" not in html
    assert report.cover_subtitle(SimpleNamespace(report=SimpleNamespace(subtitle="Change in hope"))) == "Change in hope"


def test_the_report_does_not_import_the_run():
    """run.py imports the report (lazily); the report takes provenance from pipeline.provenance, never from run.py."""
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, pipeline.report; print('pipeline.run' in sys.modules, 'weasyprint' in sys.modules)"
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120, cwd=str(Path(__file__).parent.parent))
    assert fresh.stdout.split() == ["False", "False"]
