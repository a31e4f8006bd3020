"""What every chart shares: its colours and font, text made safe for SVG and measured to wrap
inside a box, coordinates and tick labels written the same way, and the ``data:`` URL that puts
an SVG into an ``<img>``.

Text widths are DejaVu Sans's advance widths, so text can be wrapped or cut before WeasyPrint
lays it out (an SVG has no automatic line breaks).
"""

from __future__ import annotations

import base64
import re
import unicodedata

NAVY = "#12355b"
TEXT = "#1f2933"
MUTED = "#52606d"
MUTED_LIGHT = "#6b7280"
LIGHT_FILL = "#f3f6fa"
RULE = "#d7dce2"
IMPROVED = "#1b7f5f"
WORSENED = "#b3261e"
NEUTRAL = "#8a8f98"
CHANGED = "#6a4c93"

FONT_FAMILY = "DejaVu Sans, sans-serif"
HIGHER_IS = ("better", "worse", "neutral")


def svg_data_uri(svg: str) -> str:
    """An SVG document as a ``data:image/svg+xml;base64,...`` URL for an ``<img>`` element."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


# --- coordinates and tick labels -----------------------------------------------------------

_PT = 4 * 25.4 / 72  # px per point: every chart has 4 px of its viewBox to the mm


def _num(value: float) -> str:
    """A coordinate for the SVG: at most two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _decimals(value: float) -> int:
    """The fewest decimals (up to 6) that write ``value`` exactly, e.g. 2 for 0.25, 0 for 5."""
    for places in range(7):
        if abs(round(value, places) - value) <= 1e-9 * abs(value):
            return places
    return 6


def _tick_label(value: float, places: int) -> str:
    """A tick's label with a fixed number of decimals and a true minus sign (as matplotlib writes it)."""
    text = f"{value:.{places}f}"
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")  # no "-0"
    return text.replace("-", "\u2212")


# --- text helpers --------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all (escaping does not help): C0 controls other than tab,
# newline and carriage return, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Advance widths of DejaVu Sans (regular and bold) for ASCII 32-126, in 1/2048 em, read from the
# font that ships with matplotlib. Used to wrap text so it stays inside its box; other characters
# count as a wide Latin letter, or a full em when East Asian wide.
_ASCII_WIDTHS = (
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, 1303, 1303, 1303,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, 2048, 1401, 1405, 1430, 1577,
    1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, 1235, 1612, 1423, 1300, 1251, 1499, 1401,
    2025, 1403, 1251, 1403, 799, 690, 799, 1716, 1024, 1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, 1298,
    569, 569, 1186, 569, 1995, 1298, 1253, 1300, 1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075,
    1303, 690, 1303, 1716,
)
_ASCII_WIDTHS_BOLD = (
    713, 934, 1067, 1716, 1425, 2052, 1786, 627, 936, 936, 1071, 1716, 778, 850, 778, 748, 1425, 1425, 1425,
    1425, 1425, 1425, 1425, 1425, 1425, 1425, 819, 819, 1716, 1716, 1716, 1188, 2048, 1585, 1561, 1503, 1700,
    1399, 1399, 1681, 1714, 762, 762, 1587, 1305, 2038, 1714, 1741, 1501, 1741, 1577, 1475, 1397, 1663, 1585,
    2259, 1579, 1483, 1485, 936, 748, 936, 1716, 1024, 1024, 1382, 1466, 1214, 1466, 1389, 891, 1466, 1458,
    702, 702, 1362, 702, 2134, 1458, 1407, 1466, 1466, 1010, 1219, 979, 1458, 1335, 1892, 1321, 1335, 1192,
    1458, 748, 1458, 1716,
)


def _clean(text) -> str:
    """Text safe to put in XML: invalid characters dropped, runs of whitespace made one space."""
    return " ".join(_NOT_XML.sub("", str(text)).split())


def _text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in px of ``text`` set in DejaVu Sans at ``size`` px, with 3% to spare."""
    table = _ASCII_WIDTHS_BOLD if bold else _ASCII_WIDTHS
    units = 0
    for char in text:
        code = ord(char)
        if 32 <= code <= 126:
            units += table[code - 32]
        elif unicodedata.east_asian_width(char) in ("W", "F"):
            units += 2048
        else:
            units += 1600
    return 1.03 * units * size / 2048


def wrap_text(text: str, width: float, size: float, bold: bool = False, hanging: float = 0) -> list[str]:
    """``text`` broken into lines no wider than ``width`` px at ``size`` px, at spaces where possible.

    Lines after the first must fit ``width - hanging`` (for a hanging indent). A word too long for
    a line on its own is cut; an empty text gives no lines.

    >>> wrap_text("valid follow-up answers", 90, 11)
    ['valid follow-up', 'answers']
    """
    lines: list[str] = []
    current = ""

    def room() -> float:
        return width - hanging if lines else width

    for word in _clean(text).split(" "):
        if not word:
            continue
        candidate = f"{current} {word}" if current else word
        if _text_width(candidate, size, bold) <= room():
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        while len(word) > 1 and _text_width(word, size, bold) > room():
            cut = 1
            while cut < len(word) and _text_width(word[: cut + 1], size, bold) <= room():
                cut += 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines


def _fit(text: str, width: float, size: float, bold: bool = False) -> str:
    """``text`` cut with an ellipsis so that it is no wider than ``width`` px at ``size`` px."""
    if _text_width(text, size, bold) <= width:
        return text
    text = text[: int(width / (0.27 * size)) + 1]  # no character is narrower than 0.27 em: cut a long text at once
    while text and _text_width(text.rstrip() + "\u2026", size, bold) > width:
        text = text[:-1]
    return text.rstrip() + "\u2026"
