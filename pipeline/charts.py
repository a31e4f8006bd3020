"""Charts for the funder's impact report, as SVG strings (vector graphics WeasyPrint embeds).

Every function here is pure: the same input gives the same bytes (no dates, no random ids), so
reports are reproducible. Text from studies and data is always escaped: a label such as
``<img src=...>`` is drawn as text, never read as markup.

* :func:`flow_diagram_svg` - a CONSORT-style participant flow diagram, written by hand.
* :func:`paired_slopes_svg` - one variable's paired before/after scores, also written by hand.
* :func:`forest_svg` - standardized change of every variable with its interval, also by hand.
* :func:`svg_data_uri` - an SVG as a ``data:`` URL for ``<img src=...>``.
"""

from __future__ import annotations

import base64
import math
import re
import unicodedata
from xml.sax.saxutils import escape

import numpy as np

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


def _num(value: float) -> str:
    """A coordinate for the SVG: at most two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# --- the participant flow diagram ----------------------------------------------------------

# Geometry, in px of the viewBox (680 px = 170 mm, so 4 px to the mm).
_WIDTH = 680
_MARGIN = 2
_MAIN_X = _MARGIN
_MAIN_W = 372
_SIDE_X = 432
_SIDE_W = _WIDTH - _MARGIN - _SIDE_X
_PAD_X = 12
_PAD_TOP = 9
_PAD_BOTTOM = 10
_BAR = 3  # the navy rule on top of a main box
_COUNT_SIZE = 20
_COUNT_LINE = 22
_LABEL_SIZE = 11
_LABEL_LINE = 14
_SIDE_TITLE_SIZE = 11.5
_SIDE_TITLE_LINE = 15
_SIDE_SIZE = 10.5
_SIDE_LINE = 13.5
_SIDE_PAD_X = 10
_SIDE_PAD_Y = 8
_HANG = 10  # indent of a side box line's continuation
_GAP = 30  # between main boxes without a side box
_SIDE_CLEARANCE = 10  # between a side box and the main boxes above and below it


def flow_diagram_svg(main: list[dict], side: list[dict | None]) -> str:
    """A CONSORT-style participant flow diagram as an SVG document, 170 mm wide.

    ``main`` is the chain of boxes from top to bottom, each ``{"count": str, "label": str}``
    (the count already formatted for display, e.g. ``"<10"``). ``side[i]``, when given and not
    None, is an exclusion box ``{"title": str, "lines": [str, ...]}`` joined by a horizontal
    arrow to the arrow that leaves main box ``i`` (for the last box, to a short line below it).
    ``side`` may be shorter than ``main``. Each gap between main boxes grows to hold its side
    box, so nothing overlaps. All text is escaped.

    >>> svg = flow_diagram_svg([{"count": "150", "label": "rows read"}, {"count": "<10", "label": "kept"}], [None])
    >>> "&lt;10" in svg and "<title>Participant flow: 150 rows read \u2192 &lt;10 kept</title>" in svg
    True
    """
    if not main:
        raise ValueError("a flow diagram needs at least one main box")
    if len(side) > len(main):
        raise ValueError(f"{len(side)} side boxes for {len(main)} main boxes: at most one per main box")
    sides = list(side) + [None] * (len(main) - len(side))

    text_w = _MAIN_W - 2 * _PAD_X
    side_text_w = _SIDE_W - 2 * _SIDE_PAD_X
    centre_x = _MAIN_X + _MAIN_W / 2

    parts: list[str] = []
    y = float(_MARGIN)
    for index, (box, extra) in enumerate(zip(main, sides)):
        counts = wrap_text(box.get("count", ""), text_w, _COUNT_SIZE, bold=True)
        labels = wrap_text(box.get("label", ""), text_w, _LABEL_SIZE)
        height = _BAR + _PAD_TOP + _COUNT_LINE * len(counts) + _LABEL_LINE * len(labels) + _PAD_BOTTOM
        parts.append(
            f'<rect class="main" x="{_num(_MAIN_X)}" y="{_num(y)}" width="{_num(_MAIN_W)}" height="{_num(height)}" '
            f'fill="{LIGHT_FILL}"/>'
        )
        parts.append(f'<rect class="bar" x="{_num(_MAIN_X)}" y="{_num(y)}" width="{_num(_MAIN_W)}" height="{_BAR}" fill="{NAVY}"/>')
        baseline = y + _BAR + _PAD_TOP
        for line in counts:
            baseline += _COUNT_LINE
            parts.append(
                f'<text class="count" x="{_num(centre_x)}" y="{_num(baseline - 5)}" text-anchor="middle" '
                f'font-size="{_COUNT_SIZE}" font-weight="bold" fill="{NAVY}">{escape(line)}</text>'
            )
        for line in labels:
            baseline += _LABEL_LINE
            parts.append(
                f'<text class="label" x="{_num(centre_x)}" y="{_num(baseline - 3)}" text-anchor="middle" '
                f'font-size="{_LABEL_SIZE}" fill="{MUTED}">{escape(line)}</text>'
            )
        y += height

        last = index == len(main) - 1
        if extra is None:
            if not last:
                parts.append(_arrow(centre_x, y, centre_x, y + _GAP))
                y += _GAP
            continue

        title = wrap_text(extra.get("title", ""), side_text_w, _SIDE_TITLE_SIZE, bold=True)
        # Each line of a side box with a hanging indent, so a wrapped line reads as one item.
        lines = [
            (part, 0 if number == 0 else _HANG)
            for line in extra.get("lines", [])
            for number, part in enumerate(wrap_text(line, side_text_w, _SIDE_SIZE, hanging=_HANG))
        ]
        side_h = 2 * _SIDE_PAD_Y + _SIDE_TITLE_LINE * max(len(title), 1) + _SIDE_LINE * len(lines) + (3 if lines else 0)
        gap = max(_GAP, side_h + 2 * _SIDE_CLEARANCE)
        side_y = y + (gap - side_h) / 2
        # The connector leaves the vertical arrow level with the middle of the side box's title.
        connector_y = side_y + _SIDE_PAD_Y + _SIDE_TITLE_LINE / 2 + 0.5
        if last:
            # No box below: a short line from the last box carries the connector.
            gap = side_h + _SIDE_CLEARANCE
            side_y = y + _SIDE_CLEARANCE
            connector_y = side_y + _SIDE_PAD_Y + _SIDE_TITLE_LINE / 2 + 0.5
            parts.append(_line(centre_x, y, centre_x, connector_y))
        else:
            parts.append(_arrow(centre_x, y, centre_x, y + gap))
        parts.append(_arrow(centre_x, connector_y, _SIDE_X, connector_y))
        parts.append(
            f'<rect class="side" x="{_num(_SIDE_X)}" y="{_num(side_y)}" width="{_num(_SIDE_W)}" height="{_num(side_h)}" '
            f'fill="#fafbfc" stroke="{RULE}" stroke-width="1"/>'
        )
        baseline = side_y + _SIDE_PAD_Y
        for line in title:
            baseline += _SIDE_TITLE_LINE
            parts.append(
                f'<text class="side-title" x="{_num(_SIDE_X + _SIDE_PAD_X)}" y="{_num(baseline - 3.5)}" '
                f'font-size="{_SIDE_TITLE_SIZE}" font-weight="bold" fill="{TEXT}">{escape(line)}</text>'
            )
        if not title:
            baseline += _SIDE_TITLE_LINE
        baseline += 3 if lines else 0
        for line, indent in lines:
            baseline += _SIDE_LINE
            parts.append(
                f'<text class="side-line" x="{_num(_SIDE_X + _SIDE_PAD_X + indent)}" y="{_num(baseline - 3)}" '
                f'font-size="{_SIDE_SIZE}" fill="{MUTED}">{escape(line)}</text>'
            )
        y += gap

    height = math.ceil(y + _MARGIN)
    title = escape(flow_diagram_title(main, side))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_WIDTH / 4:g}mm" height="{_num(height / 4)}mm" '
        f'viewBox="0 0 {_WIDTH} {height}" font-family="{FONT_FAMILY}">\n'
        f"<title>{title}</title>\n"
        "<defs>"
        '<marker id="arrowhead" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        f'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{NAVY}"/></marker>'
        "</defs>\n" + "\n".join(parts) + "\n</svg>\n"
    )


def flow_diagram_title(main: list[dict], side: list[dict | None]) -> str:
    """The flow diagram in one sentence (its SVG ``<title>``; also fit for the ``<img>``'s alt text).

    >>> flow_diagram_title([{"count": "150", "label": "read"}, {"count": "147", "label": "valid"}], [{"title": "Excluded: 3", "lines": []}])
    'Participant flow: 150 read (Excluded: 3) \u2192 147 valid'
    """
    steps = []
    for index, box in enumerate(main):
        step = _clean(f"{box.get('count', '')} {box.get('label', '')}")
        extra = side[index] if index < len(side) else None
        if extra is not None and _clean(extra.get("title", "")):
            step += f" ({_clean(extra.get('title', ''))})"
        steps.append(step)
    return "Participant flow: " + " \u2192 ".join(steps)


def _line(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" stroke="{NAVY}" stroke-width="1.2"/>'


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    return _line(x1, y1, x2, y2)[:-2] + ' marker-end="url(#arrowhead)"/>'


# --- paired slopes -------------------------------------------------------------------------

# Geometry of the panel, in px of the viewBox: 4 px to the mm like the flow diagram, so the panel
# is 78 x 52 mm (about 3.1 x 2.05 in). Sizes of text and strokes are given in points.
_SLOPES_W = 312
_SLOPES_H = 208
_PT = 4 * 25.4 / 72  # px per point
_AREA_LEFT = 0.12 * _SLOPES_W
_AREA_RIGHT = 0.97 * _SLOPES_W
_AREA_TOP = 0.05 * _SLOPES_H
_AREA_BOTTOM = 0.88 * _SLOPES_H
# Before sits at 0 and after at 1 on an x axis running from -0.3 to 1.3.
_X_BEFORE = _AREA_LEFT + 0.3 / 1.6 * (_AREA_RIGHT - _AREA_LEFT)
_X_AFTER = _AREA_LEFT + 1.3 / 1.6 * (_AREA_RIGHT - _AREA_LEFT)
_Y_MARGIN = 0.05  # of the scale's range, above and below it
_TICK_SIZE = 7.5 * _PT
_WAVE_SIZE = 8 * _PT
_TICK_PAD = 3 * _PT
_GRID = "#e8ebef"
_DOT = "#9aa1ab"
_DOT_RADIUS = 0.8 * _PT
_CAP_HALF = 3 * _PT
_MEAN_RADIUS = 2.5 * _PT
# Participants' lines by colour, in the order they are drawn (within one multiplicity).
_LINE_COLOURS = (NEUTRAL, IMPROVED, WORSENED)


def _decimals(value: float) -> int:
    """The fewest decimals (up to 6) that write ``value`` exactly, e.g. 2 for 0.25, 0 for 5."""
    for places in range(7):
        if abs(round(value, places) - value) <= 1e-9 * abs(value):
            return places
    return 6


def _tick_values(low: float, high: float) -> list[float]:
    """The y axis ticks for a scale ``[low, high]``: never outside it.

    Every whole number on a short integer scale (4 to 10 points, e.g. 1 to 7); otherwise the
    smallest "nice" step (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten; a whole number
    on an integer scale longer than 10 points) that needs at most 6 intervals, the rule of
    matplotlib's ``MaxNLocator(nbins=6)`` that drew these panels before, so ticks stay the same.

    >>> _tick_values(1, 7)
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    >>> _tick_values(0, 27)
    [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    """
    span = high - low
    integer = float(low).is_integer() and float(high).is_integer()
    if integer and 4 <= span <= 10:
        step = 1.0
    else:
        raw = span / 6
        scale = 10.0 ** math.floor(math.log10(raw))
        steps = [factor * scale for factor in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 15)]
        if integer and span > 10:
            steps = [s for s in steps if s >= 1 and abs(s - round(s)) < 1e-9]
        step = next(s for s in steps if s >= raw * (1 - 1e-9))
    tolerance = 1e-9 * span
    first = math.ceil((low - tolerance) / step)
    last = math.floor((high + tolerance) / step)
    places = _decimals(step)
    # Rounded to the step's decimals, so 3 * 0.1 is 0.3 and not 0.30000000000000004.
    return [round(k * step, places) for k in range(first, last + 1)]


def _tick_label(value: float, places: int) -> str:
    """A tick's label with a fixed number of decimals and a true minus sign (as matplotlib writes it)."""
    text = f"{value:.{places}f}"
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")  # no "-0"
    return text.replace("-", "\u2212")


def paired_slopes_svg(
    pre,
    post,
    low: float,
    high: float,
    higher_is: str,
    label_pre: str = "Before",
    label_post: str = "After",
) -> str:
    """One variable's paired scores, before and after, as a small SVG panel (78 x 52 mm), written by hand.

    Each participant is a thin translucent line from their score before (left) to their score
    after (right): green when they moved in the better direction, red when they moved in the
    worse one, grey when their score did not change or the scale has no direction
    (``higher_is`` is ``"better"``, ``"worse"`` or ``"neutral"``). The mean at each wave with
    its 95% t confidence interval is drawn on top in navy (an interval reaching past an end of
    the scale is drawn to that end). The y axis always spans the instrument's range
    ``[low, high]``, so small changes look small. There is no legend: the caption explains.

    ``pre`` and ``post`` are equal-length 1-D arrays of paired scores with no missing values
    (the caller drops them); fewer than 2 pairs raise ``ValueError``, as do scores outside
    ``[low, high]``.

    To keep the SVG small and quick to render, participants with the same pair of scores share
    one line, drawn as dark as their stacked lines would be, and lines of one colour and
    multiplicity share one ``<path>`` (its ``data-count`` is the multiplicity).

    Privacy: participant-level data reach the report only as these unlabelled lines (no id, no
    count by colour shown, drawn in score order so the order of rows is not kept: the same pairs
    in any order give the same bytes). A line shared by several participants carries their
    number (its ``data-count`` and opacity), as stacked lines did: the file says how many
    moved from which score to which, never who. The caller leaves the panel out for variables
    with fewer pairs than the report's small-cell threshold.
    """
    pre = np.asarray(pre, dtype=float)
    post = np.asarray(post, dtype=float)
    if pre.ndim != 1 or pre.shape != post.shape:
        raise ValueError(f"pre and post must be 1-D arrays of the same length, not {pre.shape} and {post.shape}")
    n = len(pre)
    if n < 2:
        raise ValueError(f"a paired slope chart needs at least 2 pairs, not {n}")
    if not (np.isfinite(pre).all() and np.isfinite(post).all()):
        raise ValueError("pre and post must not contain missing or infinite values")
    if higher_is not in HIGHER_IS:
        raise ValueError(f"higher_is must be one of {HIGHER_IS}, not {higher_is!r}")
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"the score range must have low < high, not [{low}, {high}]")
    tolerance = 1e-9 * (high - low)
    if min(pre.min(), post.min()) < low - tolerance or max(pre.max(), post.max()) > high + tolerance:
        raise ValueError(f"scores outside the instrument's range [{low}, {high}]")

    from scipy import stats

    margin = _Y_MARGIN * (high - low)
    bottom_value = low - margin
    per_unit = (_AREA_BOTTOM - _AREA_TOP) / (high - low + 2 * margin)

    def y_of(value: float) -> float:
        return _AREA_BOTTOM - (value - bottom_value) * per_unit

    parts: list[str] = []

    # Light horizontal grid and the y tick labels.
    ticks = _tick_values(low, high)
    places = max(_decimals(t) for t in ticks)  # every label with as many decimals, e.g. 1.5, 2.0, 2.5
    grid = " ".join(f"M {_num(_AREA_LEFT)} {_num(y_of(t))} H {_num(_AREA_RIGHT)}" for t in ticks)
    parts.append(f'<path id="grid" d="{grid}" fill="none" stroke="{_GRID}" stroke-width="{_num(0.6 * _PT)}"/>')
    labels = "".join(
        f'<text x="{_num(_AREA_LEFT - _TICK_PAD)}" y="{_num(y_of(t) + 0.38 * _TICK_SIZE)}">{_tick_label(t, places)}</text>'
        for t in ticks
    )
    parts.append(f'<g id="y-ticks" font-size="{_num(_TICK_SIZE)}" fill="{MUTED}" text-anchor="end">{labels}</g>')
    wave_y = _num(_AREA_BOTTOM + _TICK_PAD + 0.76 * _WAVE_SIZE)
    parts.append(
        f'<g id="waves" font-size="{_num(_WAVE_SIZE)}" fill="{TEXT}" text-anchor="middle">'
        f'<text x="{_num(_X_BEFORE)}" y="{wave_y}">{escape(_clean(label_pre))}</text>'
        f'<text x="{_num(_X_AFTER)}" y="{wave_y}">{escape(_clean(label_post))}</text></g>'
    )

    # Participants. Identical pairs are drawn once, with the opacity k stacked lines would have,
    # 1 - (1 - alpha)^k, so density where lines coincide is kept exactly. Distinct lines of one
    # colour and multiplicity share one <path>: where two of them cross, the crossing is no
    # darker than either line (a path is painted once), a small loss we accept for a file that
    # renders quickly. np.unique sorts the pairs, so the output does not depend on row order.
    # Many participants: fainter lines, so that where they bunch up still reads as density.
    alpha = float(np.clip(2.7 / math.sqrt(n), 0.03, 0.3))
    pairs, counts = np.unique(np.column_stack([pre, post]), axis=0, return_counts=True)
    sign = {"better": 1, "worse": -1, "neutral": 0}[higher_is]
    change = (pairs[:, 1] - pairs[:, 0]) * sign
    colour_index = np.where(change > 0, 1, np.where(change < 0, 2, 0))
    y_pre = [_num(y_of(v)) for v in pairs[:, 0]]
    y_post = [_num(y_of(v)) for v in pairs[:, 1]]
    x_pre, x_post = _num(_X_BEFORE), _num(_X_AFTER)
    groups: dict[tuple[int, int], list[str]] = {}
    for index, (count, colour) in enumerate(zip(counts.tolist(), colour_index.tolist())):
        groups.setdefault((count, colour), []).append(f"M {x_pre} {y_pre[index]} L {x_post} {y_post[index]}")
    lines = []
    for count, colour in sorted(groups):  # thin first, densest on top
        opacity = f"{1 - (1 - alpha) ** count:.4f}".rstrip("0").rstrip(".")
        lines.append(
            f'<path data-count="{count}" stroke="{_LINE_COLOURS[colour]}" stroke-opacity="{opacity}" '
            f'd="{" ".join(groups[(count, colour)])}"/>'
        )
    parts.append(f'<g id="participants" fill="none" stroke-width="{_num(0.7 * _PT)}">{"".join(lines)}</g>')

    # Axis lines on the left and at the bottom.
    parts.append(
        f'<path id="axes" d="M {_num(_AREA_LEFT)} {_num(_AREA_TOP)} V {_num(_AREA_BOTTOM)} H {_num(_AREA_RIGHT)}" '
        f'fill="none" stroke="{RULE}" stroke-width="{_num(0.6 * _PT)}"/>'
    )

    # A small grey dot at each distinct score (opaque, so once per score looks the same). Each dot
    # is a very short stroke with round caps: one path of straight lines is much quicker for
    # WeasyPrint than circles or arcs, and a non-zero length keeps every PDF viewer drawing it.
    dots = " ".join(
        f"M {_num(x - 0.005)} {_num(y_of(value))} h 0.01"
        for x, values in ((_X_BEFORE, pairs[:, 0]), (_X_AFTER, pairs[:, 1]))
        for value in np.unique(values).tolist()
    )
    parts.append(
        f'<path id="scores" fill="none" stroke="{_DOT}" stroke-width="{_num(2 * _DOT_RADIUS)}" '
        f'stroke-linecap="round" d="{dots}"/>'
    )

    # The means with their 95% t intervals, clipped at the scale's ends: no mean can lie beyond them.
    # Drawn as six paths in one group (WeasyPrint's time grows with elements, and circles are
    # slow for it): the line's white halo, the navy line, the intervals, their caps, then each
    # mean as a white dot under a smaller navy one (a navy disc with a white edge).
    means = [float(pre.mean()), float(post.mean())]
    t = float(stats.t.ppf(0.975, n - 1))
    halves = [t * float(values.std(ddof=1)) / math.sqrt(n) for values in (pre, post)]
    xs = (_X_BEFORE, _X_AFTER)
    mean_d = f"M {_num(xs[0])} {_num(y_of(means[0]))} L {_num(xs[1])} {_num(y_of(means[1]))}"
    interval = []
    caps = []
    for x, mean, half in zip(xs, means, halves):
        ends = (y_of(max(mean - half, low)), y_of(min(mean + half, high)))
        interval.append(f"M {_num(x)} {_num(ends[0])} V {_num(ends[1])}")
        caps.extend(f"M {_num(x - _CAP_HALF)} {_num(end)} H {_num(x + _CAP_HALF)}" for end in ends)
    points = " ".join(f"M {_num(x - 0.005)} {_num(y_of(mean))} h 0.01" for x, mean in zip(xs, means))
    edge = 0.8 * _PT
    parts.append(
        f'<g id="means" fill="none">'
        f'<path class="halo" stroke="#ffffff" stroke-width="{_num(4 * _PT)}" stroke-linecap="round" d="{mean_d}"/>'
        f'<path class="mean-line" stroke="{NAVY}" stroke-width="{_num(2 * _PT)}" stroke-linecap="round" d="{mean_d}"/>'
        f'<path class="intervals" stroke="{NAVY}" stroke-width="{_num(1.4 * _PT)}" d="{" ".join(interval)}"/>'
        f'<path class="caps" stroke="{NAVY}" stroke-width="{_num(0.8 * _PT)}" d="{" ".join(caps)}"/>'
        f'<path class="mean-edges" stroke="#ffffff" stroke-width="{_num(2 * _MEAN_RADIUS + edge)}" '
        f'stroke-linecap="round" d="{points}"/>'
        f'<path class="mean-points" stroke="{NAVY}" stroke-width="{_num(2 * _MEAN_RADIUS - edge)}" '
        f'stroke-linecap="round" d="{points}"/></g>'
    )

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_SLOPES_W // 4}mm" height="{_SLOPES_H // 4}mm" '
        f'viewBox="0 0 {_SLOPES_W} {_SLOPES_H}" font-family="{FONT_FAMILY}">\n' + "\n".join(parts) + "\n</svg>\n"
    )


