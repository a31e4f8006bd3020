"""Rendering: the jinja2 environment, both reports as HTML and PDF, and the logo as each of them reads it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import jinja2

from ..pdf import PdfRenderers
from .context import report_context, run_provenance
from .technical import technical_context
from .words import format_number, format_p

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def template_environment() -> jinja2.Environment:
    """Jinja2 with autoescaping for every template (``select_autoescape`` would skip ``.j2`` names)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=jinja2.StrictUndefined
    )
    environment.filters["p"] = format_p
    environment.filters["num"] = format_number
    environment.filters["breakable"] = lambda text: str(text).replace("_", "_\u200b")  # column names may wrap
    return environment


def render_html(context: dict, template: str | None = None) -> str:
    """``context`` rendered by ``template``; by default the impact report's, for a study with a
    comparison group (``context["names"]``) ``impact-report-groups.html.j2``."""
    if template is None:
        template = "impact-report-groups.html.j2" if "names" in context else "impact-report.html.j2"
    return template_environment().get_template(template).render(**context)


def logo_sources(study) -> tuple[str | None, str | None]:
    """The logo as the PDF reads it (a file URL the fetcher allows) and as the HTML twin embeds it (a data URL).

    The file is read once, and checked again (:func:`pipeline.images.read_logo`) before it is
    embedded: it may have changed since the study was loaded.
    """
    from ..images import MEDIA_TYPES, read_logo

    file = study.logo_file
    if file is None:
        return None, None
    content = read_logo(file)
    return file.as_uri(), f"data:{MEDIA_TYPES[file.suffix.lower()]};base64," + base64.b64encode(content).decode("ascii")


def start_reports(run, renderers: PdfRenderers, provenance: dict | None = None) -> Callable[[], dict[str, bytes]]:
    """Both reports of ``run``, their PDFs rendered in ``renderers``; returns the function that
    waits for the PDFs and gives every report as ``{file name: bytes}`` (the impact and technical
    reports as PDF and as self-contained HTML twins, charts and logo embedded as data URLs). The
    caller may write other files while the PDFs render.

    The technical report, the longer to render, is made first and handed to a renderer before
    the impact report's charts are drawn (at 100,000 participants they take seconds).
    """
    provenance = provenance or run_provenance(run)
    study = run.study
    logo_file, logo_data = logo_sources(study)
    files = (study.logo_file,) if study.logo_file else ()
    reports = [
        ("technical-report", lambda: technical_context(run, provenance), "technical-report.html.j2"),
        ("impact-report", lambda: report_context(run, provenance), None),
    ]
    twins = {}

    def documents():
        for name, make_context, template in reports:
            context = make_context()
            twins[f"{name}.html"] = render_html(context | {"logo": logo_data}, template).encode("utf-8")
            yield render_html(context | {"logo": logo_file}, template)

    pending = renderers.start(documents(), files, study.config.report.pdf_variant)

    def finish() -> dict[str, bytes]:
        pdfs = pending()  # without renderers, this also makes the documents (and their twins)
        outputs = twins | {f"{name}.pdf": pdf for (name, _, _), pdf in zip(reports, pdfs)}
        order = [f"{name}.{kind}" for kind in ("html", "pdf") for name in ("impact-report", "technical-report")]
        return {name: outputs[name] for name in order}

    return finish


def render_reports(run, provenance: dict | None = None) -> dict[str, bytes]:
    """Both reports of ``run`` as ``{file name: bytes}`` (:func:`start_reports`), the two PDFs
    rendered side by side when the machine has more than one CPU."""
    with PdfRenderers() as renderers:
        return start_reports(run, renderers, provenance)()
