"""The trajectory: one variable's model mean at every wave with its 95% interval, as SVG (and,
in a two-group study, both groups' means in one panel: :func:`groups_trajectory_svg`).

The three-or-more-wave counterpart of :mod:`.slopes`, in its visual language: the same panel
size, grid, tick labels and navy means with whiskers, and the y axis spanning the instrument's
range. It draws no participant: only the mixed model's wave means (aggregates).
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from .primitives import _PT, FONT_FAMILY, MUTED, MUTED_LIGHT, NAVY, RULE, TEXT, _clean, _fit, _num, _text_width, wrap_text
from .slopes import score_axis, _CAP_HALF, _MEAN_RADIUS, _SLOPES_H, _SLOPES_W, _TICK_PAD, _WAVE_SIZE

_W, _H = _SLOPES_W, _SLOPES_H
_AREA_LEFT = 0.12 * _W
_AREA_RIGHT = 0.97 * _W
_AREA_TOP = 0.05 * _H
_LABEL_LINE = 1.15 * _WAVE_SIZE
_AREA_BOTTOM = _H - _TICK_PAD - 2 * _LABEL_LINE - 2  # room for wave labels of two lines
_INSET = 0.1  # of the plot's width, between the axis and the first (and the last) wave
_NOTE_SIZE = 6.5 * _PT


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def wave_positions(weeks: list[float | None]) -> list[float]:
    """Where each wave sits on the x axis, from 0 (the first) to 1 (the last): by ``weeks`` when
    every wave has them, else evenly spaced.

    >>> wave_positions([0, 26, 52]), wave_positions([0, 4, 52]), wave_positions([None, None, None, None])
    ([0.0, 0.5, 1.0], [0.0, 0.07692307692307693, 1.0], [0.0, 0.3333333333333333, 0.6666666666666666, 1.0])
    """
    count = len(weeks)
    if count == 1:
        return [0.5]
    if all(_finite(w) for w in weeks):
        first, last = float(weeks[0]), float(weeks[-1])
        if last > first:
            return [(float(w) - first) / (last - first) for w in weeks]
    return [index / (count - 1) for index in range(count)]


def trajectory_svg(waves: list[dict], low: float, high: float, name: str = "") -> str:
    """One variable's wave means as a small SVG panel (78 x 52 mm, as :func:`paired_slopes_svg`), written by hand.

    ``waves`` in time order, each ``{"label": str, "weeks": float | None, "mean": float, "low":
    float, "high": float}``: the model's mean and its 95% interval at that wave. A wave whose mean
    is missing (NaN: withheld, too few answers) is drawn as a gap: no point, the line broken there,
    "too few" in small type. Waves sit by ``weeks`` when every wave has them, else evenly
    (:func:`wave_positions`); their labels are wrapped under the axis. The y axis spans the
    instrument's range ``[low, high]``; an interval past an end is drawn to that end. A dashed line
    carries the first wave's mean across, to read later waves against it. ``name`` begins the
    SVG's ``<title>`` (:func:`trajectory_title`). Every text is escaped; the same input gives the
    same bytes.

    >>> svg = trajectory_svg([{"label": "Start", "weeks": 0, "mean": 4.0, "low": 3.8, "high": 4.2},
    ...                       {"label": "End", "weeks": 26, "mean": 4.6, "low": 4.4, "high": 4.8}], 1, 7, "Hope")
    >>> '<title>Hope: the mean was 4.00 at Start and 4.60 at End' in svg and 'role="img"' in svg
    True
    """
    if not waves:
        raise ValueError("a trajectory needs at least one wave")
    if not (_finite(low) and _finite(high) and low < high):
        raise ValueError(f"the score range must have low < high, not [{low}, {high}]")
    points = []
    for wave in waves:
        mean = float(wave["mean"]) if _finite(wave.get("mean")) else None
        interval = None
        if mean is not None and _finite(wave.get("low")) and _finite(wave.get("high")):
            a, b = sorted((float(wave["low"]), float(wave["high"])))
            interval = (max(a, low), min(b, high))
        if mean is not None:
            mean = min(max(mean, low), high)
        points.append({"label": _clean(wave.get("label", "")), "mean": mean, "interval": interval})
    xs_unit = wave_positions([wave.get("weeks") for wave in waves])
    plot_left = _AREA_LEFT + _INSET * (_AREA_RIGHT - _AREA_LEFT)
    plot_right = _AREA_RIGHT - _INSET * (_AREA_RIGHT - _AREA_LEFT)
    xs = [plot_left + t * (plot_right - plot_left) for t in xs_unit]

    y_of, parts = score_axis(low, high, (_AREA_LEFT, _AREA_RIGHT, _AREA_TOP, _AREA_BOTTOM))

    # Wave labels: each wrapped to the room its neighbours leave it (two lines at most).
    texts = []
    for index, (x, point) in enumerate(zip(xs, points)):
        gaps = [abs(x - xs[j]) for j in (index - 1, index + 1) if 0 <= j < len(xs)]
        room = min([*gaps, 2 * min(x, _W - x)]) - 4
        room = max(room, 24.0)
        lines = wrap_text(point["label"], room, _WAVE_SIZE)
        if len(lines) > 2:
            lines = [lines[0], _fit(" ".join(lines[1:]), room, _WAVE_SIZE)]
        for number, line in enumerate(lines):
            y = _AREA_BOTTOM + _TICK_PAD + 0.76 * _WAVE_SIZE + number * _LABEL_LINE
            texts.append(f'<text x="{_num(x)}" y="{_num(y)}">{escape(line)}</text>')
    parts.append(f'<g id="waves" font-size="{_num(_WAVE_SIZE)}" fill="{TEXT}" text-anchor="middle">{"".join(texts)}</g>')

    parts.append(
        f'<path id="axes" d="M {_num(_AREA_LEFT)} {_num(_AREA_TOP)} V {_num(_AREA_BOTTOM)} H {_num(_AREA_RIGHT)}" '
        f'fill="none" stroke="{RULE}" stroke-width="{_num(0.6 * _PT)}"/>'
    )
    if points[0]["mean"] is not None and len(points) > 1:
        y = _num(y_of(points[0]["mean"]))
        parts.append(
            f'<path id="reference" d="M {_num(xs[0])} {y} H {_num(xs[-1])}" fill="none" stroke="{MUTED_LIGHT}" '
            f'stroke-width="{_num(0.6 * _PT)}" stroke-dasharray="{_num(2 * _PT)} {_num(1.5 * _PT)}"/>'
        )
    gaps = [x for x, point in zip(xs, points) if point["mean"] is None]
    if gaps:
        middle = _num((_AREA_TOP + _AREA_BOTTOM) / 2)
        notes = "".join(f'<text x="{_num(x)}" y="{middle}">too few</text>' for x in gaps)
        parts.append(
            f'<g id="withheld" font-size="{_num(_NOTE_SIZE)}" font-style="italic" fill="{MUTED}" text-anchor="middle">{notes}</g>'
        )

    # The means: a line through consecutive shown waves (broken at a gap), the intervals with
    # caps, then each mean as a navy disc with a white edge, as in the slopes panel.
    segments, run = [], []
    for x, point in zip(xs, points):
        if point["mean"] is None:
            run = []
            continue
        run.append(f"{_num(x)} {_num(y_of(point['mean']))}")
        if len(run) == 2:
            segments.append(f"M {run[0]} L {run[1]}")
        elif len(run) > 2:
            segments[-1] += f" L {run[-1]}"
    interval, caps, dots = [], [], []
    for x, point in zip(xs, points):
        if point["mean"] is None:
            continue
        if point["interval"] is not None:
            ends = (y_of(point["interval"][0]), y_of(point["interval"][1]))
            interval.append(f"M {_num(x)} {_num(ends[0])} V {_num(ends[1])}")
            caps.extend(f"M {_num(x - _CAP_HALF)} {_num(end)} H {_num(x + _CAP_HALF)}" for end in ends)
        dots.append(f"M {_num(x - 0.005)} {_num(y_of(point['mean']))} h 0.01")
    edge = 0.8 * _PT
    drawn = []
    if segments:
        line = " ".join(segments)
        drawn.append(f'<path class="halo" stroke="#ffffff" stroke-width="{_num(4 * _PT)}" stroke-linecap="round" d="{line}"/>')
        drawn.append(f'<path class="mean-line" stroke="{NAVY}" stroke-width="{_num(2 * _PT)}" stroke-linecap="round" stroke-linejoin="round" d="{line}"/>')
    if interval:
        drawn.append(f'<path class="intervals" stroke="{NAVY}" stroke-width="{_num(1.4 * _PT)}" d="{" ".join(interval)}"/>')
        drawn.append(f'<path class="caps" stroke="{NAVY}" stroke-width="{_num(0.8 * _PT)}" d="{" ".join(caps)}"/>')
    if dots:
        drawn.append(
            f'<path class="mean-edges" stroke="#ffffff" stroke-width="{_num(2 * _MEAN_RADIUS + edge)}" stroke-linecap="round" d="{" ".join(dots)}"/>'
        )
        drawn.append(
            f'<path class="mean-points" stroke="{NAVY}" stroke-width="{_num(2 * _MEAN_RADIUS - edge)}" stroke-linecap="round" d="{" ".join(dots)}"/>'
        )
    parts.append(f'<g id="means" fill="none">{"".join(drawn)}</g>')

    title = escape(trajectory_title(waves, name))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_W // 4}mm" height="{_H // 4}mm" '
        f'viewBox="0 0 {_W} {_H}" font-family="{FONT_FAMILY}">\n<title>{title}</title>\n' + "\n".join(parts) + "\n</svg>\n"
    )


def trajectory_title(waves: list[dict], name: str = "") -> str:
    """The trajectory in one sentence (its SVG ``<title>``; fit for the ``<img>``'s alt text too).

    >>> trajectory_title([{"label": "Start", "mean": 4.0}, {"label": "End", "mean": float("nan")},
    ...                   {"label": "Later", "mean": 4.31}], "Hope")
    'Hope: the mean was 4.00 at Start, not shown at End (too few answers) and 4.31 at Later (model means with 95% intervals)'
    """
    def number(value) -> str:
        text = f"{float(value):.2f}"
        return (text.lstrip("-") if float(text) == 0 else text).replace("-", "\u2212")

    parts = [
        f"{number(wave['mean'])} at {_clean(wave.get('label', ''))}" if _finite(wave.get("mean"))
        else f"not shown at {_clean(wave.get('label', ''))} (too few answers)"
        for wave in waves
    ]  # fmt: skip
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    prefix = f"{_clean(name)}: " if _clean(name) else ""
    return f"{prefix}the mean was {listed} (model means with 95% intervals)"


#: The colours of the two groups' series in :func:`groups_trajectory_svg`: navy for the program
#: group, as every mean in the report, and an orange that stays apart from it in grey and for
#: red-green colour blindness (Okabe & Ito's palette, 2008).
GROUP_COLOURS = (NAVY, "#d55e00")
_GROUP_OFFSET = 4.0  # px each series moves sideways, so the two intervals of a wave do not overlap
_LEGEND_SIZE = 6.5 * _PT
_LEGEND_ROOM = 1.6 * _LEGEND_SIZE  # above the plot area


def groups_trajectory_svg(series: list[dict], low: float, high: float, name: str = "") -> str:
    """Two groups' means at every wave in one small SVG panel (78 x 52 mm, as :func:`trajectory_svg`).

    ``series`` is one dict per group, the program group first: ``{"label": str, "waves": [...]}``
    with ``waves`` as :func:`trajectory_svg` takes them (label, weeks, mean, low, high; the same
    waves in the same order for every group). Each group is a line through its means with their
    95% intervals, in its colour (:data:`GROUP_COLOURS`: the first a navy disc and a solid line,
    the second an orange square and a dashed line, so they read apart in grey too), the two
    drawn a little apart sideways at each wave; a legend above the plot names them. A missing
    mean is a gap in its line and "too few" in small type. The y axis spans the instrument's range
    ``[low, high]``. Every text is escaped; the same input gives the same bytes.

    >>> svg = groups_trajectory_svg([
    ...     {"label": "Program", "waves": [{"label": "Start", "weeks": 0, "mean": 4.0, "low": 3.8, "high": 4.2},
    ...                                    {"label": "End", "weeks": 26, "mean": 4.6, "low": 4.4, "high": 4.8}]},
    ...     {"label": "Waitlist", "waves": [{"label": "Start", "weeks": 0, "mean": 4.1, "low": 3.9, "high": 4.3},
    ...                                     {"label": "End", "weeks": 26, "mean": 4.2, "low": 4.0, "high": 4.4}]}], 1, 7, "Hope")
    >>> '<title>Hope: Program 4.00 at Start and 4.60 at End; Waitlist 4.10 at Start and 4.20 at End' in svg
    True
    """
    if len(series) != 2:
        raise ValueError(f"a two-group trajectory needs two series, not {len(series)}")
    waves = series[0]["waves"]
    if not waves or any(len(group["waves"]) != len(waves) for group in series):
        raise ValueError("both groups need the same waves, at least one")
    if not (_finite(low) and _finite(high) and low < high):
        raise ValueError(f"the score range must have low < high, not [{low}, {high}]")
    top = _AREA_TOP + _LEGEND_ROOM
    xs_unit = wave_positions([wave.get("weeks") for wave in waves])
    plot_left = _AREA_LEFT + _INSET * (_AREA_RIGHT - _AREA_LEFT)
    plot_right = _AREA_RIGHT - _INSET * (_AREA_RIGHT - _AREA_LEFT)
    xs = [plot_left + t * (plot_right - plot_left) for t in xs_unit]
    y_of, parts = score_axis(low, high, (_AREA_LEFT, _AREA_RIGHT, top, _AREA_BOTTOM))

    texts = []
    for index, (x, wave) in enumerate(zip(xs, waves)):
        gaps = [abs(x - xs[j]) for j in (index - 1, index + 1) if 0 <= j < len(xs)]
        room = max(min([*gaps, 2 * min(x, _W - x)]) - 4, 24.0)
        lines = wrap_text(_clean(wave.get("label", "")), room, _WAVE_SIZE)
        if len(lines) > 2:
            lines = [lines[0], _fit(" ".join(lines[1:]), room, _WAVE_SIZE)]
        for number, line in enumerate(lines):
            y = _AREA_BOTTOM + _TICK_PAD + 0.76 * _WAVE_SIZE + number * _LABEL_LINE
            texts.append(f'<text x="{_num(x)}" y="{_num(y)}">{escape(line)}</text>')
    parts.append(f'<g id="waves" font-size="{_num(_WAVE_SIZE)}" fill="{TEXT}" text-anchor="middle">{"".join(texts)}</g>')
    parts.append(
        f'<path id="axes" d="M {_num(_AREA_LEFT)} {_num(top)} V {_num(_AREA_BOTTOM)} H {_num(_AREA_RIGHT)}" '
        f'fill="none" stroke="{RULE}" stroke-width="{_num(0.6 * _PT)}"/>'
    )

    legend, notes, drawn = [], [], []
    legend_x, legend_y = _AREA_LEFT + 2, _AREA_TOP + 0.9 * _LEGEND_SIZE
    for number, (group, colour) in enumerate(zip(series, GROUP_COLOURS)):
        offset = (number - 0.5) * 2 * _GROUP_OFFSET
        dashed = f' stroke-dasharray="{_num(3 * _PT)} {_num(1.5 * _PT)}"' if number else ""
        cap = "square" if number else "round"
        segments, run, whiskers, dots = [], [], [], []
        for x, wave in zip(xs, group["waves"]):
            x += offset
            mean = float(wave["mean"]) if _finite(wave.get("mean")) else None
            if mean is None:
                run = []
                notes.append(f'<text x="{_num(x)}" y="{_num((top + _AREA_BOTTOM) / 2 + number * 1.3 * _NOTE_SIZE)}" fill="{colour}">too few</text>')
                continue
            mean = min(max(mean, low), high)
            run.append(f"{_num(x)} {_num(y_of(mean))}")
            if len(run) == 2:
                segments.append(f"M {run[0]} L {run[1]}")
            elif len(run) > 2:
                segments[-1] += f" L {run[-1]}"
            if _finite(wave.get("low")) and _finite(wave.get("high")):
                a, b = sorted((float(wave["low"]), float(wave["high"])))
                whiskers.append(f"M {_num(x)} {_num(y_of(max(a, low)))} V {_num(y_of(min(b, high)))}")
            dots.append(f"M {_num(x - 0.005)} {_num(y_of(mean))} h 0.01")
        role = "program" if number == 0 else "comparison"
        if segments:
            drawn.append(
                f'<path class="mean-line {role}" stroke="{colour}" stroke-width="{_num(1.6 * _PT)}" stroke-linejoin="round"{dashed} d="{" ".join(segments)}"/>'
            )
        if whiskers:
            drawn.append(f'<path class="intervals {role}" stroke="{colour}" stroke-width="{_num(1.2 * _PT)}" d="{" ".join(whiskers)}"/>')
        if dots:
            size = 2 * _MEAN_RADIUS * (0.85 if number else 1)
            drawn.append(
                f'<path class="mean-points {role}" stroke="{colour}" stroke-width="{_num(size)}" stroke-linecap="{cap}" d="{" ".join(dots)}"/>'
            )
        label = _fit(_clean(group.get("label", "")), 0.4 * _W, _LEGEND_SIZE)
        key = f"M {_num(legend_x)} {_num(legend_y - 0.34 * _LEGEND_SIZE)} h {_num(4 * _PT)}"
        legend.append(
            f'<path class="legend-key {role}" stroke="{colour}" stroke-width="{_num(1.6 * _PT)}"{dashed} d="{key}"/>'
            f'<text x="{_num(legend_x + 5.5 * _PT)}" y="{_num(legend_y)}">{escape(label)}</text>'
        )
        legend_x += 5.5 * _PT + _text_width(label, _LEGEND_SIZE) + 5 * _PT
    parts.append(f'<g id="means" fill="none">{"".join(drawn)}</g>')
    if notes:
        parts.append(f'<g id="withheld" font-size="{_num(_NOTE_SIZE)}" font-style="italic" text-anchor="middle">{"".join(notes)}</g>')
    parts.append(f'<g id="legend" font-size="{_num(_LEGEND_SIZE)}" fill="{TEXT}">{"".join(legend)}</g>')
    title = escape(groups_trajectory_title(series, name))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_W // 4}mm" height="{_H // 4}mm" '
        f'viewBox="0 0 {_W} {_H}" font-family="{FONT_FAMILY}">\n<title>{title}</title>\n' + "\n".join(parts) + "\n</svg>\n"
    )


def groups_trajectory_title(series: list[dict], name: str = "") -> str:
    """Two groups' trajectories in one sentence (the SVG's ``<title>``; fit for alt text too).

    >>> groups_trajectory_title([{"label": "Program", "waves": [{"label": "Start", "mean": 4.0}, {"label": "End", "mean": 4.6}]},
    ...                          {"label": "Waitlist", "waves": [{"label": "Start", "mean": 4.1}, {"label": "End", "mean": float("nan")}]}])
    'Program 4.00 at Start and 4.60 at End; Waitlist 4.10 at Start and not shown at End (too few answers) (model means with 95% intervals)'
    """
    def number(value) -> str:
        text = f"{float(value):.2f}"
        return (text.lstrip("-") if float(text) == 0 else text).replace("-", "\u2212")

    groups = []
    for group in series:
        parts = [
            f"{number(wave['mean'])} at {_clean(wave.get('label', ''))}" if _finite(wave.get("mean"))
            else f"not shown at {_clean(wave.get('label', ''))} (too few answers)"
            for wave in group["waves"]
        ]  # fmt: skip
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        groups.append(f"{_clean(group.get('label', ''))} {listed}")
    prefix = f"{_clean(name)}: " if _clean(name) else ""
    return f"{prefix}{'; '.join(groups)} (model means with 95% intervals)"