# --- the forest plot -----------------------------------------------------------------------

# Geometry, in px of the viewBox: 4 px to the mm, 696 px = 174 mm (the report's text width),
# so the figure is shown at its true size and 8.5 pt text is 8.5 pt on the page.
_FOREST_W = 696
_FOREST_MARGIN = 2
_FOREST_ROW = 31  # 7.75 mm: the old figure's 0.32 in rows, shrunk to the text width as they were shown
_FOREST_HEADING = 25  # a domain's sub-heading row
_FOREST_LABEL_SIZE = 8.5 * _PT
_FOREST_HEADING_SIZE = 8.5 * _PT
_FOREST_TICK_SIZE = 8.5 * _PT
_FOREST_AXIS_SIZE = 9 * _PT
_FOREST_NOTE_SIZE = 7.5 * _PT
_FOREST_LABEL_GAP = 12  # between the labels' right edge and the plot
_FOREST_RIGHT = _FOREST_W - 18  # room for half the last tick label
_FOREST_COLUMN = (0.22 * _FOREST_W, 0.42 * _FOREST_W)  # narrowest and widest label column
_FOREST_TICK = 3.5 * _PT
_FOREST_LINE = 1.6 * _PT  # an interval
_FOREST_MARKER = 6.5 * _PT  # a marker's diameter
_FOREST_EDGE = 1.1 * _PT  # a hollow marker's ring
_FOREST_GRID = "#e3e5e8"
_FOREST_ZERO = "#444444"
_FOREST_AXIS = "#8a9099"
_HEX_COLOUR = re.compile("#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?")


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _forest_ticks(low: float, high: float) -> list[float]:
    """Ticks a "nice" step apart, from a multiple of it at or below ``low`` to one at or above ``high``.

    The step is the smallest of 1, 2, 2.5 or 5 times a power of ten that needs at most 8 intervals
    (matplotlib's default steps), so the outer ticks cover every interval and 0 is always a tick
    when the range holds it.

    >>> _forest_ticks(-0.37, 1.0037)
    [-0.4, -0.2, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2]
    >>> _forest_ticks(0, 3.1)
    [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    """
    if not high - low > 1e-6:  # nothing to show but zero, or values too close to tell apart
        low, high = low - 1, high + 1
    span = high - low
    power = 10.0 ** math.floor(math.log10(span / 8))
    for step in (factor * power * scale for scale in (1, 10, 100) for factor in (1, 2, 2.5, 5)):
        tolerance = 1e-9 * span
        first = math.floor((low + tolerance) / step)
        last = math.ceil((high - tolerance) / step)
        if last - first <= 8:
            break
    places = _decimals(step)
    return [round(k * step, places) for k in range(first, last + 1)]


