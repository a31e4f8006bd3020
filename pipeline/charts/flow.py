"""The participant flow diagram: a CONSORT-style chain of boxes with exclusions at the side, as SVG;
and, for a study with a comparison group, the two-column CONSORT diagram (:func:`consort_diagram_svg`)."""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from .primitives import FONT_FAMILY, LIGHT_FILL, MUTED, NAVY, RULE, TEXT, _clean, _num, wrap_text

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
        parts.extend(_side_drawing(_SIDE_X, side_y, _SIDE_W, side_h, title, lines))
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



# The two-group diagram: the chain above the allocation centred, its side boxes to the right,
# then one column per group.
_TOP_W = 260
_TOP_X = (_WIDTH - _TOP_W) / 2
_TOP_SIDE_X = _TOP_X + _TOP_W + 16
_TOP_SIDE_W = _WIDTH - _MARGIN - _TOP_SIDE_X
_ARM_GAP = 20
_ARM_W = (_WIDTH - 2 * _MARGIN - _ARM_GAP) / 2
_ARM_LINE_SIZE = 10
_ARM_LINE = 13
_SPLIT = 14  # from the last box above the allocation down to the line that splits it in two


def consort_diagram_svg(main: list[dict], side: list[dict | None], arms: list[list[dict]]) -> str:
    """A CONSORT-style flow diagram of a two-group study as an SVG document, 170 mm wide (CONSORT 2010, Figure 1).

    ``main`` and ``side`` are the chain before the allocation, as :func:`flow_diagram_svg` takes
    them (boxes centred, each side box to the right of the arrow below its main box). ``arms`` are
    the two groups' columns, left and right, each a list of boxes ``{"count": str, "label": str,
    "lines": [str, ...]}`` from the allocation down (say, allocated, followed up at each later
    wave, analysed); both columns have as many boxes, and the boxes of one row are as tall as
    the taller of them. An arrow from the last main box splits into one arrow per column. All
    text is escaped.

    >>> svg = consort_diagram_svg([{"count": "300", "label": "valid"}], [None],
    ...     [[{"count": "150", "label": "allocated to the program"}], [{"count": "150", "label": "allocated to the waitlist"}]])
    >>> "<title>Participant flow: 300 valid; then 150 allocated to the program | 150 allocated to the waitlist</title>" in svg
    True
    """
    if not main:
        raise ValueError("a flow diagram needs at least one main box")
    if len(side) > len(main):
        raise ValueError(f"{len(side)} side boxes for {len(main)} main boxes: at most one per main box")
    if len(arms) != 2 or not arms[0] or len(arms[0]) != len(arms[1]):
        raise ValueError("a two-group flow needs two columns of as many boxes, at least one each")
    sides = list(side) + [None] * (len(main) - len(side))
    centre_x = _TOP_X + _TOP_W / 2
    parts: list[str] = []
    y = float(_MARGIN)
    for index, (box, extra) in enumerate(zip(main, sides)):
        height = _box(parts, box, _TOP_X, y, _TOP_W)
        y += height
        last = index == len(main) - 1
        if extra is None:
            if not last:
                parts.append(_arrow(centre_x, y, centre_x, y + _GAP))
                y += _GAP
            continue
        side_h, draw = _side_box(extra, _TOP_SIDE_X, _TOP_SIDE_W)
        gap = max(_GAP, side_h + 2 * _SIDE_CLEARANCE)
        side_y = y + (gap - side_h) / 2
        connector_y = side_y + _SIDE_PAD_Y + _SIDE_TITLE_LINE / 2 + 0.5
        if last:
            parts.append(_line(centre_x, y, centre_x, y + gap))
        else:
            parts.append(_arrow(centre_x, y, centre_x, y + gap))
        parts.append(_arrow(centre_x, connector_y, _TOP_SIDE_X, connector_y))
        parts.extend(draw(side_y))
        y += gap
    if sides[-1] is None:
        parts.append(_line(centre_x, y, centre_x, y + _SPLIT))
        y += _SPLIT
    columns = [_MARGIN, _MARGIN + _ARM_W + _ARM_GAP]
    centres = [x + _ARM_W / 2 for x in columns]
    parts.append(_line(centres[0], y, centres[1], y))
    for row, boxes in enumerate(zip(*arms)):
        parts.extend(_arrow(x, y, x, y + (_SPLIT if row == 0 else _GAP)) for x in centres)
        y += _SPLIT if row == 0 else _GAP
        height = max(_arm_height(box) for box in boxes)
        for box, x in zip(boxes, columns):
            _box(parts, box, x, y, _ARM_W, height)
        y += height
    height = math.ceil(y + _MARGIN)
    title = escape(consort_diagram_title(main, side, arms))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_WIDTH / 4:g}mm" height="{_num(height / 4)}mm" '
        f'viewBox="0 0 {_WIDTH} {height}" font-family="{FONT_FAMILY}">\n'
        f"<title>{title}</title>\n"
        "<defs>"
        '<marker id="arrowhead" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        f'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{NAVY}"/></marker>'
        "</defs>\n" + "\n".join(parts) + "\n</svg>\n"
    )


def consort_diagram_title(main: list[dict], side: list[dict | None], arms: list[list[dict]]) -> str:
    """The two-group flow in one sentence: the chain before the allocation, then each column's boxes.

    >>> consort_diagram_title([{"count": "300", "label": "valid"}], [], [[{"count": "150", "label": "program"}], [{"count": "150", "label": "waitlist"}]])
    'Participant flow: 300 valid; then 150 program | 150 waitlist'
    """
    columns = [" \u2192 ".join(_clean(f"{box.get('count', '')} {box.get('label', '')}") for box in arm) for arm in arms]
    return f"{flow_diagram_title(main, side)}; then {' | '.join(columns)}"


