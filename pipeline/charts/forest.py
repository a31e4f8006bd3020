"""The forest plot: standardized change of every variable with its 95% interval, grouped by domain, as SVG."""

from __future__ import annotations

import math
import re
from xml.sax.saxutils import escape

from .primitives import _PT, FONT_FAMILY, MUTED_LIGHT, NAVY, TEXT, _clean, _decimals, _fit, _num, _text_width, _tick_label

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

#: What the x axis shows, as its caption reads it: the words before the italic *d*, its subscript,
#: and the words after it; and the same in plain text for the SVG's ``<title>``.
CHANGE_AXIS = ("Standardized change", "z", " with 95% interval (right = better)")
CHANGE_SUBJECT = "standardized change (d_z)"


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


#: Marker shapes of the series of a forest plot with one interval per wave, in order (then repeated).
SHAPES = ("circle", "square", "diamond", "triangle", "triangle-down")
_FOREST_SERIES_GAP = 9  # between the intervals of one row's series
_FOREST_LEGEND_GAP = 16  # a legend entry's marker and the next entry


def _polygon(shape: str, x: float, y: float, radius: float) -> str:
    """A closed path of a diamond or triangle marker of about the given radius centred on (x, y)."""
    if shape == "diamond":
        r = 1.2 * radius
        corners = [(x, y - r), (x + r, y), (x, y + r), (x - r, y)]
    elif shape == "triangle":
        r = 1.25 * radius
        corners = [(x, y - r), (x + 0.87 * r, y + 0.5 * r), (x - 0.87 * r, y + 0.5 * r)]
    else:  # triangle-down
        r = 1.25 * radius
        corners = [(x, y + r), (x + 0.87 * r, y - 0.5 * r), (x - 0.87 * r, y - 0.5 * r)]
    return "M " + " L ".join(f"{_num(a)} {_num(b)}" for a, b in corners) + " Z"


def _marker(shape: str, x: float, y: float) -> str:
    """The path data of one marker: a very short stroke for a circle or square (drawn with round or
    square caps), an outline for a diamond or triangle (filled)."""
    if shape in ("circle", "square"):
        return f"M {_num(x - 0.005)} {_num(y)} h 0.01"
    return _polygon(shape, x, y, _FOREST_MARKER / 2)


def _prepared_point(index: int, point: dict, series: str = "") -> dict:
    colour = str(point["colour"]).strip().lower()
    if not _HEX_COLOUR.fullmatch(colour):
        raise ValueError(f"row {index}: colour must be a hex colour such as #1b7f5f, not {point['colour']!r}")
    shape = point.get("shape", "circle")
    if shape not in SHAPES:
        raise ValueError(f"row {index}: shape must be one of {SHAPES}, not {shape!r}")
    estimate = float(point["estimate"]) if _finite(point["estimate"]) else None
    interval = None
    if estimate is not None and _finite(point["low"]) and _finite(point["high"]):
        interval = tuple(sorted((float(point["low"]), float(point["high"]))))
    return {"estimate": estimate, "interval": interval, "colour": colour, "hollow": bool(point["hollow"]), "shape": shape,
            "note": _clean(point.get("note", "not tested")), "series": _clean(series)}  # fmt: skip


