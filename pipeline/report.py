"""Report: the funder-facing impact report, from a run's results to PDF bytes.

The HTML comes from a jinja2 template with autoescaping on for every template (study names,
labels and any text from data are shown as text, never run as markup) and undefined variables
refused. WeasyPrint renders it with a URL fetcher that may read only ``data:`` URLs and the
package's own ``assets/`` folder: no network, no redirects, no other local file.

Only aggregates reach the PDF: no participant id, no free text. Counts below the suppression
threshold are shown as ``<10``.
"""

from __future__ import annotations

import base64
import io
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import jinja2
import numpy as np
import pandas as pd

from .score import score_range

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
ASSETS_DIR = PACKAGE_DIR / "assets"

#: Counts below this are printed as "<10" (small-cell suppression; see the README).
SUPPRESSION_THRESHOLD = 10

OUTCOME_COLOURS = {"improved": "#1b7f5f", "worsened": "#b3261e", "changed": "#6a4c93"}
NEUTRAL_COLOUR = "#8a8f98"
DOMAIN_ORDER = ["wellbeing", "meaning and purpose", "career", "distress"]


# --- numbers as words and text -------------------------------------------------------------

def suppress_count(n: int, threshold: int = SUPPRESSION_THRESHOLD) -> str:
    """A count for publication: ``<threshold`` when it is between 1 and threshold - 1."""
    return f"<{threshold}" if 0 < n < threshold else f"{n:,}"


def format_number(value: float, digits: int = 2) -> str:
    """A statistic rounded for reading, with a real minus sign; an em dash when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2014"
    text = f"{value:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", "\u2212")


def format_p(p: float) -> str:
    """APA style: three decimals without a leading zero, ``<.001`` below that (APA, 2020, 6.36)."""
    if p is None or math.isnan(p):
        return "\u2014"
    if p < 0.001:
        return "<.001"
    return f"{p:.3f}".lstrip("0")


def improvement_sign(higher_is: str) -> int:
    """+1 when an increase is an improvement (or the scale has no direction), -1 when a decrease is."""
    return -1 if higher_is == "worse" else 1


# --- the forest plot -----------------------------------------------------------------------

def forest_plot_svg(results: pd.DataFrame) -> str:
    """A forest plot of d_z with 95% intervals, oriented so that right is always better.

    For scales where lower is better the sign of d_z and its interval are flipped; scales
    without a direction (``neutral``) are drawn as raw change with a hollow marker.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "impact-report", "font.family": "DejaVu Sans", "mathtext.fontset": "dejavusans"})
    rows = ordered_for_display(results).reset_index(drop=True)
    signs = rows["higher_is"].map(improvement_sign)
    centre = rows["d_z"] * signs
    low = np.where(signs > 0, rows["d_z_ci_low"], -rows["d_z_ci_high"])
    high = np.where(signs > 0, rows["d_z_ci_high"], -rows["d_z_ci_low"])
    y = np.arange(len(rows))[::-1]

    fig, ax = plt.subplots(figsize=(7.2, 0.32 * len(rows) + 1.1))
    ax.axvline(0, color="#444", linewidth=0.8)
    for position, (_, row), c, lo, hi in zip(y, rows.iterrows(), centre, low, high):
        if math.isnan(c):
            continue
        colour = OUTCOME_COLOURS.get(row["outcome"], NEUTRAL_COLOUR)
        hollow = row["higher_is"] == "neutral"
        ax.plot([lo, hi], [position, position], color=colour, linewidth=1.6, solid_capstyle="butt")
        ax.plot(c, position, "o", markersize=6, color=colour, markerfacecolor="white" if hollow else colour)
    ax.set_yticks(y, [display_label(row) for _, row in rows.iterrows()], fontsize=8.5)
    ax.set_xlabel(r"Standardized change $d_z$ with 95% interval (right = better)", fontsize=9)
    ax.tick_params(axis="x", labelsize=8.5)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color="#e3e5e8", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return buffer.getvalue()