def _arm_height(box: dict) -> float:
    text_w = _ARM_W - 2 * _PAD_X
    counts = wrap_text(box.get("count", ""), text_w, _COUNT_SIZE, bold=True)
    labels = wrap_text(box.get("label", ""), text_w, _LABEL_SIZE)
    lines = [part for line in box.get("lines", []) for part in wrap_text(line, text_w, _ARM_LINE_SIZE)]
    return _BAR + _PAD_TOP + _COUNT_LINE * len(counts) + _LABEL_LINE * len(labels) + _ARM_LINE * len(lines) + (3 if lines else 0) + _PAD_BOTTOM


def _box(parts: list[str], box: dict, x: float, y: float, width: float, height: float | None = None) -> float:
    """Draw one main or column box (its count, label and any ``lines``) at (x, y); return its height."""
    text_w = width - 2 * _PAD_X
    counts = wrap_text(box.get("count", ""), text_w, _COUNT_SIZE, bold=True)
    labels = wrap_text(box.get("label", ""), text_w, _LABEL_SIZE)
    lines = [part for line in box.get("lines", []) for part in wrap_text(line, text_w, _ARM_LINE_SIZE)]
    own = _BAR + _PAD_TOP + _COUNT_LINE * len(counts) + _LABEL_LINE * len(labels) + _ARM_LINE * len(lines) + (3 if lines else 0) + _PAD_BOTTOM
    height = own if height is None else max(height, own)
    centre = x + width / 2
    parts.append(f'<rect class="main" x="{_num(x)}" y="{_num(y)}" width="{_num(width)}" height="{_num(height)}" fill="{LIGHT_FILL}"/>')
    parts.append(f'<rect class="bar" x="{_num(x)}" y="{_num(y)}" width="{_num(width)}" height="{_BAR}" fill="{NAVY}"/>')
    baseline = y + _BAR + _PAD_TOP
    for line in counts:
        baseline += _COUNT_LINE
        parts.append(
            f'<text class="count" x="{_num(centre)}" y="{_num(baseline - 5)}" text-anchor="middle" '
            f'font-size="{_COUNT_SIZE}" font-weight="bold" fill="{NAVY}">{escape(line)}</text>'
        )
    for line in labels:
        baseline += _LABEL_LINE
        parts.append(
            f'<text class="label" x="{_num(centre)}" y="{_num(baseline - 3)}" text-anchor="middle" '
            f'font-size="{_LABEL_SIZE}" fill="{MUTED}">{escape(line)}</text>'
        )
    baseline += 3 if lines else 0
    for line in lines:
        baseline += _ARM_LINE
        parts.append(
            f'<text class="box-line" x="{_num(centre)}" y="{_num(baseline - 3)}" text-anchor="middle" '
            f'font-size="{_ARM_LINE_SIZE}" fill="{TEXT}">{escape(line)}</text>'
        )
    return height


def _side_drawing(x: float, top: float, width: float, height: float, title: list[str], lines: list[tuple[str, float]]) -> list[str]:
    """A side box (the exclusions beside the chain) at (x, top): its frame, its wrapped bold title
    lines and its wrapped lines, each ``(text, indent)``; one drawing for both flow diagrams."""
    drawn = [
        f'<rect class="side" x="{_num(x)}" y="{_num(top)}" width="{_num(width)}" height="{_num(height)}" '
        f'fill="#fafbfc" stroke="{RULE}" stroke-width="1"/>'
    ]
    baseline = top + _SIDE_PAD_Y
    for line in title:
        baseline += _SIDE_TITLE_LINE
        drawn.append(
            f'<text class="side-title" x="{_num(x + _SIDE_PAD_X)}" y="{_num(baseline - 3.5)}" '
            f'font-size="{_SIDE_TITLE_SIZE}" font-weight="bold" fill="{TEXT}">{escape(line)}</text>'
        )
    if not title:
        baseline += _SIDE_TITLE_LINE
    baseline += 3 if lines else 0
    for line, indent in lines:
        baseline += _SIDE_LINE
        drawn.append(
            f'<text class="side-line" x="{_num(x + _SIDE_PAD_X + indent)}" y="{_num(baseline - 3)}" '
            f'font-size="{_SIDE_SIZE}" fill="{MUTED}">{escape(line)}</text>'
        )
    return drawn


def _side_box(extra: dict, x: float, width: float):
    """A side box's height and a function drawing it at a given top y (the exclusions beside the chain)."""
    text_w = width - 2 * _SIDE_PAD_X
    title = wrap_text(extra.get("title", ""), text_w, _SIDE_TITLE_SIZE, bold=True)
    lines = [
        (part, 0 if number == 0 else _HANG)
        for line in extra.get("lines", [])
        for number, part in enumerate(wrap_text(line, text_w, _SIDE_SIZE, hanging=_HANG))
    ]
    height = 2 * _SIDE_PAD_Y + _SIDE_TITLE_LINE * max(len(title), 1) + _SIDE_LINE * len(lines) + (3 if lines else 0)

    def draw(top: float) -> list[str]:
        return _side_drawing(x, top, width, height, title, lines)

    return height, draw
