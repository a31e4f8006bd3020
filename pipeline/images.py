"""Report logos: the one file a study may put into its reports, checked before anything reads it.

A study's ``report.logo`` is drawn on the cover of both PDFs and embedded in their HTML twins.
:func:`check_logo` accepts it only if it is a small regular file whose content is what its suffix
says: a PNG or JPEG that Pillow identifies from its header without decoding the pixels, of a
bounded size in pixels (no decompression bomb), or an SVG that parses safely (no DTD, entity or
external reference, a bounded number of elements and depth) and is self-contained.

SVG logos that reference anything are rejected; draw the logo self-contained or use a PNG.
Any ``href``/``xlink:href``/``src`` other than a same-document fragment (``#id``) is refused,
``data:`` URLs included, and so is any CSS ``url(...)`` other than ``url(#id)``, ``@import``,
scripts, ``<foreignObject>`` and other embedding or animation elements, event handlers
(``on*``), a DOCTYPE and processing instructions (``<?xml-stylesheet?>``). The reason:
WeasyPrint's SVG renderer catches every error while it draws an SVG, including the
``FatalURLFetchingError`` with which the report's fetcher refuses a fetch, so a reference that the
fetcher refuses would leave a silently blank logo instead of stopping the run (the report's
fetcher also records refusals, :func:`pipeline.pdf.html_to_pdf`, as a second line of defence).
"""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import warnings
from pathlib import Path

from .errors import MESSAGE_LIMIT, PipelineError, shorten

MAX_BYTES = 2 * 1024 * 1024  # 2 MiB
MAX_SIDE = 10_000  # pixels, either side
MAX_PIXELS = 25_000_000
MAX_SVG_ELEMENTS = 20_000
MAX_SVG_DEPTH = 64

MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
RASTER_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
SIGNATURES = {"PNG": b"\x89PNG\r\n\x1a\n", "JPEG": b"\xff\xd8\xff"}

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"
SELF_CONTAINED = "SVG logos that reference anything are refused: draw the logo self-contained or use a PNG"

#: Elements that embed, script or animate (an animation could set an href): refused outright.
FORBIDDEN_ELEMENTS = {
    "script", "foreignobject", "iframe", "object", "embed", "audio", "video", "canvas", "handler",
    "listener", "link", "base", "set", "animate", "animatemotion", "animatecolor", "animatetransform", "discard",
}  # fmt: skip
#: Elements whose href is fetched as an image even when it is a fragment (it would load the logo itself).
IMAGE_ELEMENTS = {"image", "feimage"}
#: CSS functions that load a resource; ``url(#id)`` alone is allowed.
CSS_LOADERS = {"url", "src", "image", "image-set", "-webkit-image-set", "cross-fade", "element"}
FRAGMENT = re.compile(r"#[A-Za-z_][\w.:-]*")


def check_logo(path: Path) -> None:
    """Raise :class:`PipelineError` (one line, starting with ``path``) unless ``path`` is a safe logo.

    Safe: a regular file of at most :data:`MAX_BYTES` whose suffix is a known image type and
    whose content matches it (see :func:`read_logo` and the module docstring for the rules).
    """
    read_logo(path)


