"""The catalogue (codebook): every instrument's published facts, in words, and never item wording."""

from __future__ import annotations

from markupsafe import escape

import pytest
from pypdf import PdfReader

from pipeline.catalogue import catalogue_context, missing_item_rule, render_catalogue_html, scoring_rule
from pipeline.instruments import library_instruments

from .conftest import LIBRARY, REPO, run_impact

INSTRUMENTS = library_instruments(LIBRARY)
BY_ID = {instrument.id: instrument for instrument in INSTRUMENTS}


@pytest.fixture(scope="module")
def catalogue_html() -> str:
    return render_catalogue_html(INSTRUMENTS, "1 January 2026")


def test_every_instrument_and_scale_is_catalogued(catalogue_html):
    for instrument in INSTRUMENTS:
        assert f'id="{instrument.id}"' in catalogue_html
        assert str(escape(instrument.citation)) in catalogue_html
        for scale in instrument.scales:
            assert scale.id in catalogue_html
            assert str(escape(scoring_rule(instrument, scale))) in catalogue_html


def test_rules_in_words_follow_the_definition():
    mlq = BY_ID["mlq"]
    assert scoring_rule(mlq, mlq.scale("mlq_p")) == (
        "Sum of items 1, 4, 5, 6, 9, with item 9 reverse-keyed (8 \u2212 x). Possible scores 5 to 35."
    )
    assert missing_item_rule(mlq, mlq.scale("mlq_p")).startswith(
        "At least 4 of 5 items; a missing item is prorated (mean of answered items \u00d7 5)."
    )
    spane = BY_ID["spane"]
    assert scoring_rule(spane, spane.scale("spane_b")) == "Positive feelings minus Negative feelings. Possible scores \u221224 to 24."
    lot_r = BY_ID["lot_r"]
    assert "as answered" in scoring_rule(lot_r, lot_r.scale("lot_r_pessimism"))
    phq9 = BY_ID["phq9"]
    assert missing_item_rule(phq9, phq9.scale("phq9_total")).startswith("All 9 items required.")


def test_bands_cutoffs_reliability_and_norms_are_shown(catalogue_html):
    for text in ("15\u201319 moderately severe", "\u2265 10", "4.31\u20135 high resilience", "\u03b1 = .89\u2013.94", "23.8", "Talking Therapies"):
        assert text in catalogue_html, text


def test_overview_counts_primary_outcomes():
    context = catalogue_context(INSTRUMENTS, "today")
    assert context["primary_count"] == 20
    assert len(context["overview"]) == sum(len(i.scales) for i in INSTRUMENTS)


def test_markup_in_definitions_is_shown_as_text():
    evil = BY_ID["shs"].model_copy(update={"citation": '<img src="file:///etc/passwd"> & co'})
    page = render_catalogue_html([evil], "today")
    assert "<img src" not in page and "&lt;img src=" in page


def test_cli_writes_html_and_pdf(tmp_path):
    result = run_impact("instruments", "catalogue", "--out", str(tmp_path), cwd=REPO)
    assert result.returncode == 0, result.stderr
    reader = PdfReader(tmp_path / "instrument-catalogue.pdf")
    text = "".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) > len(INSTRUMENTS)
    for instrument in INSTRUMENTS:
        assert instrument.label in text
    assert (tmp_path / "instrument-catalogue.html").stat().st_size > 10_000
