"""A study's logo cannot smuggle anything into the reports, and a refused fetch stops the render,
also where WeasyPrint swallows errors (while it draws SVG) and in forked child processes."""

from __future__ import annotations

import base64
import contextlib
import io
import multiprocessing
import os
import signal
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from pipeline import images, report
from pipeline.errors import PipelineError
from pipeline.images import check_logo, read_logo

SVG = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'

CLEAN_SVG = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- a self-contained logo: a gradient and a reused shape, referenced by fragment only -->
<svg {SVG} width="120" height="40" viewBox="0 0 120 40">
  <defs>
    <linearGradient id="navy"><stop offset="0" stop-color="#12355b"/><stop offset="1" stop-color="#2a6f97"/></linearGradient>
    <style>.mark {{ fill: url(#navy); stroke: url("#navy"); }}</style>
    <rect id="block" width="30" height="30"/>
  </defs>
  <use href="#block" x="5" y="5" class="mark"/>
  <use xlink:href="#block" x="45" y="5" style="fill: url(#navy)"/>
  <circle cx="100" cy="20" r="15" fill="url(#navy)" transform="rotate(10 100 20)"/>
  <text x="5" y="38" font-size="6">Impact</text>
  <a href="#block"><title>Logo</title></a>
</svg>
"""


def svg(body: str, head: str = "") -> str:
    return f'{head}<svg {SVG} width="10" height="10">{body}</svg>'


#: Each kind of reference or active content the policy refuses, with a word the message must hold.
HOSTILE_SVGS = {
    "image href": (svg('<image href="file:///etc/passwd" width="5" height="5"/>'), "image"),
    "image xlink:href": (svg('<image xlink:href="file:///etc/passwd" width="5" height="5"/>'), "image"),
    "image data: URL": (svg('<image href="data:image/png;base64,iVBORw0KGgo=" width="5" height="5"/>'), "image"),
    "image fragment": (svg('<image href="#self" width="5" height="5"/>'), "image"),
    "use outside": (svg('<use href="other.svg#shape"/>'), "other.svg"),
    "use data: URL": (svg('<use xlink:href="data:image/svg+xml,&lt;svg/&gt;#a"/>'), "data:"),
    "a http": (svg('<a href="https://example.org/"><rect width="1" height="1"/></a>'), "example.org"),
    "src attribute": (svg('<rect src="file:///etc/passwd" width="1" height="1"/>'), "passwd"),
    "style url": (svg('<rect style="fill: url(file:///etc/passwd)" width="1" height="1"/>'), "url("),
    "style url quoted": (svg("<rect style=\"fill: url('file:///etc/passwd')\" width=\"1\" height=\"1\"/>"), "url("),
    "style url escaped": (svg('<rect style="fill: \\75 rl(file:///etc/passwd)" width="1" height="1"/>'), "url("),
    "presentation url": (svg('<rect fill="url(https://example.org/p.svg#g)" width="1" height="1"/>'), "url("),
    "filter url": (svg('<rect filter="url(data:image/svg+xml;base64,AAAA)" width="1" height="1"/>'), "url("),
    "style element url": (svg("<style>rect { fill: url(file:///etc/passwd) }</style>"), "style"),
    "style element import": (svg('<style>@import "https://example.org/x.css";</style>'), "@import"),
    "style element import url": (svg("<style>@import url(x.css);</style>"), "@import"),
    "style element image-set": (svg('<style>rect { fill: image-set("x.png" 1x) }</style>'), "image-set"),
    "style element font": (svg("<style>@font-face { font-family: x; src: url(file:///etc/fonts/x.ttf) }</style>"), "url("),
    "script": (svg("<script>alert(1)</script>"), "script"),
    "foreignObject": (svg("<foreignObject><p>x</p></foreignObject>"), "foreignObject"),
    "iframe": (svg('<iframe src="https://example.org"/>'), "iframe"),
    "object": (svg('<object data="x.pdf"/>'), "object"),
    "embed": (svg('<embed src="x.pdf"/>'), "embed"),
    "animation sets href": (svg('<a href="#x"><set attributeName="href" to="file:///etc/passwd"/></a>'), "set"),
    "event handler": (svg('<rect onload="alert(1)" width="1" height="1"/>'), "onload"),
    "event handler on root": (f'<svg {SVG} onclick="x()"/>', "onclick"),
    "xml:base": (svg('<g xml:base="file:///etc/"><rect width="1" height="1"/></g>'), "xml:base"),
    "stylesheet PI": (svg("", '<?xml-stylesheet href="file:///etc/passwd" type="text/css"?>'), "processing instruction"),
    "PI inside": (svg("<?php echo 1 ?>"), "processing instruction"),
    "doctype": (svg("", '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'), "DOCTYPE"),
    "external entity": (
        '<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + svg("<text>&x;</text>"),
        "DOCTYPE",
    ),
    "billion laughs": (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
        + "]>"
        + svg("<text>&lol9;</text>"),
        "DOCTYPE",
    ),
    "not an svg root": ('<html xmlns="http://www.w3.org/1999/xhtml"><img src="x"/></html>', "root"),
    "svg root in another namespace": ('<svg xmlns="urn:x"/>', "root"),
    "too deep": (svg("<g>" * 100 + "</g>" * 100), "deep"),
    "too many elements": (svg("<rect/>" * (images.MAX_SVG_ELEMENTS + 1)), "elements"),
    "not well formed": (svg("<g>"), "well-formed"),
}


def assert_one_line_refusal(path: Path, *words: str) -> str:
    with pytest.raises(PipelineError) as caught:
        check_logo(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message and len(message) < 300, message
    for word in words:
        assert word.lower() in message.lower(), message
    return message


@pytest.mark.parametrize("name", list(HOSTILE_SVGS))
def test_an_svg_logo_that_references_anything_is_refused_with_one_line(name, tmp_path):
    text, word = HOSTILE_SVGS[name]
    path = tmp_path / "logo.svg"
    path.write_text(text, encoding="utf-8")
    assert_one_line_refusal(path, word)


def test_the_message_says_what_to_do(tmp_path):
    path = tmp_path / "logo.svg"
    path.write_text(HOSTILE_SVGS["image href"][0])
    assert "draw the logo self-contained or use a PNG" in assert_one_line_refusal(path)


def test_a_billion_laughs_is_refused_before_any_entity_is_expanded(tmp_path):
    path = tmp_path / "logo.svg"
    path.write_text(HOSTILE_SVGS["billion laughs"][0])
    with pytest.raises(PipelineError, match="DOCTYPE"):
        check_logo(path)


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels: a real IHDR, a token IDAT, no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


def raster(kind: str, size=(60, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (18, 53, 91)).save(buffer, kind)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("logo.svg", CLEAN_SVG.encode()),
        ("logo.svg", ("\ufeff" + CLEAN_SVG.split("\n", 1)[1]).encode()),  # a BOM and no XML declaration
        ("logo.svg", f'<svg {SVG} viewBox="0 0 1 1"><path d="M0 0L1 1Z"/></svg>'.encode()),
        ("logo.png", raster("PNG")),
        ("logo.jpg", raster("JPEG")),
        ("LOGO.JPEG", raster("JPEG")),
        ("logo.png", png_header(images.MAX_SIDE, 100)),  # at the limit
    ],
)
def test_a_clean_logo_passes_and_reads_back_unchanged(name, content, tmp_path):
    path = tmp_path / name
    path.write_bytes(content)
    check_logo(path)
    assert read_logo(path) == content


@pytest.mark.parametrize(
    ("size", "word"),
    [((50_000, 50_000), "pixels"), ((images.MAX_SIDE + 1, 10), "pixels"), ((6_000, 6_000), "megapixels")],
)
def test_a_decompression_bomb_png_is_refused_from_its_header(size, word, tmp_path):
    path = tmp_path / "logo.png"
    path.write_bytes(png_header(*size))
    assert os.path.getsize(path) < 200  # nothing was allocated: the header only claims the size
    assert_one_line_refusal(path, word)


@pytest.mark.parametrize(
    ("name", "content", "word"),
    [
        ("logo.png", raster("JPEG"), "not a PNG"),
        ("logo.jpg", raster("PNG"), "not a JPEG"),
        ("logo.svg", raster("PNG"), "not an SVG"),
        ("logo.png", CLEAN_SVG.encode(), "not a PNG"),
        ("logo.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "cannot be read"),
        ("logo.jpg", b"\xff\xd8\xff" + b"\x00" * 40, "cannot be read"),
        ("logo.png", b"", "empty"),
        ("logo.gif", b"GIF89a", "must be a"),
        ("logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * images.MAX_BYTES, "larger than"),
    ],
)
def test_content_that_does_not_match_its_suffix_or_cannot_be_read_is_refused(name, content, word, tmp_path):
    path = tmp_path / name
    path.write_bytes(content)
    assert_one_line_refusal(path, word)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    path = tmp_path / "logo.png"
    os.mkfifo(path)
    assert_one_line_refusal(path, "not a regular file")


def test_a_folder_or_missing_file_is_refused(tmp_path):
    (tmp_path / "logo.png").mkdir()
    assert_one_line_refusal(tmp_path / "logo.png", "not a regular file")
    assert_one_line_refusal(tmp_path / "missing.svg", "not found")


def test_a_very_long_path_still_gives_one_short_line(tmp_path):
    folder = tmp_path / ("deep" * 40)
    folder.mkdir()
    path = folder / "logo\nname.svg"
    path.write_text(HOSTILE_SVGS["script"][0])
    with pytest.raises(PipelineError) as caught:
        check_logo(path)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300 and "name.svg" in message


# --- rendering: what WeasyPrint swallows still stops the run -------------------------------

PASSWD_SVG = f'<svg {SVG} width="10" height="10"><image href="file:///etc/passwd" width="5" height="5"/></svg>'
INLINE = f"<p>Report</p>{PASSWD_SVG}"
IMG = f'<p>Report</p><img alt="logo" src="data:image/svg+xml;base64,{base64.b64encode(PASSWD_SVG.encode()).decode()}">'
NESTED = base64.b64encode(PASSWD_SVG.encode()).decode()
#: An SVG whose data: image is an SVG that references a file: why a logo's data: URLs are refused too.
NESTED_SVG = f'<svg {SVG} width="10" height="10"><image href="data:image/svg+xml;base64,{NESTED}" width="5" height="5"/></svg>'
NESTED_IMG = f'<img alt="logo" src="data:image/svg+xml;base64,{base64.b64encode(NESTED_SVG.encode()).decode()}">'


def test_weasyprint_swallows_a_refused_fetch_inside_svg(monkeypatch):
    """The premise: without the fetcher's record, the render would succeed. If WeasyPrint ever
    stops swallowing, this fails and the post-render check may be simplified."""
    import weasyprint

    fetcher = report.asset_fetcher()
    weasyprint.HTML(string=IMG, base_url=str(report.ASSETS_DIR), url_fetcher=fetcher).write_pdf()
    assert fetcher.refused == ["file:///etc/passwd"]


@pytest.mark.parametrize("html", [INLINE, IMG, f"<p>x</p>{NESTED_SVG}", NESTED_IMG], ids=["inline svg", "img data: svg", "inline svg nesting a data: svg", "img nesting"])
def test_a_refused_fetch_inside_svg_stops_html_to_pdf(html):
    with pytest.raises(PipelineError) as caught:
        report.html_to_pdf(html)
    message = str(caught.value)
    assert "file:///etc/passwd" in message and "\n" not in message and len(message) < 300


def test_a_refused_fetch_outside_svg_is_a_pipeline_error_too():
    with pytest.raises(PipelineError, match="https://example.org/x.css"):
        report.html_to_pdf('<link rel="stylesheet" href="https://example.org/x.css"><p>x</p>')


def test_a_long_refused_url_is_shortened():
    url = "https://example.org/" + "a" * 5000
    with pytest.raises(PipelineError) as caught:
        report.html_to_pdf(f'<img alt="" src="{url}">')
    assert len(str(caught.value)) < 300 and "https://example.org/aaa" in str(caught.value)


def test_the_fetcher_records_each_refusal():
    from weasyprint.urls import FatalURLFetchingError

    fetcher = report.asset_fetcher()
    for url in ("file:///etc/passwd", "https://example.org/"):
        with pytest.raises(FatalURLFetchingError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,ok") is not None
    assert fetcher.refused == ["file:///etc/passwd", "https://example.org/"]


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail instead of hanging: a BaseException in a pool worker kills it and the parent waits forever."""

    def expire(signum, frame):
        raise AssertionError(f"still waiting after {seconds} s: the child's error never reached the parent")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.skipif(not hasattr(signal, "SIGALRM") or "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
@pytest.mark.parametrize(
    "documents",
    [[IMG, "<p>clean</p>"], ['<img alt="" src="file:///etc/passwd">', "<p>clean</p>"], ["<p>clean</p>", NESTED_IMG]],
    ids=["child, swallowed in svg", "child, raised at the fetch", "parent"],
)
def test_a_refusal_in_a_forked_child_surfaces_in_the_parent(documents, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # force the forked path, whatever the machine
    with pytest.raises(PipelineError) as caught, deadline(120):
        with report.PdfRenderers(len(documents)) as renderers:
            renderers.start(documents)()
    message = str(caught.value)
    assert "file:///etc/passwd" in message and "\n" not in message and len(message) < 300


def test_renderer_processes_still_render_clean_documents(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    with report.PdfRenderers() as renderers:
        pdfs = renderers.start(["<p>one</p>", "<p>two</p>"])()
    assert [PdfReader(io.BytesIO(pdf)).pages[0].extract_text().strip() for pdf in pdfs] == ["one", "two"]


def test_a_clean_svg_logo_renders_without_any_refusal(tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_text(CLEAN_SVG)
    pdf = report.html_to_pdf(f'<img alt="logo" src="{logo.as_uri()}"><p>x</p>', files=(logo,))
    assert pdf.startswith(b"%PDF")


def test_a_declared_logo_that_turned_hostile_after_loading_is_refused_by_the_fetcher(tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_text(PASSWD_SVG)  # e.g. replaced after load_study checked it
    with pytest.raises(PipelineError) as caught:
        report.html_to_pdf(f'<img alt="logo" src="{logo.as_uri()}"><p>x</p>', files=(logo,))
    assert str(caught.value).startswith(str(logo)) and "image" in str(caught.value)


def test_logo_sources_checks_the_logo_again_and_embeds_what_it_read(tmp_path):
    from types import SimpleNamespace

    logo = tmp_path / "logo.png"
    content = raster("PNG")
    logo.write_bytes(content)
    file_url, data_url = report.logo_sources(SimpleNamespace(logo_file=logo))
    assert file_url == logo.as_uri()
    assert base64.b64decode(data_url.removeprefix("data:image/png;base64,")) == content
    logo.write_bytes(png_header(50_000, 50_000))  # changed since the study was loaded
    with pytest.raises(PipelineError, match="pixels"):
        report.logo_sources(SimpleNamespace(logo_file=logo))
    assert report.logo_sources(SimpleNamespace(logo_file=None)) == (None, None)