def display_label(row, limit: int = 48) -> str:
    """A forest-plot row label, shortened with an ellipsis so long names cannot squeeze the plot."""
    suffix = " (no direction)" if row["higher_is"] == "neutral" else ""
    label = f"{row['name']} ({row['instrument']}){suffix}"
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "\u2026"


def ordered_for_display(results: pd.DataFrame) -> pd.DataFrame:
    """Results grouped by domain in a fixed order, keeping the study's order within a domain."""
    rank = {domain: index for index, domain in enumerate(DOMAIN_ORDER)}
    key = results["domain"].fillna("").map(lambda d: rank.get(d, len(rank)))
    return results.assign(_rank=key).sort_values("_rank", kind="stable").drop(columns="_rank")


# --- the report's content ------------------------------------------------------------------

def change_in_words(mean_diff: float, higher_is: str, low: float, high: float) -> str:
    """E.g. "a drop of 2.95 on its 20\u201380 scale, where lower is better"."""
    movement = "a rise" if mean_diff > 0 else "a drop"
    where = ", where lower is better" if higher_is == "worse" else ""
    return f"{movement} of {format_number(abs(mean_diff))} on its {format_number(low, 0)}\u2013{format_number(high, 0)} scale{where}"


def headline(results: pd.DataFrame, correction_name: str, ranges: dict[str, tuple[float, float]]) -> dict:
    """Counts for the headline sentence and the variables that improved, worsened or changed, in words."""

    def named(outcome: str) -> list[dict]:
        rows = results.loc[results["outcome"] == outcome]
        return [
            {
                "name": row["name"],
                "instrument": row["instrument"],
                "change": change_in_words(row["mean_diff"], row["higher_is"], *ranges[row["variable"]]),
                "d_z": format_number(row["d_z"]),
            }
            for _, row in rows.iterrows()
        ]

    improved, worsened, changed = named("improved"), named("worsened"), named("changed")
    return {
        "total": len(results),
        "improved": improved,
        "worsened": worsened,
        "changed": changed,
        "sentence": f"Significant improvement in {len(improved)} of {len(results)} variables",
        "correction_name": correction_name,
    }


CORRECTION_NAMES = {"holm": "Holm (1979)", "fdr": "Benjamini\u2013Hochberg (1995) false discovery rate"}


def report_context(run) -> dict:
    """Everything the template shows, as plain values (no participant-level data)."""
    study, results = run.study, run.results
    options = study.config.analysis
    ranges = {scale.id: score_range(instrument, scale) for instrument, scale in study.scales}
    table = []
    for _, row in ordered_for_display(results).iterrows():
        adjusted = row[f"p_{options.correction}"]
        table.append(
            {
                "name": row["name"],
                "instrument": row["instrument"],
                "domain": row["domain"] or "other",
                "direction": {"better": "higher is better", "worse": "lower is better", "neutral": "no direction"}[row["higher_is"]],
                "n_pairs": suppress_count(int(row["n_pairs"])),
                "pre": f"{format_number(row['mean_pre'])} ({format_number(row['sd_pre'])})",
                "post": f"{format_number(row['mean_post'])} ({format_number(row['sd_post'])})",
                "change": format_number(row["mean_diff"]),
                "change_ci": f"[{format_number(row['ci_low'])}, {format_number(row['ci_high'])}]",
                "d_z": format_number(row["d_z"]),
                "d_z_ci": f"[{format_number(row['d_z_ci_low'])}, {format_number(row['d_z_ci_high'])}]",
                "p": format_p(row["p"]),
                "p_adjusted": format_p(adjusted),
                "outcome": row["outcome"],
                "note": row["note"],
            }
        )
    flow = {key: suppress_count(value) for key, value in run.flow.items()}
    svg = forest_plot_svg(results)
    instruments = [
        {"label": i.label, "name": i.name, "citation": i.citation, "license": i.license} for i in study.instruments
    ]
    return {
        "study": study.config,
        "generated": report_date(),
        "headline": headline(results, CORRECTION_NAMES[options.correction], ranges),
        "alpha": options.alpha,
        "correction": options.correction,
        "correction_name": CORRECTION_NAMES[options.correction],
        "other_correction_name": CORRECTION_NAMES["fdr" if options.correction == "holm" else "holm"],
        "attrition_sentence": attrition_sentence(run.attrition),
        "rows": table,
        "flow": flow,
        "suppression_threshold": SUPPRESSION_THRESHOLD,
        "forest_plot": "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii"),
        "forest_alt": forest_alt_text(results),
        "instruments": instruments,
    }


