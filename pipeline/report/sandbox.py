"""The URL sandbox of the PDF renderer: WeasyPrint may read only ``data:`` URLs, the package's
own ``assets/`` folder and the files the study declares (its logo), after checking them: no
network, no redirects, no other local file; any refused fetch stops the render."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from ..errors import PipelineError, shorten

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"


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

    from ..images import MEDIA_TYPES, read_logo

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
    ``FatalURLFetchingError`` (a BaseException), also crosses back from a forked child of
    :func:`~pipeline.report.render.pdfs_side_by_side` instead of killing the worker and leaving
    the parent waiting.
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