def forest_svg(
    rows: list[dict],
    legend: list[tuple[str, str]] | None = None,
    span: tuple[float, float] | None = None,
    axis: tuple[str, str, str] = CHANGE_AXIS,
    subject: str = CHANGE_SUBJECT,
) -> str:
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

    **One interval per wave.** A row may give ``points`` instead of one estimate: a list of
    dicts with ``series`` (e.g. the wave's label), ``estimate``, ``low``, ``high``, ``colour``,
    ``hollow``, ``shape`` (one of :data:`SHAPES`) and ``note`` (shown instead when the estimate
    is missing, e.g. "too few"), drawn one under the other within the row. ``legend`` then lists
    ``(series, shape)`` under the axis. ``span`` (low, high) widens the x axis to cover it too, so
    the parts of one plot split over pages (:func:`forest_parts`) share one axis.

    ``axis`` is the x axis's caption, ``(before, subscript, after)`` around an italic *d* (by
    default "Standardized change d_z with 95% interval (right = better)"), and
    ``subject`` what the ``<title>`` says is plotted (:func:`forest_title`): a plot of another
    standardized difference, e.g. between two groups, names its own.

    To keep the SVG quick for WeasyPrint (its time grows with elements, and circles are slow for
    it), the intervals of one colour share one ``<path>``, and so do its markers of one shape,
    each a very short stroke with round (or square) caps, or a small filled outline; hollow
    markers get one white path of smaller ones on top. The same rows give the same bytes; every
    text is escaped.

    >>> svg = forest_svg([{"label": "Depression (PHQ-9)", "estimate": 0.34, "low": 0.12, "high": 0.55,
    ...                    "colour": "#1b7f5f", "hollow": False, "domain": "Distress"}])
    >>> "Depression (PHQ-9)</text>" in svg and 'role="img"' in svg
    True
    """
    prepared = []
    for index, row in enumerate(rows):
        if "points" in row:
            points = [_prepared_point(index, point, point.get("series", "")) for point in row["points"]]
        else:
            points = [_prepared_point(index, row)]
        prepared.append({"label": _clean(row["label"]), "domain": _clean(row.get("domain", "")), "points": points})

    # The label column: as wide as the widest label or heading, within bounds.
    widths = [_text_width(r["label"], _FOREST_LABEL_SIZE) for r in prepared]
    widths += [_text_width(r["domain"], _FOREST_HEADING_SIZE, bold=True) for r in prepared]
    column = min(max([_FOREST_COLUMN[0], *widths]), _FOREST_COLUMN[1])
    label_right = _FOREST_MARGIN + column
    plot_left = label_right + _FOREST_LABEL_GAP
    plot_right = _FOREST_RIGHT

    # The x axis: ticks covering zero, every estimate and every interval.
    values = [0.0, *(float(v) for v in (span or ()) if _finite(v))]
    for r in prepared:
        for p in r["points"]:
            values += [v for v in (p["estimate"], *(p["interval"] or ())) if v is not None]
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
    markers: dict[tuple[str, str], list[str]] = {}
    hollow: dict[str, list[str]] = {}
    previous = None
    for r in prepared:
        if r["domain"] != previous and r["domain"]:
            text = escape(_fit(r["domain"], column, _FOREST_HEADING_SIZE, bold=True))
            headings.append(f'<text x="{_num(_FOREST_MARGIN)}" y="{_num(y + _FOREST_HEADING - 7)}">{text}</text>')
            y += _FOREST_HEADING
        previous = r["domain"]
        count = len(r["points"])
        row_height = _FOREST_ROW + max(count - 2, 0) * _FOREST_SERIES_GAP
        centre = y + row_height / 2
        text = escape(_fit(r["label"], column, _FOREST_LABEL_SIZE))
        labels.append(f'<text x="{_num(label_right)}" y="{_num(centre + 0.36 * _FOREST_LABEL_SIZE)}">{text}</text>')
        for number, p in enumerate(r["points"]):
            line = centre + (number - (count - 1) / 2) * _FOREST_SERIES_GAP
            intervals.setdefault(p["colour"], [])
            markers.setdefault((p["shape"], p["colour"]), [])
            if p["estimate"] is None:
                notes.append(f'<text x="{_num(x_of(0) + 6)}" y="{_num(line + 0.36 * _FOREST_NOTE_SIZE)}">{escape(p["note"])}</text>')
                continue
            if p["interval"] is not None:
                low, high = p["interval"]
                intervals[p["colour"]].append(f"M {_num(x_of(low))} {_num(line)} H {_num(x_of(high))}")
            markers[(p["shape"], p["colour"])].append(_marker(p["shape"], x_of(p["estimate"]), line))
            if p["hollow"]:
                hollow.setdefault(p["shape"], []).append(
                    _marker(p["shape"], x_of(p["estimate"]), line) if p["shape"] in ("circle", "square")
                    else _polygon(p["shape"], x_of(p["estimate"]), line, _FOREST_MARKER / 2 - 1.6 * _FOREST_EDGE)
                )
        y += row_height
    plot_top = float(_FOREST_MARGIN)
    axis_y = y + 4

    parts: list[str] = []
    grid = " ".join(f"M {_num(x_of(t))} {_num(plot_top)} V {_num(axis_y)}" for t in ticks if t != 0)
    if grid:
        parts.append(f'<path id="grid" d="{grid}" fill="none" stroke="{_FOREST_GRID}" stroke-width="{_num(0.6 * _PT)}"/>')
    axis_path = f"M {_num(plot_left)} {_num(axis_y)} H {_num(plot_right)} " + " ".join(
        f"M {_num(x_of(t))} {_num(axis_y)} V {_num(axis_y + _FOREST_TICK)}" for t in ticks
    )
    parts.append(f'<path id="axis" d="{axis_path}" fill="none" stroke="{_FOREST_AXIS}" stroke-width="{_num(0.6 * _PT)}"/>')
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
    caption_w = _text_width(f"{axis[0]} d{axis[2]}", _FOREST_AXIS_SIZE) + _text_width(axis[1], 0.72 * _FOREST_AXIS_SIZE)
    caption_x = min((plot_left + plot_right) / 2, _FOREST_W - _FOREST_MARGIN - caption_w / 2)  # a long caption stays on the page
    parts.append(
        f'<text id="x-label" x="{_num(caption_x)}" y="{_num(title_y)}" text-anchor="middle" '
        f'font-size="{_num(_FOREST_AXIS_SIZE)}" fill="{TEXT}">{escape(axis[0])} <tspan font-style="italic">d</tspan>'
        f'<tspan class="subscript" font-style="italic" font-size="{sub}" dy="{drop}">{escape(axis[1])}</tspan>'
        f'<tspan dy="-{drop}">{escape(axis[2])}</tspan></text>'
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
    for (shape, colour), paths in markers.items():
        if paths:
            drawn.append(_marker_path(shape, colour, _FOREST_MARKER, " ".join(paths), "markers"))
    for shape, paths in hollow.items():
        drawn.append(_marker_path(shape, "#ffffff", _FOREST_MARKER - 2 * _FOREST_EDGE, " ".join(paths), "hollow"))
    if drawn:
        parts.append(f'<g id="estimates" fill="none">{"".join(drawn)}</g>')

    height = math.ceil(title_y + 0.24 * _FOREST_AXIS_SIZE + _FOREST_MARGIN + 2)
    if legend:
        legend_y = title_y + 7 * _PT + 0.76 * _FOREST_LABEL_SIZE
        parts.append(_legend(legend, (plot_left + plot_right) / 2, legend_y))
        height = math.ceil(legend_y + 0.24 * _FOREST_LABEL_SIZE + _FOREST_MARGIN + 4)
    title = escape(forest_title(rows, subject))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_FOREST_W / 4:g}mm" height="{_num(height / 4)}mm" '
        f'viewBox="0 0 {_FOREST_W} {height}" font-family="{FONT_FAMILY}">\n'
        f"<title>{title}</title>\n" + "\n".join(parts) + "\n</svg>\n"
    )


def forest_parts(
    rows: list[dict],
    legend: list[tuple[str, str]] | None = None,
    max_height: float = 850,
    axis: tuple[str, str, str] = CHANGE_AXIS,
    subject: str = CHANGE_SUBJECT,
) -> list[str]:
    """:func:`forest_svg` of ``rows`` split into parts no taller than ``max_height`` px of the
    viewBox (850 px is 212 mm: one page with its heading), at row boundaries, every part on the
    same x axis (a continued domain names itself again at the top of its part). One part when it
    fits. ``axis`` and ``subject`` as :func:`forest_svg`'s.
    """
    values = [0.0]
    for row in rows:
        for point in row.get("points", [row]):
            values += [float(point[key]) for key in ("estimate", "low", "high") if _finite(point[key])]
    span = (min(values), max(values))

    def height(svg: str) -> float:
        return float(re.search(r'viewBox="0 0 [\d.]+ ([\d.]+)"', svg).group(1))

    parts, current = [], []
    for row in rows:
        if current and height(forest_svg(current + [row], legend, span, axis, subject)) > max_height:
            parts.append(current)
            current = []
        current.append(row)
    parts.append(current)
    return [forest_svg(part, legend, span, axis, subject) for part in parts]


def _marker_path(shape: str, colour: str, width: float, d: str, kind: str) -> str:
    """One ``<path>`` of markers of one shape and colour: stroked dots or squares, or filled outlines."""
    if shape == "circle":
        return f'<path class="{kind}" stroke="{colour}" stroke-width="{_num(width)}" stroke-linecap="round" d="{d}"/>'
    if shape == "square":
        side = width * 0.85  # a square looks larger than a circle of the same width
        return f'<path class="{kind} square" stroke="{colour}" stroke-width="{_num(side)}" stroke-linecap="square" d="{d}"/>'
    return f'<path class="{kind} {shape}" fill="{colour}" stroke="none" d="{d}"/>'


def _legend(entries: list[tuple[str, str]], centre: float, y: float) -> str:
    """A line of ``(label, shape)`` entries, centred: each marker in the text colour, then its label."""
    size = _FOREST_LABEL_SIZE
    items = [(escape(_clean(label)), shape, _text_width(_clean(label), size)) for label, shape in entries]
    total = sum(_FOREST_MARKER + 5 + width for _, _, width in items) + _FOREST_LEGEND_GAP * (len(items) - 1)
    x = centre - total / 2
    texts, marks = [], []
    for label, shape, width in items:
        marks.append(_marker_path(shape, TEXT, _FOREST_MARKER, _marker(shape, x + _FOREST_MARKER / 2, y - 0.34 * size), "legend-marker"))
        texts.append(f'<text x="{_num(x + _FOREST_MARKER + 5)}" y="{_num(y)}">{label}</text>')
        x += _FOREST_MARKER + 5 + width + _FOREST_LEGEND_GAP
    return f'<g id="legend" font-size="{_num(size)}" fill="{TEXT}">{"".join(marks)}{"".join(texts)}</g>'


def forest_title(rows: list[dict], subject: str = CHANGE_SUBJECT) -> str:
    """The forest plot of ``subject`` in one sentence (its SVG ``<title>``).

    >>> forest_title([{"label": "Hope (AHS)", "estimate": 0.79, "low": 0.58, "high": 1.0},
    ...               {"label": "Anxiety", "estimate": float("nan"), "low": float("nan"), "high": float("nan")}])
    'Forest plot of standardized change (d_z) with 95% intervals, right = better: Hope (AHS) 0.79 [0.58, 1.00]; Anxiety not tested'
    """
    def number(value) -> str:
        text = f"{float(value):.2f}"
        return (text.lstrip("-") if float(text) == 0 else text).replace("-", "\u2212")

    def point(p, missing: str = "not tested") -> str:
        if not _finite(p["estimate"]):
            return missing
        if _finite(p["low"]) and _finite(p["high"]):
            low, high = sorted((float(p["low"]), float(p["high"])))
            return f"{number(p['estimate'])} [{number(low)}, {number(high)}]"
        return number(p["estimate"])

    parts = []
    for row in rows:
        label = _clean(row["label"])
        if "points" in row:
            each = ", ".join(f"{_clean(p.get('series', ''))} {point(p, _clean(p.get('note', 'not tested')))}" for p in row["points"])
            parts.append(f"{label}: {each}")
        else:
            parts.append(f"{label} {point(row)}")
    return f"Forest plot of {_clean(subject)} with 95% intervals, right = better: " + "; ".join(parts)