def read_logo(path: Path) -> bytes:
    """The bytes of the logo at ``path``, read once and checked as :func:`check_logo` describes.

    Callers that embed the logo use these bytes, so what is embedded is exactly what was checked
    (the file could change between a check and a second read).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MEDIA_TYPES:
        raise _refusal(path, f"a logo must be a {', '.join(MEDIA_TYPES)} image", "convert it to PNG")
    data = _read_regular_file(path)
    if suffix in RASTER_FORMATS:
        _check_raster(path, data, RASTER_FORMATS[suffix])
    else:
        _check_svg(path, data)
    return data


# --- the file ------------------------------------------------------------------------------

def _read_regular_file(path: Path) -> bytes:
    """At most MAX_BYTES + 1 bytes of a regular file; a FIFO or device is refused before it is opened
    (opening a FIFO would block) and again on the open descriptor (it could be swapped in between)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise _refusal(path, "is not a regular file (a pipe, device or folder)", "save the logo as an ordinary image file")
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise _refusal(path, "not found", "put the logo in the study folder") from None
    except OSError as error:
        raise _refusal(path, f"cannot be read ({error.strerror or error})", "check the file's permissions") from None
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _refusal(path, "is not a regular file (a pipe, device or folder)", "save the logo as an ordinary image file")
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _refusal(path, f"is larger than {MAX_BYTES // (1024 * 1024)} MiB", "save a smaller logo (a few hundred pixels wide is plenty)")
    if not data:
        raise _refusal(path, "is empty", "save the logo again")
    return data


# --- PNG and JPEG --------------------------------------------------------------------------

def _check_raster(path: Path, data: bytes, expected: str) -> None:
    """Signature, then Pillow's lazy open (header only, no pixels decoded) for format and size."""
    from PIL import Image, UnidentifiedImageError

    if not data.startswith(SIGNATURES[expected]):
        raise _refusal(path, f"is not a {expected} file (its content does not match its suffix)", "save it in the format its suffix names")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[expected]) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        raise _refusal(path, "has too many pixels (a decompression bomb?)", _smaller()) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error):
        raise _refusal(path, f"cannot be read as a {expected} image", "save the logo again from an image editor") from None
    if width < 1 or height < 1:
        raise _refusal(path, f"has no pixels ({width} x {height})", "save the logo again from an image editor")
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise _refusal(path, f"is {width:,} x {height:,} pixels, more than {MAX_SIDE:,} a side or {MAX_PIXELS // 1_000_000} megapixels", _smaller())


def _smaller() -> str:
    return "save a smaller logo (a few hundred pixels wide is plenty)"


# --- SVG -----------------------------------------------------------------------------------

class _Unsafe(Exception):
    """A reason an SVG is refused, raised from inside the parser to stop it at once."""


class _SvgPolicy:
    """An expat target that checks each element as it is parsed, so a refused SVG stops early.

    It builds no tree: it only counts elements and depth, checks names and attributes, and
    collects the text of ``<style>`` elements to check as CSS when they end.
    """

    def __init__(self):
        self.elements = 0
        self.depth = 0
        self.root = None
        self.style_depth = None
        self.style_text: list[str] = []

    def start(self, tag, attributes):
        namespace, name = _split(tag)
        self.elements += 1
        self.depth += 1
        if self.elements > MAX_SVG_ELEMENTS:
            raise _Unsafe(f"has more than {MAX_SVG_ELEMENTS:,} elements")
        if self.depth > MAX_SVG_DEPTH:
            raise _Unsafe(f"nests elements more than {MAX_SVG_DEPTH} deep")
        if self.root is None:
            self.root = name
            if name != "svg" or namespace not in (None, SVG_NAMESPACE):
                raise _Unsafe(f"is XML with a <{name}> root, not an SVG image")
        lowered = name.lower()
        if lowered in FORBIDDEN_ELEMENTS:
            raise _Unsafe(f"contains a <{name}> element")
        for key, value in attributes.items():
            _check_attribute(lowered, key, value)
        if lowered == "style" and self.style_depth is None:
            self.style_depth = self.depth

    def end(self, tag):
        if self.style_depth == self.depth:
            _check_css("".join(self.style_text), "a <style> element")
            self.style_depth, self.style_text = None, []
        self.depth -= 1

    def data(self, text):
        if self.style_depth is not None:
            self.style_text.append(text)

    def pi(self, target, text=None):
        raise _Unsafe(f"contains a processing instruction <?{target} ...?>")

    def close(self):
        return self.root


