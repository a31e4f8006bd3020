"""Paired slopes: one variable's before/after scores, a line per participant, with the means on top, as SVG."""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

import numpy as np

from .primitives import _PT, FONT_FAMILY, HIGHER_IS, IMPROVED, MUTED, NAVY, NEUTRAL, RULE, TEXT, WORSENED, _clean, _decimals, _num, _tick_label

# Geometry of the panel, in px of the viewBox: 4 px to the mm like the flow diagram, so the panel
# is 78 x 52 mm (about 3.1 x 2.05 in). Sizes of text and strokes are given in points.
_SLOPES_W = 312
_SLOPES_H = 208
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
_NOTE_SIZE = 6.5 * _PT
_NOTE_ROW = 12  # px added above the plot for the note saying the lines are a sample

#: A panel draws at most this many participants' lines: above it, a random sample of this size
#: (:func:`line_sample`), said so in the panel; the means and intervals always use every pair.
#: The report's pages then take the same time to render whatever the study's size, and a
#: panel of 100,000 pairs reads as one of 300 does (3 to 4 times the demo's pairs).
SLOPE_LINES_MAX = 300


def line_sample(pre: np.ndarray, post: np.ndarray, limit: int = SLOPE_LINES_MAX) -> tuple[np.ndarray, np.ndarray]:
    """The pairs whose lines a panel draws: all of them up to ``limit``, else ``limit`` pairs
    drawn at random without replacement.

    The pairs are sorted (by before, then after) before the draw and the generator is seeded
    (numpy's ``default_rng(0)``), so the sample, and the chart, are the same on every run and for
    the same pairs in any row order.

    >>> pre, post = np.arange(10.0), np.arange(10.0) + 1
    >>> [len(values) for values in line_sample(pre, post, 4)], line_sample(pre, post, 10)[0] is pre
    ([4, 4], True)
    """
    if len(pre) <= limit:
        return pre, post
    order = np.lexsort((post, pre))
    chosen = order[np.sort(np.random.default_rng(0).choice(len(pre), size=limit, replace=False))]
    return pre[chosen], post[chosen]


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



def score_axis(low: float, high: float, area: tuple[float, float, float, float] = (_AREA_LEFT, _AREA_RIGHT, _AREA_TOP, _AREA_BOTTOM)):
    """The y axis of a panel over a scale's whole range [low, high] in the plot ``area`` (left,
    right, top, bottom): the function from a score to its y position, and the SVG of the light
    horizontal grid and the tick labels (shared by the paired slopes and the trajectory panels,
    so both read alike)."""
    left, right, top, bottom = area
    margin = _Y_MARGIN * (high - low)
    bottom_value = low - margin
    per_unit = (bottom - top) / (high - low + 2 * margin)

    def y_of(value: float) -> float:
        return bottom - (value - bottom_value) * per_unit

    ticks = _tick_values(low, high)
    places = max(_decimals(t) for t in ticks)  # every label with as many decimals, e.g. 1.5, 2.0, 2.5
    grid = " ".join(f"M {_num(left)} {_num(y_of(t))} H {_num(right)}" for t in ticks)
    labels = "".join(
        f'<text x="{_num(left - _TICK_PAD)}" y="{_num(y_of(t) + 0.38 * _TICK_SIZE)}">{_tick_label(t, places)}</text>'
        for t in ticks
    )
    parts = [
        f'<path id="grid" d="{grid}" fill="none" stroke="{_GRID}" stroke-width="{_num(0.6 * _PT)}"/>',
        f'<g id="y-ticks" font-size="{_num(_TICK_SIZE)}" fill="{MUTED}" text-anchor="end">{labels}</g>',
    ]
    return y_of, parts


def paired_slopes_svg(
    pre,
    post,
    low: float,
    high: float,
    higher_is: str,
    label_pre: str = "Before",
    label_post: str = "After",
    max_lines: int = SLOPE_LINES_MAX,
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
    multiplicity share one ``<path>`` (its ``data-count`` is the multiplicity). With more than
    ``max_lines`` pairs, the lines are those of a random ``max_lines`` of them
    (:func:`line_sample`) and a line of text above the plot says so; the means and intervals
    still come from every pair, and the grey dots mark the scores of the lines drawn.

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

    y_of, parts = score_axis(low, high)
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
    drawn_pre, drawn_post = line_sample(pre, post, max_lines)
    alpha = float(np.clip(2.7 / math.sqrt(len(drawn_pre)), 0.03, 0.3))
    pairs, counts = np.unique(np.column_stack([drawn_pre, drawn_post]), axis=0, return_counts=True)
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

    height = _SLOPES_H
    if len(drawn_pre) < n:  # a sample: say so above the plot, which moves down to make room
        height += _NOTE_ROW
        note = f"Lines: {len(drawn_pre):,} of {n:,} participants, drawn at random"
        parts = [
            f'<text id="sample-note" x="{_num(_SLOPES_W / 2)}" y="{_num(_NOTE_ROW - 2)}" font-size="{_num(_NOTE_SIZE)}" '
            f'fill="{MUTED}" text-anchor="middle">{note}</text>',
            f'<g transform="translate(0 {_NOTE_ROW})">',
            *parts,
            "</g>",
        ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_num(_SLOPES_W / 4)}mm" height="{_num(height / 4)}mm" '
        f'viewBox="0 0 {_SLOPES_W} {height}" font-family="{FONT_FAMILY}">\n' + "\n".join(parts) + "\n</svg>\n"
    )