def forest_alt_text(results: pd.DataFrame) -> str:
    improved = results.loc[results["outcome"] == "improved"]
    if improved.empty:
        return "Forest plot of standardized change: no variable changed significantly."
    best = improved.loc[(improved["d_z"] * improved["higher_is"].map(improvement_sign)).idxmax()]
    return (
        f"Forest plot of standardized change (d_z, right is better) for {len(results)} variables: "
        f"{len(improved)} improved significantly, the largest being {best['name']} "
        f"(d_z {format_number(abs(best['d_z']))})."
    )


def attrition_sentence(attrition: pd.DataFrame) -> str:
    """The largest baseline difference between completers and non-completers, in words."""
    compared = attrition.dropna(subset=["std_diff"])
    if compared.empty:
        return "Too few participants answered only before the program to compare them with those who stayed."
    largest = compared.loc[compared["std_diff"].abs().idxmax()]
    return (
        "At the start, the largest difference between participants who answered both times and those who answered "
        f"only before was {format_number(abs(largest['std_diff']))} standard deviations ({largest['name']}; Cohen's d "
        "with the pooled SD; attrition.csv has every variable)."
    )


def report_date() -> str:
    """The report's date: from ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else today (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    return moment.strftime("%-d %B %Y")


# --- rendering -----------------------------------------------------------------------------

def template_environment() -> jinja2.Environment:
    """Jinja2 with autoescaping for every template (``select_autoescape`` would skip ``.j2`` names)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=jinja2.StrictUndefined
    )
    environment.filters["p"] = format_p
    environment.filters["num"] = format_number
    return environment


def render_html(context: dict, template: str = "impact-report.html.j2") -> str:
    return template_environment().get_template(template).render(**context)


def asset_fetcher(roots: list[Path] | None = None):
    """A WeasyPrint URL fetcher that serves ``data:`` URLs and files under ``roots`` only.

    Anything else (http, https, ftp, a file outside the roots) stops the render with
    ``FatalURLFetchingError`` rather than being skipped, so an unexpected fetch cannot pass unseen.
    """
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    allowed = [root.resolve() for root in (roots or [ASSETS_DIR])]

    class AssetFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(url2pathname(urlparse(url).path)).resolve()
                if any(path.is_relative_to(root) for root in allowed) and path.is_file():
                    return super().fetch(url, headers)
            raise FatalURLFetchingError(f"report tried to load {url!r}, which is outside the report's own assets")

    return AssetFetcher(allowed_protocols={"data", "file"}, allow_redirects=False, fail_on_errors=True)


def html_to_pdf(html: str) -> bytes:
    """Render HTML to PDF bytes with the restricted fetcher (byte-identical under ``SOURCE_DATE_EPOCH``)."""
    import weasyprint

    document = weasyprint.HTML(string=html, base_url=str(ASSETS_DIR), url_fetcher=asset_fetcher())
    return document.write_pdf(pdf_tags=True)


def render_impact_report(run) -> bytes:
    """The funder-facing impact report of ``run`` as PDF bytes."""
    return html_to_pdf(render_html(report_context(run)))
