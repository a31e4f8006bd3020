"""The PDF renderer processes (pipeline.pdf.PdfRenderers): the same bytes as rendering here, in
order, and an error (never a wait for ever) when a renderer dies or a document is refused."""

from __future__ import annotations

import io
import multiprocessing
import os
import signal

import pytest
from pypdf import PdfReader

from pipeline.errors import PipelineError
from pipeline.pdf import PdfRenderers, html_to_pdf
from tests.test_logo_security import deadline

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGALRM") or "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform"
)

DOCUMENTS = [f"<h1>Document {number}</h1><p>{'text ' * 50 * number}</p>" for number in range(1, 6)]


def first_line(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text().splitlines()[0].strip()


@pytest.fixture
def two_cpus(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # renderer processes, whatever the machine


def test_more_documents_than_renderers_come_back_in_order_and_as_rendered_here(two_cpus):
    with deadline(300), PdfRenderers() as renderers:
        assert len(renderers._renderers) == 2
        pdfs = renderers.start(DOCUMENTS)()
    assert [first_line(pdf) for pdf in pdfs] == [f"Document {number}" for number in range(1, 6)]
    assert pdfs == [html_to_pdf(html) for html in DOCUMENTS]


def test_one_cpu_renders_in_this_process(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    with PdfRenderers() as renderers:
        assert renderers._renderers == []
        assert [first_line(pdf) for pdf in renderers.start(DOCUMENTS[:2])()] == ["Document 1", "Document 2"]


def test_a_renderer_killed_mid_render_gives_one_line_not_a_wait(two_cpus):
    with deadline(120), PdfRenderers() as renderers:
        pending = renderers.start(DOCUMENTS)
        renderers._renderers[0][0].kill()
        with pytest.raises(PipelineError) as caught:
            pending()
    message = str(caught.value)
    assert "renderer process stopped" in message and "--no-pdf" in message and "\n" not in message


def test_leaving_stops_busy_and_idle_renderers(two_cpus):
    with deadline(120):
        with PdfRenderers() as renderers:
            processes = [process for process, _ in renderers._renderers]
            renderers.start(DOCUMENTS)  # never waited for: the run failed elsewhere
        assert processes and not any(process.is_alive() for process in processes)


def test_a_refused_fetch_crosses_back_as_the_same_error(two_cpus):
    refused = '<p>x</p><img alt="" src="file:///etc/passwd">'
    with deadline(120), PdfRenderers() as renderers, pytest.raises(PipelineError) as caught:
        renderers.start(["<p>clean</p>", refused])()
    assert "file:///etc/passwd" in str(caught.value)


def test_renderers_never_used_are_killed_and_those_done_are_asked_to_stop(two_cpus):
    with PdfRenderers() as renderers:  # a run that stops before its reports (bad input): not kept waiting
        unused = [process for process, _ in renderers._renderers]
    assert unused and [process.exitcode for process in unused] == [-signal.SIGKILL] * len(unused)
    with deadline(300), PdfRenderers() as renderers:
        done = [process for process, _ in renderers._renderers]
        renderers.start(DOCUMENTS[:2])()
    assert [process.exitcode for process in done] == [0, 0]


def test_a_second_batch_waits_for_the_first(two_cpus):
    with deadline(300), PdfRenderers() as renderers:
        first = renderers.start(DOCUMENTS[:2])
        with pytest.raises(RuntimeError, match="previous batch"):
            renderers.start(DOCUMENTS[2:])  # the renderers may be busy: refused, not a deadlock
        assert [first_line(pdf) for pdf in first()] == ["Document 1", "Document 2"]
        assert [first_line(pdf) for pdf in renderers.start(DOCUMENTS[2:])()] == ["Document 3", "Document 4", "Document 5"]
