"""The forest plot: standardized change of every variable with its 95% interval, grouped by domain, as SVG."""

from __future__ import annotations

import math
import re
from xml.sax.saxutils import escape

from .primitives import _PT, FONT_FAMILY, MUTED_LIGHT, NAVY, TEXT, _clean, _decimals, _num, _text_width, _tick_label

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