def _fit(text: str, width: float, size: float, bold: bool = False) -> str:
    """``text`` cut with an ellipsis so that it is no wider than ``width`` px at ``size`` px."""
    if _text_width(text, size, bold) <= width:
        return text
    text = text[: int(width / (0.27 * size)) + 1]  # no character is narrower than 0.27 em: cut a long text at once
    while text and _text_width(text.rstrip() + "\u2026", size, bold) > width:
        text = text[:-1]
    return text.rstrip() + "\u2026"


def forest_svg(rows: list[dict]) -> str:
    """A forest plot of standardized change with 95% intervals as an SVG document, 174 mm wide, written by hand.

    ``rows`` are the variables from top to bottom, each a dict with ``label`` (str), ``estimate``,
    ``low`` and ``high`` (floats, already flipped by the caller so that right is better),
    ``colour`` (a hex colour such as ``"#1b7f5f"``), ``hollow`` (True for a scale with no
    preferred direction: a white marker with a ring) and ``domain`` (str). Rows arrive grouped by
    domain; a bold sub-heading names each domain where it starts (none for an empty domain).

    Each row shows its label, right-aligned, then its interval as a line in its colour with a
    round marker at the estimate. A row whose estimate is missing (NaN) is drawn with its label
    and a small "not tested"; one whose interval is missing, with its marker only. A vertical
    line marks zero; light grid lines stand at "nice" ticks spanning every interval (see
    :func:`_forest_ticks`), labelled with a true minus sign. Labels too long for the left
    column (at most 42% of the width) are cut with an ellipsis.

    To keep the SVG quick for WeasyPrint (its time grows with elements, and circles are slow for
    it), the intervals of one colour share one ``<path>``, and so do its markers, each a very
    short stroke with round caps; hollow markers get one white path of smaller dots on top.
    The same rows give the same bytes; every text is escaped.

    >>> svg = forest_svg([{"label": "Depression (PHQ-9)", "estimate": 0.34, "low": 0.12, "high": 0.55,
    ...                    "colour": "#1b7f5f", "hollow": False, "domain": "Distress"}])
    >>> "Depression (PHQ-9)</text>" in svg and 'role="img"' in svg
    True
    """
    prepared = []
    for index, row in enumerate(rows):
        colour = str(row["colour"]).strip().lower()
        if not _HEX_COLOUR.fullmatch(colour):
            raise ValueError(f"row {index}: colour must be a hex colour such as #1b7f5f, not {row['colour']!r}")
        estimate = float(row["estimate"]) if _finite(row["estimate"]) else None
        interval = None
        if estimate is not None and _finite(row["low"]) and _finite(row["high"]):
            interval = tuple(sorted((float(row["low"]), float(row["high"]))))
        prepared.append({
            "label": _clean(row["label"]),
            "domain": _clean(row.get("domain", "")),
            "estimate": estimate,
            "interval": interval,
            "colour": colour,
            "hollow": bool(row["hollow"]),
        })

    # The label column: as wide as the widest label or heading, within bounds.
    widths = [_text_width(r["label"], _FOREST_LABEL_SIZE) for r in prepared]
    widths += [_text_width(r["domain"], _FOREST_HEADING_SIZE, bold=True) for r in prepared]
    column = min(max([_FOREST_COLUMN[0], *widths]), _FOREST_COLUMN[1])
    label_right = _FOREST_MARGIN + column
    plot_left = label_right + _FOREST_LABEL_GAP
    plot_right = _FOREST_RIGHT

    # The x axis: ticks covering zero, every estimate and every interval.
    values = [0.0]
    for r in prepared:
        values += [v for v in (r["estimate"], *(r["interval"] or ())) if v is not None]
    ticks = _forest_ticks(min(values), max(values))
    places = max(_decimals(t) for t in ticks)
    axis_low, axis_high = ticks[0], ticks[-1]

    def x_of(value: float) -> float:
        return plot_left + (value - axis_low) / (axis_high - axis_low) * (plot_right - plot_left)

    # Rows and domain sub-headings from the top.
    y = float(_FOREST_MARGIN)
    labels: list[str] = []
    headings: list[str] = []
    notes: list[str] = []
    intervals: dict[str, list[str]] = {}
    markers: dict[str, list[str]] = {}
    hollow: list[str] = []
    previous = None
    for r in prepared:
        if r["domain"] != previous and r["domain"]:
            text = escape(_fit(r["domain"], column, _FOREST_HEADING_SIZE, bold=True))
            headings.append(f'<text x="{_num(_FOREST_MARGIN)}" y="{_num(y + _FOREST_HEADING - 7)}">{text}</text>')
            y += _FOREST_HEADING
        previous = r["domain"]
        centre = y + _FOREST_ROW / 2
        text = escape(_fit(r["label"], column, _FOREST_LABEL_SIZE))
        labels.append(f'<text x="{_num(label_right)}" y="{_num(centre + 0.36 * _FOREST_LABEL_SIZE)}">{text}</text>')
        intervals.setdefault(r["colour"], [])
        markers.setdefault(r["colour"], [])
        if r["estimate"] is None:
            notes.append(
                f'<text x="{_num(x_of(0) + 6)}" y="{_num(centre + 0.36 * _FOREST_NOTE_SIZE)}">not tested</text>'
            )
        else:
            if r["interval"] is not None:
                low, high = r["interval"]
                intervals[r["colour"]].append(f"M {_num(x_of(low))} {_num(centre)} H {_num(x_of(high))}")
            dot = f"M {_num(x_of(r['estimate']) - 0.005)} {_num(centre)} h 0.01"
            markers[r["colour"]].append(dot)
            if r["hollow"]:
                hollow.append(dot)
        y += _FOREST_ROW
    plot_top = float(_FOREST_MARGIN)
    axis_y = y + 4

    parts: list[str] = []
    grid = " ".join(f"M {_num(x_of(t))} {_num(plot_top)} V {_num(axis_y)}" for t in ticks if t != 0)
    if grid:
        parts.append(f'<path id="grid" d="{grid}" fill="none" stroke="{_FOREST_GRID}" stroke-width="{_num(0.6 * _PT)}"/>')
    axis = f"M {_num(plot_left)} {_num(axis_y)} H {_num(plot_right)} " + " ".join(
        f"M {_num(x_of(t))} {_num(axis_y)} V {_num(axis_y + _FOREST_TICK)}" for t in ticks
    )
    parts.append(f'<path id="axis" d="{axis}" fill="none" stroke="{_FOREST_AXIS}" stroke-width="{_num(0.6 * _PT)}"/>')
    parts.append(
        f'<path id="zero" d="M {_num(x_of(0))} {_num(plot_top)} V {_num(axis_y)}" fill="none" '
        f'stroke="{_FOREST_ZERO}" stroke-width="{_num(0.8 * _PT)}"/>'
    )
    tick_y = axis_y + _FOREST_TICK + 2 * _PT + 0.76 * _FOREST_TICK_SIZE
    tick_labels = "".join(f'<text x="{_num(x_of(t))}" y="{_num(tick_y)}">{_tick_label(t, places)}</text>' for t in ticks)
    parts.append(f'<g id="x-ticks" font-size="{_num(_FOREST_TICK_SIZE)}" fill="{TEXT}" text-anchor="middle">{tick_labels}</g>')
    title_y = tick_y + 5 * _PT + 0.76 * _FOREST_AXIS_SIZE
    # d_z in italics with a real subscript. The subscript is lowered with dy and raised back by
    # the next tspan: WeasyPrint ignores baseline-shift (it would draw the z on the baseline),
    # and dy moves the text the same way in browsers.
    sub, drop = _num(0.72 * _FOREST_AXIS_SIZE), _num(0.22 * _FOREST_AXIS_SIZE)
    parts.append(
        f'<text id="x-label" x="{_num((plot_left + plot_right) / 2)}" y="{_num(title_y)}" text-anchor="middle" '
        f'font-size="{_num(_FOREST_AXIS_SIZE)}" fill="{TEXT}">Standardized change <tspan font-style="italic">d</tspan>'
        f'<tspan class="subscript" font-style="italic" font-size="{sub}" dy="{drop}">z</tspan>'
        f'<tspan dy="-{drop}"> with 95% interval (right = better)</tspan></text>'
    )
    if headings:
        parts.append(
            f'<g id="domains" font-size="{_num(_FOREST_HEADING_SIZE)}" font-weight="bold" fill="{NAVY}">{"".join(headings)}</g>'
        )
    parts.append(
        f'<g id="labels" font-size="{_num(_FOREST_LABEL_SIZE)}" fill="{TEXT}" text-anchor="end">{"".join(labels)}</g>'
    )
    if notes:
        parts.append(
            f'<g id="not-tested" font-size="{_num(_FOREST_NOTE_SIZE)}" font-style="italic" fill="{MUTED_LIGHT}">'
            f'{"".join(notes)}</g>'
        )
    drawn = []
    for colour, paths in intervals.items():
        if paths:
            drawn.append(f'<path class="intervals" stroke="{colour}" stroke-width="{_num(_FOREST_LINE)}" d="{" ".join(paths)}"/>')
    for colour, paths in markers.items():
        if paths:
            drawn.append(
                f'<path class="markers" stroke="{colour}" stroke-width="{_num(_FOREST_MARKER)}" stroke-linecap="round" '
                f'd="{" ".join(paths)}"/>'
            )
    if hollow:
        drawn.append(
            f'<path class="hollow" stroke="#ffffff" stroke-width="{_num(_FOREST_MARKER - 2 * _FOREST_EDGE)}" '
            f'stroke-linecap="round" d="{" ".join(hollow)}"/>'
        )
    if drawn:
        parts.append(f'<g id="estimates" fill="none">{"".join(drawn)}</g>')

    height = math.ceil(title_y + 0.24 * _FOREST_AXIS_SIZE + _FOREST_MARGIN + 2)
    title = escape(forest_title(rows))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_FOREST_W / 4:g}mm" height="{_num(height / 4)}mm" '
        f'viewBox="0 0 {_FOREST_W} {height}" font-family="{FONT_FAMILY}">\n'
        f"<title>{title}</title>\n" + "\n".join(parts) + "\n</svg>\n"
    )


def forest_title(rows: list[dict]) -> str:
    """The forest plot in one sentence (its SVG ``<title>``).

    >>> forest_title([{"label": "Hope (AHS)", "estimate": 0.79, "low": 0.58, "high": 1.0},
    ...               {"label": "Anxiety", "estimate": float("nan"), "low": float("nan"), "high": float("nan")}])
    'Forest plot of standardized change (d_z) with 95% intervals, right = better: Hope (AHS) 0.79 [0.58, 1.00]; Anxiety not tested'
    """
    def number(value) -> str:
        text = f"{float(value):.2f}"
        return (text.lstrip("-") if float(text) == 0 else text).replace("-", "\u2212")

    parts = []
    for row in rows:
        label = _clean(row["label"])
        if not _finite(row["estimate"]):
            parts.append(f"{label} not tested")
        elif _finite(row["low"]) and _finite(row["high"]):
            low, high = sorted((float(row["low"]), float(row["high"])))
            parts.append(f"{label} {number(row['estimate'])} [{number(low)}, {number(high)}]")
        else:
            parts.append(f"{label} {number(row['estimate'])}")
    return "Forest plot of standardized change (d_z) with 95% intervals, right = better: " + "; ".join(parts)