def _check_svg(path: Path, data: bytes) -> None:
    """Parse with defusedxml (DTD, entities and external references forbidden) and the policy above."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser

    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise _refusal(path, "is not an SVG file (its content does not match its suffix)", "save it as SVG or rename it to its real format")
    policy = _SvgPolicy()
    parser = DefusedXMLParser(target=policy, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException as error:
        kind = {"DTDForbidden": "a DOCTYPE", "EntitiesForbidden": "an entity declaration"}.get(type(error).__name__, "an external reference")
        raise _refusal(path, f"contains {kind}", f"{SELF_CONTAINED}; export it without a DOCTYPE") from None
    except _Unsafe as error:
        raise _refusal(path, f"the SVG {error}", SELF_CONTAINED) from None
    except (ParseError, ValueError, UnicodeError) as error:
        raise _refusal(path, f"is not a well-formed SVG file ({shorten(str(error), 60)})", "save it again as SVG from a drawing program") from None
    if root is None:
        raise _refusal(path, "is not an SVG file", "save it as SVG from a drawing program")


def _check_attribute(element: str, key: str, value: str) -> None:
    namespace, name = _split(key)
    lowered = name.lower()
    if lowered.startswith("on"):
        raise _Unsafe(f"has an event handler ({name}) on <{element}>")
    if namespace == XML_NAMESPACE and lowered == "base":
        raise _Unsafe(f"sets xml:base on <{element}>")
    if lowered in ("href", "src"):
        if element in IMAGE_ELEMENTS:
            raise _Unsafe(f"loads an image: <{element} {name}={shorten(value)!r}>")
        if not FRAGMENT.fullmatch(value.strip()):
            raise _Unsafe(f"references {shorten(value)!r} (<{element} {name}>)")
    # Any attribute may be a presentation attribute or a style: check CSS where it could load something.
    if re.search(r"[\\@(]", value):
        _check_css(value, f"<{element} {name}>")


def _check_css(text: str, where: str) -> None:
    """Refuse CSS that could load anything: @import and url()/image-set() etc. other than url(#id).

    tinycss2 (a dependency of WeasyPrint) tokenizes, so CSS escapes such as ``\\75 rl(`` are
    read as WeasyPrint would read them.
    """
    import tinycss2

    def walk(tokens):
        for token in tokens:
            kind = token.type
            if kind == "url" and not FRAGMENT.fullmatch(token.value.strip()):
                raise _Unsafe(f"loads url({shorten(token.value)}) in {where}")
            if kind == "function" and token.lower_name in CSS_LOADERS:
                arguments = [t for t in token.arguments if t.type not in ("whitespace", "comment")]
                if not (token.lower_name == "url" and len(arguments) == 1 and arguments[0].type == "string" and FRAGMENT.fullmatch(arguments[0].value.strip())):
                    raise _Unsafe(f"loads {token.lower_name}({shorten(tinycss2.serialize(token.arguments))}) in {where}")
            if kind == "at-keyword" and token.lower_value == "import":
                raise _Unsafe(f"has an @import in {where}")
            if kind == "error" and token.kind == "bad-url":
                raise _Unsafe(f"has a malformed url() in {where}")
            if kind == "function":
                walk(token.arguments)
            elif hasattr(token, "content") and isinstance(token.content, list):
                walk(token.content)

    walk(tinycss2.parse_component_value_list(text))


# --- messages ------------------------------------------------------------------------------

def _split(name: str) -> tuple[str | None, str]:
    """ElementTree's ``{namespace}local`` as (namespace, local)."""
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return None, name


def _refusal(path: Path, problem: str, remedy: str) -> PipelineError:
    """One line under 300 characters: the logo's path, what is wrong, what to do."""
    tail = f": {shorten(problem, 150)}; {remedy}"
    room = max(MESSAGE_LIMIT - 1 - len(tail), 40)
    name = shorten(str(path), 10**6)
    if len(name) > room:
        name = "\u2026" + name[-(room - 1):]  # keep the file's own name, the end of the path
    return PipelineError((name + tail)[: MESSAGE_LIMIT - 1])
