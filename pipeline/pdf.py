"""HTML to PDF: WeasyPrint in a URL sandbox, and the processes that render side by side.

The sandbox: WeasyPrint may read only ``data:`` URLs, the package's own ``assets/`` folder and
the files the study declares (its logo), after checking them: no network, no redirects, no other
local file; any refused fetch stops the render.

The renderers (:class:`PdfRenderers`): WeasyPrint is single-threaded, slow to import (about 0.8 s)
and slower on its first document than later ones, and the two reports are independent. A run
that will write PDFs starts its renderer processes first, before it imports the analysis, so that
the first imports WeasyPrint and warms up on the CPU the run's reading and checking leave idle;
the technical report is handed to it as soon as the analysis is done, the impact report to the
next (which loads WeasyPrint then: that report is the shorter), and the tables are written while
the PDFs render.

This module imports nothing of the pipeline but :mod:`pipeline.errors` and :mod:`pipeline.images`
(both light), so a renderer forked early stays small and starts fast.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from .errors import PipelineError, shorten

ASSETS_DIR = Path(__file__).resolve().parent / "assets"


def asset_fetcher(roots: list[Path] | None = None, files: tuple[Path, ...] = ()):
    """A WeasyPrint URL fetcher that serves ``data:`` URLs, files under ``roots`` (default: the
    package's ``assets/``) and the exact ``files`` given (a study's declared logo), nothing else.

    Anything else (http, https, ftp, another file) stops the render with ``FatalURLFetchingError``
    rather than being skipped, so an unexpected fetch cannot pass unseen. Redirects are refused.
    Every refused URL is also recorded in the fetcher's ``refused`` list (with a one-line reason
    in ``reasons``), because WeasyPrint swallows any error while it draws an SVG: :func:`html_to_pdf`
    checks the list after rendering. A declared file is served only as the bytes that
    :func:`pipeline.images.read_logo` has just read and checked (it may have changed since the
    study was loaded); one that fails the check is refused.
    """
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    from .images import MEDIA_TYPES, read_logo

    remedy = "remove the reference (an SVG logo must be self-contained, or use a PNG)"
    allowed = [root.resolve() for root in (roots or [ASSETS_DIR])]
    declared = {Path(file).resolve() for file in files}

    class AssetFetcher(URLFetcher):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.refused: list[str] = []
            self.reasons: dict[str, str] = {}

        def refuse(self, url: str, reason: str):
            self.refused.append(url)
            self.reasons.setdefault(url, reason)
            raise FatalURLFetchingError(reason)

        def fetch(self, url, headers=None):
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(url2pathname(urlparse(url).path)).resolve()
                if path in declared:
                    try:
                        content = read_logo(path)
                    except PipelineError as error:
                        self.refuse(url, str(error))
                    return URLFetcherResponse(url, content, {"Content-Type": MEDIA_TYPES[path.suffix.lower()]})
                if any(path.is_relative_to(root) for root in allowed) and path.is_file():
                    return super().fetch(url, headers)
            self.refuse(url, f"report tried to load {shorten(url, 80)!r}, which is outside the report's own assets and the study's logo: {remedy}")

    return AssetFetcher(allowed_protocols={"data", "file"}, allow_redirects=False, fail_on_errors=True)


def html_to_pdf(html: str, files: tuple[Path, ...] = (), variant: str | None = None) -> bytes:
    """Render HTML to a tagged PDF with the restricted fetcher (byte-identical under ``SOURCE_DATE_EPOCH``).

    ``variant`` is a WeasyPrint PDF variant such as ``pdf/ua-1`` (accessible) or ``pdf/a-3a``
    (archival and tagged); fonts are always embedded (subset).

    A fetch the fetcher refuses raises :class:`PipelineError` with one line naming the URL: at
    once when WeasyPrint lets the fetcher's ``FatalURLFetchingError`` through, and after
    ``write_pdf`` when WeasyPrint swallowed it (it does while drawing SVG). A PipelineError, unlike
    ``FatalURLFetchingError`` (a BaseException), also crosses back from a renderer process
    (:class:`PdfRenderers`) as one line.
    """
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError

    fetcher = asset_fetcher(files=files)

    def refusal() -> PipelineError:
        refused = list(dict.fromkeys(fetcher.refused))
        more = f" (and {len(refused) - 1} more refused URL{'s' if len(refused) > 2 else ''})" if len(refused) > 1 else ""
        return PipelineError(shorten(fetcher.reasons[refused[0]], 270) + more)  # every refusal records its reason

    try:
        document = weasyprint.HTML(string=html, base_url=str(ASSETS_DIR), url_fetcher=fetcher)
        pdf = document.write_pdf(pdf_tags=True, pdf_variant=variant, uncompressed_pdf=False)
    except FatalURLFetchingError as error:
        if fetcher.refused:
            raise refusal() from None
        cause = shorten(str(error.__cause__ or ""), 80)
        raise PipelineError(f"report: {shorten(str(error), 120)} ({cause}); a template or chart names a resource that cannot be read") from None
    if fetcher.refused:
        raise refusal()  # refused inside an SVG, where WeasyPrint swallowed the error
    return pdf


def _render_jobs(connection, inherited: list, warm: bool) -> None:
    """A renderer process: warm WeasyPrint up (when ``warm``), then render each ``(html, files,
    variant)`` job received on ``connection`` and send back ``(True, pdf bytes)`` or ``(False,
    error)``, until ``None`` (or the parent's end closing) says stop.

    ``inherited`` are the parent's ends of the renderers forked before this one: closed here, so
    that each renderer sees its own pipe close when the parent goes, however it goes. Ctrl-C is
    the parent's to handle (it stops the renderers), not a traceback from each of them.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for other in inherited:
        other.close()
    try:
        if warm:
            html_to_pdf("<p>warm</p>")  # imports WeasyPrint; loads fontconfig and its C types once
    except BaseException:  # noqa: BLE001 - the first real job raises the same error, and reports it
        pass
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            outcome = (True, html_to_pdf(*job))
        except Exception as error:  # noqa: BLE001 - crosses to the parent, which raises it
            outcome = (False, error if isinstance(error, PipelineError) else PipelineError(f"report: the PDF renderer failed: {shorten(repr(error), 200)}"))
        connection.send(outcome)


class PdfRenderers:
    """Processes that turn HTML into PDF (:func:`html_to_pdf`), each document in one of them, the
    bytes the same as :func:`html_to_pdf` gives in this process.

    Forked when made (``workers`` of them, at most one per CPU, by default two; none on one CPU,
    in a daemonic process or where fork is not available, and then :meth:`start` renders in this
    process: :func:`pipeline.parallel.worker_count`); the first imports WeasyPrint and warms up at
    once, while the maker goes on, and the others when given their first document. Use as a
    context manager: on leaving, renderers that have sent back all their work are told to stop
    and the others (never used, or still busy because the run failed elsewhere) are killed.
    Nothing is shared but a pipe per renderer, so no thread runs in this process, and a renderer
    that dies (out of memory) gives an error, not a wait for ever. One batch at a time:
    :meth:`start` again only after the previous batch's PDFs were waited for.
    """

    def __init__(self, workers: int | None = None) -> None:
        from .parallel import worker_count

        count = worker_count(2 if workers is None else workers)
        self._renderers: list[tuple[multiprocessing.Process, object]] = []
        self._finished: set = set()  # the renderers whose every document has come back
        self._batch_open = False  # a batch started and not yet waited for
        if count < 2:
            return
        context = multiprocessing.get_context("fork")
        for _ in range(count):
            parent_end, child_end = context.Pipe()
            earlier = [connection for _, connection in self._renderers]
            # Only the first warms up at once: it takes the first (longest) document, and the others'
            # imports would compete with this process's on a 2-core machine (measured: 0.2-0.6 s).
            process = context.Process(target=_render_jobs, args=(child_end, earlier, not earlier), daemon=True, name="pdf-renderer")
            process.start()
            child_end.close()
            self._renderers.append((process, parent_end))

    def __enter__(self) -> PdfRenderers:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Stop every renderer and reap it: one that has sent back every document it was given is
        asked to stop; any other (still warming up, or busy because the run failed elsewhere) is
        killed at once, so that a run that stops early is not kept waiting by its renderers."""
        for process, connection in self._renderers:
            if connection in self._finished:
                try:
                    connection.send(None)
                except OSError:
                    process.kill()
            else:
                process.kill()
            connection.close()
        for process, _ in self._renderers:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        self._renderers = []
        self._finished = set()

    def start(self, documents: Iterable[str], files: tuple[Path, ...] = (), variant: str | None = None) -> Callable[[], list[bytes]]:
        """Start rendering ``documents``; return the function that waits for their PDFs, in order.

        Each renderer takes one document at a time and is given the next when it has sent the
        last back (so neither end ever waits on a full pipe). ``documents`` may be a generator:
        each document is asked for only when a renderer is free to take it, so the first renders
        while the next is being made. Without renderers, the returned function makes and renders
        the documents here, one after another. An error in any document is raised by the
        returned function, as :func:`html_to_pdf` would raise it.
        """
        jobs = ((html, tuple(files), variant) for html in documents)
        if not self._renderers:
            return lambda: [html_to_pdf(*job) for job in jobs]
        if self._batch_open:  # its renderers may be busy: a job sent now could meet a full pipe
            raise RuntimeError("PdfRenderers.start: wait for the previous batch's PDFs first")
        self._batch_open = True
        from multiprocessing.connection import wait

        results: list[bytes | None] = []
        busy: dict[object, int] = {}

        stopped = PipelineError("report: a PDF renderer process stopped before it finished (out of memory?); run again, or with --no-pdf")

        def hand_out(connection) -> bool:
            job = next(jobs, None)
            if job is None:
                return False
            self._finished.discard(connection)
            try:
                connection.send(job)
            except OSError:
                raise stopped from None
            busy[connection] = len(results)
            results.append(None)
            return True

        for _, connection in self._renderers:
            if not hand_out(connection):
                break

        def collect() -> list[bytes]:
            while busy:
                for connection in wait(list(busy)):
                    index = busy.pop(connection)
                    try:
                        ok, value = connection.recv()
                    except (EOFError, OSError):
                        raise stopped from None
                    if not ok:
                        raise value
                    results[index] = value
                    if not hand_out(connection):
                        self._finished.add(connection)
            self._batch_open = False
            return results

        return collect

