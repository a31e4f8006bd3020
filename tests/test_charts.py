"""Report charts: valid, deterministic SVG; text shown as text; boxes that never overlap; one line per distinct pair."""

from __future__ import annotations

import base64
import doctest
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib import font_manager, ft2font

from pipeline import charts
from pipeline.charts import flow as flow_module, forest as forest_module, primitives, slopes as slopes_module, trajectory as trajectory_module

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<img src="file:///etc/passwd">'

MAIN = [
    {"count": "150", "label": "rows read at baseline (before the program)"},
    {"count": "147", "label": "valid baseline answers"},
    {"count": "112", "label": "valid follow-up answers"},
    {"count": "112", "label": "matched"},
    {"count": "108\u2013112", "label": "analysed"},
]
SIDE = [
    {"title": "Excluded: 3", "lines": ["duplicate: <10", "no answers: <10"]},
    {"title": "Answered before only: 35", "lines": ["not in the paired comparison"]},
    None,
    None,
]


# --- helpers -------------------------------------------------------------------------------

def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def rects(root: ET.Element, kind: str) -> list[tuple[float, float, float, float]]:
    """(x, y, width, height) of the rects of one class, in document order."""
    return [
        tuple(float(r.get(k)) for k in ("x", "y", "width", "height"))
        for r in root.iter(f"{SVG}rect")
        if r.get("class") == kind
    ]


def intersects(a, b) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def texts(root: ET.Element, kind: str) -> list[ET.Element]:
    return [t for t in root.iter(f"{SVG}text") if t.get("class") == kind]


def squash(text: str) -> str:
    return "".join(text.split())


_FONTS = {}


def real_width(text: str, size: float, bold: bool) -> float:
    """Width in px of ASCII ``text`` in the real DejaVu Sans (not the module's own table)."""
    if bold not in _FONTS:
        props = font_manager.FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal")
        _FONTS[bold] = ft2font.FT2Font(font_manager.findfont(props, fallback_to_default=False))
    font = _FONTS[bold]
    units = sum(font.load_char(ord(c), flags=ft2font.LoadFlags.NO_SCALE).horiAdvance for c in text)
    return units * size / font.units_per_EM


def check_layout(svg: str, main: list[dict], side: list[dict | None]) -> ET.Element:
    """The invariants every flow diagram must keep; returns the parsed SVG."""
    root = ET.fromstring(svg)
    assert local(root.tag) == "svg" and root.get("role") == "img" and root.get("width") == "170mm"
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    boxes = rects(root, "main")
    sides = rects(root, "side")
    assert len(boxes) == len(main)
    assert len(sides) == sum(extra is not None for extra in side)

    everything = boxes + sides
    for index, a in enumerate(everything):
        x, y, w, h = a
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height, "box outside the drawing"
        for b in everything[index + 1:]:
            assert not intersects(a, b), f"{a} overlaps {b}"
    for upper, lower in zip(boxes, boxes[1:]):
        assert upper[1] + upper[3] < lower[1], "main boxes out of order"

    # A side box sits in the gap after its main box, clear of the main column.
    placed = iter(sides)
    for index, extra in enumerate(side):
        if extra is None:
            continue
        x, y, w, h = next(placed)
        above = boxes[index]
        assert x > above[0] + above[2]
        assert y >= above[1] + above[3]
        if index + 1 < len(boxes):
            assert y + h <= boxes[index + 1][1]
    return root


def pairs(n: int, seed: int = 1, low: float = 1, high: float = 7, step: float = 0.25):
    rng = np.random.default_rng(seed)
    pre = np.clip(np.round(rng.normal((low + high) / 2, (high - low) / 6, n) / step) * step, low, high)
    post = np.clip(np.round((pre + rng.normal(0.5, 0.8, n)) / step) * step, low, high)
    return pre, post


def subpaths(d: str) -> list[list[tuple[float, float]]]:
    """The subpaths of a path's ``d`` (commands M, L, H, V and h), as lists of absolute points."""
    tokens = re.findall(r"[A-Za-z]|-?\d+(?:\.\d+)?", d)
    result: list[list[tuple[float, float]]] = []
    index = 0
    while index < len(tokens):
        command = tokens[index]
        assert command in "MLHVh", f"unexpected path command {command!r} in {d!r}"
        if command in "ML":
            point = (float(tokens[index + 1]), float(tokens[index + 2]))
            index += 3
            if command == "M":
                result.append([point])
            else:
                result[-1].append(point)
            continue
        x, y = result[-1][-1]
        value = float(tokens[index + 1])
        index += 2
        result[-1].append({"H": (value, y), "V": (x, value), "h": (x + value, y)}[command])
    return result


def element(root: ET.Element, tag: str, key: str, value: str) -> ET.Element:
    """The one element ``<tag key="value">``."""
    found = [e for e in root.iter(f"{SVG}{tag}") if e.get(key) == value]
    assert len(found) == 1, f"expected one <{tag} {key}={value!r}>, found {len(found)}"
    return found[0]


def group(root: ET.Element, gid: str) -> ET.Element:
    return element(root, "g", "id", gid)


# --- the flow diagram ----------------------------------------------------------------------

def test_flow_diagram_is_valid_svg_with_a_title_built_from_its_content():
    svg = charts.flow_diagram_svg(MAIN, SIDE)
    root = check_layout(svg, MAIN, SIDE)
    title = root.find(f"{SVG}title").text
    assert title.startswith("Participant flow: 150 rows read at baseline (before the program) (Excluded: 3) \u2192 147")
    assert title.endswith("\u2192 108\u2013112 analysed")
    assert title == charts.flow_diagram_title(MAIN, SIDE)
    assert [t.text for t in texts(root, "count")] == [box["count"] for box in MAIN]
    assert root.get("font-family") == "DejaVu Sans, sans-serif"


def test_flow_diagram_text_is_escaped_and_shown_as_text():
    main = [
        {"count": "<10", "label": HOSTILE},
        {"count": "1,234 & more", "label": 'said "yes" & \'no\''},
    ]
    side = [{"title": "Excluded: <10 & <b>bold</b>", "lines": [HOSTILE, "a > b"]}]
    svg = charts.flow_diagram_svg(main, side)
    root = check_layout(svg, main, side)
    assert "<img" not in svg and "<b>" not in svg
    assert {local(e.tag) for e in root.iter()} <= {"svg", "title", "defs", "marker", "path", "rect", "line", "text"}
    shown = {kind: squash("".join(t.text for t in texts(root, kind))) for kind in ("count", "label", "side-title", "side-line")}
    assert shown["count"] == squash("<10" + "1,234 & more")
    assert shown["label"] == squash(HOSTILE + 'said "yes" & \'no\'')
    assert shown["side-title"] == squash("Excluded: <10 & <b>bold</b>")
    assert shown["side-line"] == squash(HOSTILE + "a > b")
    assert HOSTILE in root.find(f"{SVG}title").text


def test_a_tall_side_box_widens_its_gap_and_pushes_later_boxes_down():
    short = charts.flow_diagram_svg(MAIN, SIDE)
    tall_side = [{"title": "Excluded: 30", "lines": [f"reason number {i}: <10" for i in range(8)]}] + SIDE[1:]
    tall = charts.flow_diagram_svg(MAIN, tall_side)
    plain = charts.flow_diagram_svg(MAIN, [])
    heights = [float(ET.fromstring(s).get("viewBox").split()[3]) for s in (plain, short, tall)]
    assert heights[0] < heights[1] < heights[2]

    root = check_layout(tall, MAIN, tall_side)
    boxes = rects(root, "main")
    side_box = rects(root, "side")[0]
    assert len(texts(root, "side-line")) == 8 + 1  # and the second side box's one line
    assert boxes[1][1] - (boxes[0][1] + boxes[0][3]) >= side_box[3] + 10
    # Gaps without a side box stay at the default.
    assert boxes[3][1] - (boxes[2][1] + boxes[2][3]) == pytest.approx(30)


def test_side_box_connector_meets_the_arrow_between_its_main_boxes():
    root = ET.fromstring(charts.flow_diagram_svg(MAIN, SIDE))
    boxes = rects(root, "main")
    sides = rects(root, "side")
    centre = boxes[0][0] + boxes[0][2] / 2
    lines = [{k: float(line.get(k)) for k in ("x1", "y1", "x2", "y2")} for line in root.iter(f"{SVG}line")]
    assert all(line.get("marker-end") == "url(#arrowhead)" for line in root.iter(f"{SVG}line"))
    # Four downward arrows from box bottom to the next box top, plus one connector per side box.
    vertical = [l for l in lines if l["x1"] == l["x2"] == centre]
    assert len(vertical) == len(MAIN) - 1
    for arrow, upper, lower in zip(vertical, boxes, boxes[1:]):
        assert arrow["y1"] == pytest.approx(upper[1] + upper[3]) and arrow["y2"] == pytest.approx(lower[1])
    connectors = [l for l in lines if l["y1"] == l["y2"]]
    assert len(connectors) == len(sides)
    for connector, (x, y, w, h), arrow in zip(connectors, sides, vertical):
        assert connector["x1"] == centre and connector["x2"] == x
        assert y < connector["y1"] < y + h
        assert arrow["y1"] < connector["y1"] < arrow["y2"]


def test_a_side_box_on_the_last_main_box_hangs_below_it():
    side = [None] * (len(MAIN) - 1) + [{"title": "Not analysed: <10", "lines": ["too few items"]}]
    root = check_layout(charts.flow_diagram_svg(MAIN, side), MAIN, side)
    last = rects(root, "main")[-1]
    x, y, w, h = rects(root, "side")[0]
    assert y > last[1] + last[3]
    assert float(root.get("viewBox").split()[3]) >= y + h


def test_flow_diagram_refuses_no_boxes_and_too_many_side_boxes():
    with pytest.raises(ValueError):
        charts.flow_diagram_svg([], [])
    with pytest.raises(ValueError):
        charts.flow_diagram_svg(MAIN[:2], [None, None, None])


def test_flow_diagram_is_deterministic():
    assert charts.flow_diagram_svg(MAIN, SIDE) == charts.flow_diagram_svg([dict(b) for b in MAIN], list(SIDE))


@pytest.mark.parametrize("bold", [False, True])
def test_wrapped_lines_fit_their_box_in_the_real_font(bold):
    words = "rows read at baseline WWWW mmmm iiii 1,234 \u2013 Participants' answers (before & after) " * 6
    for width in (60, 150, 348):
        lines = charts.wrap_text(words + "W" * 80, width, 11, bold=bold)
        assert len(lines) > 1
        assert squash("".join(lines)) == squash(words + "W" * 80)
        for line in lines:
            assert real_width(line, 11, bold) <= width, line


BOX_TEXT = st.text(st.characters(codec="utf-8"), max_size=120)
ASCII_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=150)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    main=st.lists(st.fixed_dictionaries({"count": BOX_TEXT, "label": BOX_TEXT}), min_size=1, max_size=7),
    side=st.lists(
        st.none() | st.fixed_dictionaries({"title": BOX_TEXT, "lines": st.lists(BOX_TEXT, max_size=9)}), max_size=7
    ),
)
def test_any_box_text_gives_valid_svg_with_no_overlap_and_no_text_lost(main, side):
    side = side[: len(main)]
    svg = charts.flow_diagram_svg(main, side)
    root = check_layout(svg, main, side)  # parses, so every character was valid XML and escaped
    assert svg == charts.flow_diagram_svg(main, side)
    assert squash("".join(t.text or "" for t in texts(root, "label"))) == squash(
        "".join(primitives._clean(box["label"]) for box in main)
    )
    assert squash("".join(t.text or "" for t in texts(root, "side-line"))) == squash(
        "".join(primitives._clean(line) for extra in side if extra for line in extra["lines"])
    )


@settings(max_examples=40, deadline=None)
@given(label=ASCII_TEXT, title=ASCII_TEXT, line=ASCII_TEXT)
def test_any_ascii_text_stays_inside_its_box(label, title, line):
    main = [{"count": "1,234", "label": label}, {"count": "<10", "label": label}]
    side = [{"title": title, "lines": [line, line]}]
    root = check_layout(charts.flow_diagram_svg(main, side), main, side)
    (mx, _, mw, _), _ = rects(root, "main")
    sx, _, sw, _ = rects(root, "side")[0]
    for kind, size, bold in (("count", 20, True), ("label", 11, False)):
        for t in texts(root, kind):
            half = real_width(t.text, size, bold) / 2
            assert mx <= float(t.get("x")) - half and float(t.get("x")) + half <= mx + mw
    for kind, size, bold in (("side-title", 11.5, True), ("side-line", 10.5, False)):
        for t in texts(root, kind):
            assert sx <= float(t.get("x")) and float(t.get("x")) + real_width(t.text, size, bold) <= sx + sw


# --- paired slopes -------------------------------------------------------------------------

def slopes(pre, post, low=1, high=7, higher_is="better", **labels) -> ET.Element:
    return ET.fromstring(charts.paired_slopes_svg(np.asarray(pre, float), np.asarray(post, float), low, high, higher_is, **labels))


def plot_area(root: ET.Element) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the plot area, in px, from its two axis lines (left, then bottom)."""
    (corner_top, corner, corner_right), = subpaths(element(root, "path", "id", "axes").get("d"))
    assert corner_top[0] == corner[0] and corner[1] == corner_right[1]
    return corner[0], corner_top[1], corner_right[0], corner[1]


def y_scale(root: ET.Element, low: float, high: float):
    """The data-to-pixel map the y axis must have: [low, high] plus 5% each side fills the plot area."""
    _, top, _, bottom = plot_area(root)
    margin = 0.05 * (high - low)
    return lambda v: bottom - (np.asarray(v, float) - (low - margin)) / (high - low + 2 * margin) * (bottom - top)


def participant_lines(root: ET.Element) -> list[dict]:
    """One entry per participants' <path>: its multiplicity, colour, opacity and segments."""
    lines = []
    for path in group(root, "participants"):
        assert local(path.tag) == "path"
        lines.append({
            "count": int(path.get("data-count")),
            "colour": path.get("stroke"),
            "opacity": float(path.get("stroke-opacity")),
            "segments": subpaths(path.get("d")),
        })
    return lines


def distinct_pairs(pre, post) -> dict[tuple[float, float], int]:
    found: dict[tuple[float, float], int] = {}
    for a, b in zip(np.asarray(pre, float).tolist(), np.asarray(post, float).tolist()):
        found[(a, b)] = found.get((a, b), 0) + 1
    return found


def ties(n: int, seed: int = 4):
    """PHQ-9-like integer scores (0 to 27, lower is better): many participants share a pair."""
    rng = np.random.default_rng(seed)
    pre = np.clip(np.round(rng.normal(13, 5, n)), 0, 27)
    post = np.clip(np.round(pre - rng.normal(3, 4, n)), 0, 27)
    return pre, post


def test_panel_has_a_physical_size_and_a_pixel_viewbox():
    svg = charts.paired_slopes_svg(*pairs(112), 1, 7, "better")
    root = ET.fromstring(svg)
    assert local(root.tag) == "svg" and root.get("role") == "img"
    assert (root.get("width"), root.get("height")) == ("78mm", "52mm")
    x, y, width, height = (float(v) for v in root.get("viewBox").split())
    assert (x, y) == (0, 0) and width / height == pytest.approx(78 / 52)
    assert root.get("font-family") == "DejaVu Sans, sans-serif"
    left, top, right, bottom = plot_area(root)
    assert 0 < left < right <= width and 0 < top < bottom < height
    # Text of about 7.5 pt: the viewBox is 78 mm wide.
    sizes = [float(g.get("font-size")) * 78 / width / 25.4 * 72 for g in root.iter(f"{SVG}g") if g.get("font-size")]
    assert sizes and all(7 <= size <= 8.5 for size in sizes)
    # Few elements, however many participants; numbers have at most two decimals.
    assert sum(1 for _ in root.iter()) < 60
    assert not re.search(r"\d\.\d{3}", re.sub(r'stroke-opacity="[\d.]+"', "", svg))


@pytest.mark.parametrize(("pre", "post", "low", "high"), [
    (*pairs(2), 1, 7),
    (*pairs(37), 1, 7),
    (*pairs(112), 1, 7),
    (*ties(300), 0, 27),
    ([3.0] * 20, [4.0] * 20, 1, 7),
])
def test_each_distinct_pair_is_one_line_and_the_counts_add_up_to_n(pre, post, low, high):
    root = slopes(pre, post, low, high, "worse")
    lines = participant_lines(root)
    expected = distinct_pairs(pre, post)
    to_px = y_scale(root, low, high)
    before, after = (float(t.get("x")) for t in group(root, "waves"))

    segments = [(line["count"], points) for line in lines for points in line["segments"]]
    assert len(segments) == len(expected)  # one move per distinct pair
    assert sum(line["count"] * len(line["segments"]) for line in lines) == len(pre)
    drawn = {}
    for count, points in segments:
        assert len(points) == 2, "each participant's line is one straight segment"
        (x0, y0), (x1, y1) = points
        assert (x0, x1) == pytest.approx((before, after), abs=0.01)
        drawn[(round(y0, 2), round(y1, 2))] = count
    wanted = {(round(float(to_px(a)), 2), round(float(to_px(b)), 2)): k for (a, b), k in expected.items()}
    assert drawn.keys() == wanted.keys()
    for key, count in drawn.items():
        assert count == wanted[key], "a line's data-count is how many participants share its pair"
    # One path per (colour, multiplicity): no two paths could have been merged.
    assert len({(line["colour"], line["count"]) for line in lines}) == len(lines)


def test_a_shared_line_is_as_dark_as_its_stacked_copies():
    pre, post = ties(300)
    lines = participant_lines(slopes(pre, post, 0, 27, "worse"))
    alpha = min(max(2.7 / np.sqrt(300), 0.03), 0.3)
    assert {line["count"] for line in lines} > {1, 2, 3}
    counts = [line["count"] for line in lines]
    assert counts == sorted(counts)  # the densest lines are drawn last, on top
    for line in lines:
        assert line["opacity"] == pytest.approx(1 - (1 - alpha) ** line["count"], abs=6e-5)


@pytest.mark.parametrize(
    ("higher_is", "green", "red"),
    [("better", "rose", "fell"), ("worse", "fell", "rose"), ("neutral", None, None)],
)
def test_lines_are_coloured_by_direction_of_improvement(higher_is, green, red):
    pre = np.array([2, 3, 4, 4, 5, 5, 6, 6.5, 2, 2, 5])
    post = np.array([3, 3, 5, 6, 4, 5, 5, 7, 3, 3, 5])
    counts = {"rose": int((post > pre).sum()), "fell": int((post < pre).sum()), "same": int((post == pre).sum())}
    lines = participant_lines(slopes(pre, post, 1, 7, higher_is))
    people = {colour: 0 for colour in (charts.NEUTRAL, charts.IMPROVED, charts.WORSENED)}
    for line in lines:
        people[line["colour"]] += line["count"] * len(line["segments"])
        for (_, y0), (_, y1) in line["segments"]:
            # Pixels grow downwards: a score that rose ends higher up.
            direction = "rose" if y1 < y0 else "fell" if y1 > y0 else "same"
            expected = {green: charts.IMPROVED, red: charts.WORSENED}.get(direction, charts.NEUTRAL)
            assert line["colour"] == expected, (direction, line["colour"])
    assert people[charts.NEUTRAL] == (counts["same"] if green else len(pre))
    assert people[charts.IMPROVED] == (counts[green] if green else 0)
    assert people[charts.WORSENED] == (counts[red] if red else 0)


def tick_labels(root: ET.Element) -> list[tuple[float, float]]:
    """(value, y of the baseline) of each y tick label."""
    return [(float(t.text.replace("\u2212", "-")), float(t.get("y"))) for t in group(root, "y-ticks")]


def test_y_axis_spans_the_instruments_range_whatever_the_data():
    pre = np.array([3.0, 3.5, 4.0, 4.5])
    post = np.array([4.0, 4.5, 5.0, 5.0])
    root = slopes(pre, post)
    left, top, right, bottom = plot_area(root)
    to_px = y_scale(root, 1, 7)
    # The lines sit where the fixed scale puts them (not stretched to the data's own range).
    ys = sorted(y for line in participant_lines(root) for points in line["segments"] for _, y in points)
    assert ys[0] == pytest.approx(float(to_px(5)), abs=0.01) and ys[-1] == pytest.approx(float(to_px(3)), abs=0.01)
    # Tick labels are the integers of the scale, each level with its grid line.
    labels = tick_labels(root)
    assert [value for value, _ in labels] == [1, 2, 3, 4, 5, 6, 7]
    grid = subpaths(element(root, "path", "id", "grid").get("d"))
    assert len(grid) == 7
    for (value, baseline), line in zip(labels, grid):
        (x0, y0), (x1, y1) = line
        assert (x0, x1) == pytest.approx((left, right)) and y0 == y1 == pytest.approx(float(to_px(value)), abs=0.01)
        assert 0 < baseline - y0 < 5  # the label's middle at the line: baseline a little below it
    assert top < float(to_px(7)) < top + 0.1 * (bottom - top)


@pytest.mark.parametrize(("low", "high"), [(0, 27), (0, 1), (10, 50), (1.5, 4.5), (0, 3), (0, 63), (-10, 10), (1, 5), (0, 100)])
def test_ticks_stay_inside_the_range_and_follow_the_old_rule(low, high):
    from matplotlib.ticker import MaxNLocator, MultipleLocator

    pre = np.array([low, high, (low + high) / 2])
    post = np.array([high, low, low])
    root = slopes(pre, post, low, high, "worse")
    values = [value for value, _ in tick_labels(root)]
    assert len(values) >= 3 and all(low <= v <= high for v in values)
    # The rule the matplotlib version used, so panels keep their ticks.
    integer = float(low).is_integer() and float(high).is_integer()
    locator = MultipleLocator(1) if integer and 4 <= high - low <= 10 else MaxNLocator(nbins=6, integer=integer and high - low > 10)
    old = [t for t in locator.tick_values(low, high) if low - 1e-9 <= t <= high + 1e-9]
    assert values == pytest.approx(old)
    labels = [t.text for t in group(root, "y-ticks")]
    assert len({len(label.split(".")[-1]) if "." in label else 0 for label in labels}) == 1  # same decimals
    _, top, _, bottom = plot_area(root)
    ys = [y for line in participant_lines(root) for points in line["segments"] for _, y in points]
    assert top < min(ys) and max(ys) < bottom
    assert max(ys) - min(ys) == pytest.approx((bottom - top) / 1.1, abs=0.02)


def means_drawing(root: ET.Element) -> dict[str, list[list[tuple[float, float]]]]:
    means = group(root, "means")
    return {path.get("class"): subpaths(path.get("d")) for path in means}


def t_interval(values) -> tuple[float, float]:
    from scipy import stats

    values = np.asarray(values, float)
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return values.mean() - half, values.mean() + half


def test_means_and_their_95_percent_intervals_are_drawn_where_they_belong():
    pre, post = pairs(60, seed=7)
    root = slopes(pre, post)
    to_px = y_scale(root, 1, 7)
    before, after = (float(t.get("x")) for t in group(root, "waves"))
    drawn = means_drawing(root)
    assert list(drawn) == ["halo", "mean-line", "intervals", "caps", "mean-edges", "mean-points"]
    expected_means = [(before, float(to_px(pre.mean()))), (after, float(to_px(post.mean())))]
    for kind in ("halo", "mean-line"):
        (line,) = drawn[kind]
        assert line == [pytest.approx(p, abs=0.01) for p in expected_means]
    for kind in ("mean-edges", "mean-points"):
        assert [points[0] for points in drawn[kind]] == [pytest.approx(p, abs=0.01) for p in expected_means]
    assert len(drawn["intervals"]) == 2
    for (start, end), x, values in zip(drawn["intervals"], (before, after), (pre, post)):
        assert start[0] == end[0] == pytest.approx(x, abs=0.01)
        assert sorted([start[1], end[1]]) == pytest.approx(sorted(to_px(t_interval(values))), abs=0.01)
    # A cap across each end of each interval.
    ends = sorted((x, y) for start, end in drawn["intervals"] for x, y in (start, end))
    caps = sorted(((a[0] + b[0]) / 2, a[1]) for a, b in drawn["caps"])
    assert caps == [pytest.approx(p, abs=0.01) for p in ends]
    assert all(a[1] == b[1] and b[0] - a[0] > 5 for a, b in drawn["caps"])
    # The means are drawn on top of everything else.
    assert list(root)[-1] is group(root, "means")


def test_an_interval_past_the_scale_is_drawn_to_its_end():
    pre, post = np.array([1.0, 7.0]), np.array([2.0, 6.0])
    assert t_interval(pre)[0] < 1 and t_interval(pre)[1] > 7  # the test needs an interval past both ends
    root = slopes(pre, post)
    to_px = y_scale(root, 1, 7)
    for start, end in means_drawing(root)["intervals"]:
        assert sorted([start[1], end[1]]) == pytest.approx(sorted(to_px([1, 7])), abs=0.01)
    # Only the end that overshoots is clipped.
    pre, post = np.array([6.0, 7.0, 7.0]), np.array([5.0, 6.0, 7.0])
    low_end, high_end = t_interval(pre)
    assert 1 < low_end < 7 < high_end
    root = slopes(pre, post)
    to_px = y_scale(root, 1, 7)
    start, end = means_drawing(root)["intervals"][0]
    assert sorted([start[1], end[1]]) == pytest.approx(sorted(to_px([low_end, 7])), abs=0.01)


def test_one_dot_at_each_distinct_score_of_each_wave():
    pre, post = ties(200)
    root = slopes(pre, post, 0, 27, "worse")
    to_px = y_scale(root, 0, 27)
    before, after = (float(t.get("x")) for t in group(root, "waves"))
    dots = subpaths(element(root, "path", "id", "scores").get("d"))
    centres = sorted((round((a[0] + b[0]) / 2, 1), round(a[1], 2)) for a, b in dots)
    expected = sorted(
        [(round(before, 1), round(float(to_px(v)), 2)) for v in np.unique(pre)]
        + [(round(after, 1), round(float(to_px(v)), 2)) for v in np.unique(post)]
    )
    assert centres == expected


@pytest.mark.parametrize(
    ("pre", "post", "kwargs"),
    [
        ([], [], {}),
        ([4.0], [5.0], {}),
        ([4.0, 5.0], [5.0], {}),
        ([[4.0, 5.0]], [[5.0, 5.0]], {}),
        ([4.0, np.nan], [5.0, 5.0], {}),
        ([4.0, np.inf], [5.0, 5.0], {}),
        ([4.0, 8.0], [5.0, 5.0], {}),
        ([4.0, 5.0], [5.0, 0.5], {}),
        ([4.0, 5.0], [5.0, 5.0], {"higher_is": "up"}),
        ([4.0, 5.0], [5.0, 5.0], {"low": 7, "high": 1}),
        ([4.0, 5.0], [5.0, 5.0], {"low": 4, "high": 4}),
        ([4.0, 5.0], [5.0, 5.0], {"high": np.inf}),
    ],
)
def test_paired_slopes_refuses_bad_input(pre, post, kwargs):
    arguments = {"low": 1, "high": 7, "higher_is": "better"} | kwargs
    with pytest.raises(ValueError):
        charts.paired_slopes_svg(np.array(pre), np.array(post), **arguments)


def test_wave_labels_are_escaped_and_shown_as_text():
    svg = charts.paired_slopes_svg([2.0, 3.0], [3.0, 3.0], 1, 7, "better", label_pre=HOSTILE, label_post="T2 & <after>\x07")
    assert "<img" not in svg and "&lt;img" in svg and "&amp;" in svg
    root = ET.fromstring(svg)
    assert [t.text for t in group(root, "waves")] == [HOSTILE, "T2 & <after>"]
    assert {local(e.tag) for e in root.iter()} <= {"svg", "g", "path", "text"}


def test_five_thousand_participants_give_a_small_svg():
    # Speed is measured by `make bench`, never asserted here; size and element count stand in for it.
    pre, post = pairs(5000, seed=3)
    # Every line drawn (no sample): merging identical pairs alone bounds the file by distinct pairs.
    svg = charts.paired_slopes_svg(pre, post, 1, 7, "better", max_lines=len(pre))
    assert len(svg) < 40_000
    root = ET.fromstring(svg)
    assert sum(1 for _ in root.iter()) < 300
    lines = participant_lines(root)
    assert sum(line["count"] * len(line["segments"]) for line in lines) == 5000
    assert sum(len(line["segments"]) for line in lines) == len(distinct_pairs(pre, post)) < 1000
    single = [line["opacity"] for line in lines if line["count"] == 1]
    assert single and all(opacity < 0.1 for opacity in single)


def test_paired_slopes_are_deterministic_and_ignore_row_order():
    pre, post = pairs(112)
    first = charts.paired_slopes_svg(pre, post, 1, 7, "better")
    assert first == charts.paired_slopes_svg(pre.copy(), post.copy(), 1, 7, "better")
    for seed in range(3):
        shuffle = np.random.default_rng(seed).permutation(len(pre))
        assert first == charts.paired_slopes_svg(list(pre[shuffle]), list(post[shuffle]), 1, 7, "better")


def test_a_large_panel_draws_a_random_sample_of_lines_and_says_so():
    pre, post = pairs(2000, seed=7)
    svg = charts.paired_slopes_svg(pre, post, 1, 7, "better")
    root = ET.fromstring(svg)
    limit = charts.SLOPE_LINES_MAX
    assert (root.get("width"), root.get("height")) == ("78mm", "55mm")
    note = element(root, "text", "id", "sample-note").text
    assert note == f"Lines: {limit} of 2,000 participants, drawn at random"
    lines = participant_lines(root)
    assert sum(line["count"] * len(line["segments"]) for line in lines) == limit  # each sampled participant once
    to_px = y_scale(root, 1, 7)
    data = {(round(float(to_px(a)), 2), round(float(to_px(b)), 2)) for a, b in zip(pre, post)}
    drawn = {(round(y0, 2), round(y1, 2)) for line in lines for (_, y0), (_, y1) in line["segments"]}
    assert drawn <= data  # every line drawn is a participant's pair
    # The means and their intervals come from every pair, exactly as an unsampled panel draws them.
    everyone = ET.fromstring(charts.paired_slopes_svg(pre, post, 1, 7, "better", max_lines=len(pre)))
    assert ET.tostring(group(root, "means")) == ET.tostring(group(everyone, "means"))
    assert "sample-note" not in ET.tostring(everyone).decode()
    # The same sample, whatever the order of the rows.
    shuffle = np.random.default_rng(3).permutation(len(pre))
    assert svg == charts.paired_slopes_svg(pre[shuffle], post[shuffle], 1, 7, "better")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(1, 7), st.integers(1, 7)), min_size=1, max_size=400), st.integers(1, 300), st.randoms())
def test_line_sample_is_a_sub_multiset_of_the_pairs_of_the_right_size_in_any_order(rows, limit, random):
    pre, post = (np.array(values, dtype=float) for values in zip(*rows))
    drawn_pre, drawn_post = charts.line_sample(pre, post, limit)
    assert len(drawn_pre) == len(drawn_post) == min(len(rows), limit)
    drawn = distinct_pairs(drawn_pre, drawn_post)
    available = distinct_pairs(pre, post)
    assert all(count <= available[pair] for pair, count in drawn.items())
    order = list(range(len(rows)))
    random.shuffle(order)
    again = charts.line_sample(pre[order], post[order], limit)
    assert distinct_pairs(*again) == drawn


def test_output_is_the_same_in_a_fresh_process():
    code = (
        "import sys, numpy as np; from pipeline import charts; from tests.test_charts import pairs, ties, MAIN, SIDE, FOREST; "
        "sys.stdout.write(charts.paired_slopes_svg(*pairs(50), 1, 7, 'worse') + charts.paired_slopes_svg(*ties(80), 0, 27, 'worse')"
        " + charts.flow_diagram_svg(MAIN, SIDE) + charts.forest_svg(FOREST))"
    )
    expected = (charts.paired_slopes_svg(*pairs(50), 1, 7, "worse") + charts.paired_slopes_svg(*ties(80), 0, 27, "worse")
                + charts.flow_diagram_svg(MAIN, SIDE) + charts.forest_svg(FOREST))
    for seed in ("12345", "54321"):
        fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                               env={"PYTHONHASHSEED": seed, "PATH": ""}, cwd=str(__import__("pathlib").Path(__file__).parent.parent))
        assert fresh.stdout == expected


# --- the forest plot -----------------------------------------------------------------------

GREEN, GREY = charts.IMPROVED, charts.NEUTRAL


def forest_row(label, estimate, low, high, domain, colour=GREEN, hollow=False) -> dict:
    return {"label": label, "estimate": estimate, "low": low, "high": high, "colour": colour, "hollow": hollow, "domain": domain}


# The demo study's 20 variables as the report passes them: grouped by domain, flipped so right is better.
FOREST = [
    forest_row("Subjective happiness (SHS)", 0.435, 0.232, 0.636, "Wellbeing"),
    forest_row("Life satisfaction (SWLS)", 0.439, 0.244, 0.632, "Wellbeing"),
    forest_row("Flourishing (FS)", 0.403, 0.208, 0.595, "Wellbeing"),
    forest_row("Positive feelings (SPANE)", 0.311, 0.12, 0.501, "Wellbeing"),
    forest_row("Resilience (BRS)", 0.547, 0.346, 0.746, "Wellbeing"),
    forest_row("Optimism (LOT-R)", -0.067, -0.253, 0.118, "Wellbeing", GREY),
    forest_row("Self-esteem (RSES)", 0.017, -0.168, 0.202, "Wellbeing", GREY),
    forest_row("General self-efficacy (GSE)", 0.343, 0.151, 0.533, "Wellbeing"),
    forest_row("Gratitude (GQ-6)", 0.511, 0.312, 0.708, "Wellbeing"),
    forest_row("Perceived social support (MSPSS)", 0.006, -0.179, 0.192, "Wellbeing", GREY),
    forest_row("Presence of meaning (MLQ)", 0.599, 0.396, 0.8, "Meaning and purpose"),
    forest_row("Search for meaning (MLQ) (no direction)", -0.02, -0.206, 0.167, "Meaning and purpose", GREY, True),
    forest_row("Presence of calling (BCS)", -0.108, -0.295, 0.079, "Meaning and purpose", GREY),
    forest_row("Hope (AHS)", 0.793, 0.579, 1.004, "Meaning and purpose"),
    forest_row("Career decision self-efficacy (CDSE-SF)", 0.674, 0.468, 0.878, "Career"),
    forest_row("Negative feelings (SPANE)", 0.028, -0.158, 0.213, "Distress", GREY),
    forest_row("Loneliness (UCLA-LS3)", 0.567, 0.366, 0.765, "Distress"),
    forest_row("Depression (PHQ-9)", 0.337, 0.122, 0.549, "Distress"),
    forest_row("Anxiety (GAD-7)", -0.173, -0.371, 0.026, "Distress", GREY),
    forest_row("Perceived stress (PSS-10)", 0.089, -0.097, 0.274, "Distress", GREY),
]
NAN = float("nan")


def forest_axis(root: ET.Element):
    """The x axis read back from the tick labels: (values, positions, value -> x), checked to be linear."""
    ticks = [(float(t.text.replace("\u2212", "-")), float(t.get("x"))) for t in group(root, "x-ticks")]
    values, xs = [v for v, _ in ticks], [x for _, x in ticks]
    assert len(ticks) >= 2 and values == sorted(values) and xs == sorted(xs)
    (v0, x0), (v1, x1) = ticks[0], ticks[-1]

    def x_of(value: float) -> float:
        return x0 + (value - v0) * (x1 - x0) / (v1 - v0)

    for value, x in ticks:  # every tick where one linear map puts it
        assert x == pytest.approx(x_of(value), abs=0.011)
    return values, xs, x_of


def forest_rows(root: ET.Element) -> list[dict]:
    """Each row as drawn, top to bottom: its label, and the marker, interval and note level with it."""
    rows = [{"label": t.text, "y": float(t.get("y")), "marker": None, "colour": None, "interval": None, "hollow": False,
             "note": None} for t in group(root, "labels")]
    assert [r["y"] for r in rows] == sorted(r["y"] for r in rows)

    def row_at(y: float) -> dict:
        nearest = min(rows, key=lambda r: abs(r["y"] - y))
        # The label's baseline sits a little below the row's middle (its text looks centred on it).
        assert 0 < nearest["y"] - y < 6, (nearest["label"], nearest["y"], y)
        return nearest

    estimates = group(root, "estimates") if any(g.get("id") == "estimates" for g in root.iter(f"{SVG}g")) else []
    for path in estimates:
        kind, colour = path.get("class"), path.get("stroke")
        for points in subpaths(path.get("d")):
            (x0, y0), (x1, y1) = points
            assert y0 == y1
            row = row_at(y0)
            if kind == "intervals":
                assert row["interval"] is None
                row["interval"], row["interval_colour"] = (x0, x1), colour
            elif kind == "markers":
                assert row["marker"] is None and x1 - x0 == pytest.approx(0.01)
                row["marker"], row["colour"] = (x0 + x1) / 2, colour
            else:
                assert kind == "hollow" and colour == "#ffffff" and not row["hollow"]
                assert (x0 + x1) / 2 == row["marker"]  # drawn on top of the row's own marker
                row["hollow"] = True
    for group_ in root.iter(f"{SVG}g"):
        if group_.get("id") == "not-tested":
            for note in group_:
                row_at(float(note.get("y")) - 1)["note"] = note.text
    return rows


def test_forest_plot_is_valid_svg_with_a_physical_size_a_title_and_few_elements():
    svg = charts.forest_svg(FOREST)
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("width") == "174mm"
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    assert width == 4 * 174 and root.get("height") == f"{height / 4:g}mm"
    title = root.find(f"{SVG}title").text
    assert title.startswith("Forest plot of standardized change") and "Depression (PHQ-9) 0.34 [0.12, 0.55]" in title
    assert "Anxiety (GAD-7) \u22120.17 [\u22120.37, 0.03]" in title
    assert {local(e.tag) for e in root.iter()} <= {"svg", "title", "g", "path", "text", "tspan"}
    assert sum(1 for _ in root.iter()) < 60  # matplotlib's figure had 587 tags for these 20 rows
    # One path for the intervals of a colour, one for its markers, one for every hollow marker's white.
    assert len(group(root, "estimates")) == 2 * len({row["colour"] for row in FOREST}) + 1
    assert not list(root.iter(f"{SVG}circle"))  # circles are slow in WeasyPrint
    # Rows about 0.3 in apart, as before.
    ys = [r["y"] for r in forest_rows(root)]
    assert all(29 <= b - a for a, b in zip(ys, ys[1:]))
    assert min(b - a for a, b in zip(ys, ys[1:])) == pytest.approx(31)


def test_forest_markers_and_intervals_sit_where_the_axis_puts_their_values():
    root = ET.fromstring(charts.forest_svg(FOREST))
    _, _, x_of = forest_axis(root)
    rows = forest_rows(root)
    assert [r["label"] for r in rows] == [r["label"] for r in FOREST]
    for drawn, given_ in zip(rows, FOREST):
        assert drawn["marker"] == pytest.approx(x_of(given_["estimate"]), abs=0.011), given_["label"]
        assert drawn["interval"] == pytest.approx((x_of(given_["low"]), x_of(given_["high"])), abs=0.011)
        assert drawn["colour"] == drawn["interval_colour"] == given_["colour"]
        assert drawn["interval"][0] <= drawn["marker"] <= drawn["interval"][1]
        assert drawn["hollow"] == given_["hollow"] and drawn["note"] is None
    # The zero line stands at 0 and runs from the top row to the axis.
    (x0, y0), (x1, y1) = subpaths(element(root, "path", "id", "zero").get("d"))[0]
    assert x0 == x1 == pytest.approx(x_of(0), abs=0.011) and y0 < rows[0]["y"] - 10 and y1 > rows[-1]["y"]


def test_forest_ticks_are_nice_cover_every_interval_and_have_true_minus_signs():
    root = ET.fromstring(charts.forest_svg(FOREST))
    values, xs, x_of = forest_axis(root)
    assert values == pytest.approx([-0.4, -0.2, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2])
    assert [t.text for t in group(root, "x-ticks")][:3] == ["\u22120.4", "\u22120.2", "0.0"]
    assert values[0] <= min(r["low"] for r in FOREST) and values[-1] >= max(r["high"] for r in FOREST)
    # A grid line at every tick but 0 (the zero line), tick marks on the axis at each.
    grid = [points[0][0] for points in subpaths(element(root, "path", "id", "grid").get("d"))]
    assert grid == pytest.approx([x for v, x in zip(values, xs) if v != 0])
    axis = subpaths(element(root, "path", "id", "axis").get("d"))
    assert (axis[0][0][0], axis[0][1][0]) == pytest.approx((xs[0], xs[-1]))
    assert [points[0][0] for points in axis[1:]] == pytest.approx(xs)
    # The axis title, with d_z's z a real subscript (smaller and lowered, then the baseline restored).
    label = element(root, "text", "id", "x-label")
    assert "".join(label.itertext()) == "Standardized change dz with 95% interval (right = better)"
    sub = element(root, "tspan", "class", "subscript")
    assert sub.text == "z" and float(sub.get("font-size")) < float(label.get("font-size")) and float(sub.get("dy")) > 0
    assert sum(float(t.get("dy", 0)) for t in label) == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-6, 6), st.floats(0, 3), st.floats(0, 3),
            st.sampled_from(["a", "b", "c"]), st.booleans(), st.booleans(),
        ),
        min_size=1, max_size=25,
    )
)
def test_forest_any_rows_give_ticks_covering_every_value_and_markers_in_place(spec):
    rows = [
        forest_row(f"v{i}", NAN if missing else centre, centre - below, centre + above, domain, GREY, hollow)
        for i, (centre, below, above, domain, hollow, missing) in enumerate(spec)
    ]
    root = ET.fromstring(charts.forest_svg(rows))
    values, _, x_of = forest_axis(root)
    assert 3 <= len(values) <= 9 and 0 in values
    steps = {round(b - a, 9) for a, b in zip(values, values[1:])}
    assert len(steps) == 1
    for drawn, given_ in zip(forest_rows(root), rows):
        if given_["estimate"] != given_["estimate"]:
            assert drawn["marker"] is None and drawn["interval"] is None and drawn["note"] == "not tested"
            continue
        tolerance = 1e-9 * (values[-1] - values[0])  # _forest_ticks allows 1e-9 of the span (a value a hair past a tick)
        assert values[0] <= given_["low"] + tolerance and given_["high"] - tolerance <= values[-1]
        assert drawn["marker"] == pytest.approx(x_of(given_["estimate"]), abs=0.011)
        assert drawn["interval"] == pytest.approx((x_of(given_["low"]), x_of(given_["high"])), abs=0.011)
        assert drawn["hollow"] == given_["hollow"]


def test_forest_row_without_an_estimate_shows_its_label_and_not_tested_only():
    rows = [
        forest_row("Hope (AHS)", 0.5, 0.2, 0.8, "Meaning"),
        forest_row("Anxiety (GAD-7)", NAN, NAN, NAN, "Distress", GREY),
        forest_row("Stress (PSS-10)", 0.1, NAN, NAN, "Distress", GREY),  # an estimate without an interval
        forest_row("Mood", float("inf"), 0, 1, "Distress", GREY),
        forest_row("Sleep", NAN, 0.1, 2.5, "Distress", GREY),  # an interval without an estimate is not drawn
    ]
    root = ET.fromstring(charts.forest_svg(rows))
    drawn = forest_rows(root)
    assert [r["label"] for r in drawn] == [r["label"] for r in rows]
    assert drawn[0]["interval"] is not None and drawn[0]["note"] is None
    for row in (drawn[1], drawn[3], drawn[4]):
        assert row["marker"] is None and row["interval"] is None and row["note"] == "not tested"
    assert drawn[2]["marker"] is not None and drawn[2]["interval"] is None and drawn[2]["note"] is None
    values, _, _ = forest_axis(root)
    assert values[0] <= 0 and 0.8 <= values[-1] < 1.5  # rows not drawn do not stretch the axis
    assert "Anxiety (GAD-7) not tested" in root.find(f"{SVG}title").text
    # Nothing to draw at all: labels, notes and an axis around zero.
    empty = ET.fromstring(charts.forest_svg([forest_row("Anxiety", NAN, NAN, NAN, "Distress")]))
    assert forest_rows(empty)[0]["note"] == "not tested" and 0 in forest_axis(empty)[0]


def test_forest_domain_headings_appear_once_in_order_above_their_rows():
    root = ET.fromstring(charts.forest_svg(FOREST))
    headings = [(t.text, float(t.get("y"))) for t in group(root, "domains")]
    assert [text for text, _ in headings] == ["Wellbeing", "Meaning and purpose", "Career", "Distress"]
    assert group(root, "domains").get("font-weight") == "bold" and group(root, "domains").get("fill") == charts.NAVY
    rows = forest_rows(root)
    firsts = [0, 10, 14, 15]  # index of each domain's first row
    for (_, y), first in zip(headings, firsts):
        assert rows[first - 1]["y"] < y < rows[first]["y"] if first else y < rows[0]["y"]
    # The headings sit in the label column, left of the plot.
    left_of_plot = min(float(t.get("x")) for t in group(root, "x-ticks"))
    assert all(float(t.get("x")) < left_of_plot for t in group(root, "domains"))
    # An empty domain has no heading; a domain coming back gets a new one.
    rows = [forest_row("a", 0.1, 0, 0.2, ""), forest_row("b", 0.1, 0, 0.2, "X"), forest_row("c", 0.1, 0, 0.2, "")]
    assert [t.text for t in group(ET.fromstring(charts.forest_svg(rows)), "domains")] == ["X"]


def test_forest_text_is_escaped_and_shown_as_text():
    rows = [forest_row(HOSTILE, 0.2, 0.1, 0.3, HOSTILE), forest_row("Q&A <b>bold</b>", 0.1, 0, 0.2, "a & b")]
    svg = charts.forest_svg(rows)
    root = ET.fromstring(svg)
    assert [t.text for t in group(root, "labels")] == [HOSTILE, "Q&A <b>bold</b>"]
    assert [t.text for t in group(root, "domains")] == [HOSTILE, "a & b"]
    assert HOSTILE in root.find(f"{SVG}title").text
    assert "<img" not in svg and "<b>" not in svg
    assert {local(e.tag) for e in root.iter()} <= {"svg", "title", "g", "path", "text", "tspan"}
    # Characters XML cannot carry are dropped rather than breaking the file.
    ET.fromstring(charts.forest_svg([forest_row("a\x00b\x1fc\ufffe", 0, -1, 1, "d\x0b")]))


@pytest.mark.parametrize("colour", ['#fff" onload="x', "red", "#12345", "url(#a)", ""])
def test_forest_refuses_a_colour_that_is_not_hex(colour):
    with pytest.raises(ValueError, match="hex colour"):
        charts.forest_svg([forest_row("a", 0.1, 0, 0.2, "d", colour)])


def test_forest_long_labels_are_cut_to_the_label_column_in_the_real_font():
    long = "Career decision self-efficacy short form, total score WWWWWWWWWWWW (CDSE-SF)"
    root = ET.fromstring(charts.forest_svg([forest_row(long, 0.5, 0.2, 0.8, "A very long domain name " * 4),
                                            forest_row("Hope", 0.5, 0.2, 0.8, "B")]))
    label = group(root, "labels")[0].text
    heading = group(root, "domains")[0].text
    assert label.endswith("\u2026") and long.startswith(label[:-1].rstrip())
    assert heading.endswith("\u2026")
    right = float(group(root, "labels")[0].get("x"))
    size = float(group(root, "labels").get("font-size"))
    assert right - real_width(label, size, False) >= 0  # stays inside the figure
    assert float(group(root, "domains")[0].get("x")) + real_width(heading, size, True) <= right + 1
    left_of_plot = min(float(t.get("x")) for t in group(root, "x-ticks"))
    assert right < left_of_plot and right <= 0.43 * 696
    # Short labels leave the plot more room.
    short = ET.fromstring(charts.forest_svg([forest_row("Hope", 0.5, 0.2, 0.8, "B")]))
    assert float(group(short, "labels")[0].get("x")) < right


def test_forest_is_deterministic():
    first = charts.forest_svg(FOREST)
    assert first == charts.forest_svg([dict(row) for row in FOREST])
    assert first.encode() == charts.forest_svg(FOREST).encode()


def test_forest_report_adapter_flips_lower_is_better_and_marks_no_direction_hollow():
    import pandas as pd

    from pipeline import report

    results = pd.DataFrame(
        {"name": ["Depression", "Search for meaning", "Hope", "Mood"], "instrument": ["PHQ-9", "MLQ", "AHS", "X"],
         "domain": ["distress", "meaning and purpose", "meaning and purpose", None],
         "higher_is": ["worse", "neutral", "better", "better"],
         "d_z": [-0.5, -0.2, -0.1, NAN], "d_z_ci_low": [-0.8, -0.4, -0.3, NAN], "d_z_ci_high": [-0.2, 0.1, 0.1, NAN],
         "outcome": ["improved", "no significant change", "no significant change", "no significant change"]}  # fmt: skip
    )
    svg = report.forest_plot_svg(results, ["meaning and purpose", "distress"])
    root = ET.fromstring(svg)
    _, _, x_of = forest_axis(root)
    rows = {r["label"]: r for r in forest_rows(root)}
    # Display order: by domain in the order given (meaning before distress), no domain last.
    assert list(rows) == ["Search for meaning (MLQ) (no direction)", "Hope (AHS)", "Depression (PHQ-9)", "Mood (X)"]
    assert [t.text for t in group(root, "domains")] == ["Meaning and purpose", "Distress", "Other"]
    # Without an order, domains come as the results first name them.
    unordered = ET.fromstring(report.forest_plot_svg(results))
    assert [t.text for t in group(unordered, "domains")] == ["Distress", "Meaning and purpose", "Other"]
    phq = rows["Depression (PHQ-9)"]
    # A drop in depression is an improvement: right of zero, its interval flipped to [0.2, 0.8].
    assert phq["marker"] == pytest.approx(x_of(0.5), abs=0.011) and phq["marker"] > x_of(0)
    assert phq["interval"] == pytest.approx((x_of(0.2), x_of(0.8)), abs=0.011)
    assert phq["colour"] == report.OUTCOME_COLOURS["improved"] and not phq["hollow"]
    search = rows["Search for meaning (MLQ) (no direction)"]
    assert search["hollow"] and search["colour"] == report.NEUTRAL_COLOUR
    assert search["marker"] == pytest.approx(x_of(-0.2), abs=0.011)  # no direction: not flipped
    assert rows["Hope (AHS)"]["marker"] < x_of(0) and not rows["Hope (AHS)"]["hollow"]
    assert rows["Mood (X)"]["note"] == "not tested"
    assert svg == charts.forest_svg([
        {"label": "Search for meaning (MLQ) (no direction)", "estimate": -0.2, "low": -0.4, "high": 0.1,
         "colour": report.NEUTRAL_COLOUR, "hollow": True, "domain": "Meaning and purpose"},
        {"label": "Hope (AHS)", "estimate": -0.1, "low": -0.3, "high": 0.1, "colour": report.NEUTRAL_COLOUR,
         "hollow": False, "domain": "Meaning and purpose"},
        {"label": "Depression (PHQ-9)", "estimate": 0.5, "low": 0.2, "high": 0.8, "colour": "#1b7f5f", "hollow": False,
         "domain": "Distress"},
        {"label": "Mood (X)", "estimate": NAN, "low": NAN, "high": NAN, "colour": report.NEUTRAL_COLOUR, "hollow": False,
         "domain": "Other"},
    ])


def test_report_draws_the_forest_plot_without_matplotlib():
    code = (
        "import sys, pandas as pd; from pipeline import report; "
        "r = pd.DataFrame({'name': ['D'], 'instrument': ['P'], 'domain': ['distress'], 'higher_is': ['worse'], "
        "'d_z': [-0.5], 'd_z_ci_low': [-0.8], 'd_z_ci_high': [-0.2], 'outcome': ['improved']}); "
        "report.forest_plot_svg(r); print('matplotlib' in sys.modules)"
    )
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                           cwd=str(__import__("pathlib").Path(__file__).parent.parent))
    assert fresh.stdout.strip() == "False"


# --- one forest interval per wave ----------------------------------------------------------

def forest_waves(rows=FOREST[:4]) -> list[dict]:
    """FOREST's first rows with two intervals each, as the report passes them for three waves."""
    return [
        {"label": row["label"], "domain": row["domain"], "points": [
            {**row, "series": "End of program", "shape": "circle"},
            {**row, "estimate": row["estimate"] / 2, "low": row["low"] / 2, "high": row["high"] / 2, "colour": GREY,
             "series": "6 months after", "shape": "square"},
        ]}
        for row in rows
    ]  # fmt: skip


def test_forest_with_one_interval_per_wave_has_a_legend_and_a_marker_shape_per_wave():
    legend = [("End of program", "circle"), ("6 months after", "square")]
    rows = forest_waves()
    rows[1]["points"][1] |= {"estimate": NAN, "low": NAN, "high": NAN, "note": "too few"}
    svg = charts.forest_svg(rows, legend)
    root = ET.fromstring(svg)
    assert [t.text for t in group(root, "legend") if local(t.tag) == "text"] == ["End of program", "6 months after"]
    paths = list(group(root, "estimates"))
    circles = [p for p in paths if p.get("class") == "markers"]
    squares = [p for p in paths if p.get("class") == "markers square"]
    assert circles and squares and all(p.get("stroke-linecap") == "square" for p in squares)
    assert sum(len(subpaths(p.get("d"))) for p in circles) == 4 and sum(len(subpaths(p.get("d"))) for p in squares) == 3
    # The two intervals of a row sit one under the other, around its label.
    labels = [float(t.get("y")) for t in group(root, "labels")]
    lines = sorted({points[0][1] for p in paths if p.get("class") == "intervals" for points in subpaths(p.get("d"))})
    assert len(lines) == 7 and all(any(abs(y - label) < 10 for label in labels) for y in lines)
    assert [t.text for t in group(root, "not-tested")] == ["too few"]
    title = root.find(f"{SVG}title").text
    assert "Life satisfaction (SWLS): End of program 0.44 [0.24, 0.63], 6 months after too few" in title
    assert charts.forest_svg(rows, legend) == svg


def test_forest_draws_every_marker_shape_and_escapes_series_labels():
    rows = [{"label": "A", "domain": "", "points": [
        {"estimate": 0.1 * i, "low": 0, "high": 0.2 * i, "colour": GREEN, "hollow": i == 3, "series": f"wave {i}", "shape": shape}
        for i, shape in enumerate(charts.SHAPES)]}]  # fmt: skip
    svg = charts.forest_svg(rows, [(HOSTILE, "diamond"), ("b", "triangle")])
    root = ET.fromstring(svg)
    assert HOSTILE in [t.text for t in group(root, "legend")] and "<img" not in svg
    classes = {p.get("class") for p in group(root, "estimates")}
    assert {"markers", "markers square", "markers diamond", "markers triangle", "markers triangle-down", "hollow triangle"} <= classes
    with pytest.raises(ValueError, match="shape"):
        charts.forest_svg([{"label": "A", "points": [{"estimate": 0, "low": 0, "high": 0, "colour": GREEN, "hollow": False, "shape": "star"}]}])


def test_a_forest_of_one_interval_per_row_is_drawn_as_before():
    # The same rows given as one-point series draw the same intervals and markers (only the grouping key differs).
    single = ET.fromstring(charts.forest_svg(FOREST))
    as_points = [{"label": r["label"], "domain": r["domain"], "points": [{**r, "shape": "circle"}]} for r in FOREST]
    again = ET.fromstring(charts.forest_svg(as_points))
    for kind in ("intervals", "markers", "hollow"):
        assert [p.get("d") for p in group(single, "estimates") if p.get("class") == kind] == [
            p.get("d") for p in group(again, "estimates") if p.get("class") == kind
        ]


def test_a_forest_too_tall_for_a_page_comes_in_parts_on_one_axis():
    rows = forest_waves(FOREST)
    for row in rows:  # four waves: each row twice as tall
        row["points"] = row["points"] + [{**p, "shape": shape} for p, shape in zip(row["points"], ("diamond", "triangle"))]
    legend = [(f"wave {i}", shape) for i, shape in enumerate(charts.SHAPES[:4])]
    parts = charts.forest_parts(rows, legend)
    assert len(parts) == 2
    roots = [ET.fromstring(part) for part in parts]
    assert all(float(root.get("viewBox").split()[3]) <= 850 for root in roots)
    assert [t.text for root in roots for t in group(root, "labels")] == [row["label"] for row in rows]  # every row once, in order
    ticks = [[t.text for t in group(root, "x-ticks")] for root in roots]
    assert ticks[0] == ticks[1]
    assert len(charts.forest_parts(forest_waves(), legend[:2])) == 1  # four rows fit on one page


# --- the trajectory ------------------------------------------------------------------------

WAVES = [
    {"label": "Start of program", "weeks": 0.0, "mean": 4.57, "low": 4.37, "high": 4.78},
    {"label": "End of program", "weeks": 26.0, "mean": 5.11, "low": 4.89, "high": 5.34},
    {"label": "6 months after", "weeks": 52.0, "mean": 4.36, "low": 4.12, "high": 4.60},
]


def means_points(root: ET.Element) -> list[tuple[float, float]]:
    (points,) = [p for p in group(root, "means") if p.get("class") == "mean-points"]
    return [(a[0] + 0.005, a[1]) for a, _ in subpaths(points.get("d"))]


def test_trajectory_is_valid_svg_the_size_of_a_slopes_panel_with_a_title():
    svg = charts.trajectory_svg(WAVES, 1, 7, "Subjective happiness")
    root = ET.fromstring(svg)
    assert local(root.tag) == "svg" and root.get("role") == "img"
    assert (root.get("width"), root.get("height")) == ("78mm", "52mm")
    title = root.find(f"{SVG}title").text
    assert title == ("Subjective happiness: the mean was 4.57 at Start of program, 5.11 at End of program and 4.36 at "
                     "6 months after (model means with 95% intervals)")  # fmt: skip
    assert [t.text for t in group(root, "waves")][:2] == ["Start of program", "End of program"]
    assert " ".join(t.text for t in group(root, "waves")).split() == "Start of program End of program 6 months after".split()
    sizes = [float(g.get("font-size")) * 78 / 312 / 25.4 * 72 for g in root.iter(f"{SVG}g") if g.get("font-size")]
    assert sizes and all(6.5 <= size <= 8.5 for size in sizes)
    assert sum(1 for _ in root.iter()) < 40
    assert charts.trajectory_svg(WAVES, 1, 7, "Subjective happiness") == svg  # deterministic


def test_trajectory_points_sit_where_their_weeks_and_means_put_them():
    waves = [dict(w) for w in WAVES]
    waves[1]["weeks"] = 4.0  # 0, 4, 52: the second wave close to the first
    root = ET.fromstring(charts.trajectory_svg(waves, 1, 7))
    to_px = y_scale(root, 1, 7)
    xs = [x for x, _ in means_points(root)]
    assert (xs[1] - xs[0]) / (xs[2] - xs[0]) == pytest.approx(4 / 52, abs=0.002)
    assert [y for _, y in means_points(root)] == pytest.approx([float(to_px(w["mean"])) for w in waves], abs=0.01)
    (intervals,) = [p for p in group(root, "means") if p.get("class") == "intervals"]
    for (start, end), wave in zip(subpaths(intervals.get("d")), waves):
        assert sorted([start[1], end[1]]) == pytest.approx(sorted(to_px([wave["low"], wave["high"]])), abs=0.01)
    # Without weeks, evenly spaced; the y axis is the scale's whole range either way.
    root = ET.fromstring(charts.trajectory_svg([{**w, "weeks": None} for w in WAVES], 1, 7))
    xs = [x for x, _ in means_points(root)]
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1], abs=0.01)
    assert [float(t.text) for t in group(root, "y-ticks")] == [1, 2, 3, 4, 5, 6, 7]


def test_a_withheld_wave_is_a_gap_in_the_line_and_says_too_few():
    waves = [dict(w) for w in WAVES] + [{"label": "A year after", "weeks": 78.0, "mean": 4.4, "low": 4.1, "high": 4.7}]
    waves[2] |= {"mean": NAN, "low": NAN, "high": NAN}
    root = ET.fromstring(charts.trajectory_svg(waves, 1, 7))
    assert len(means_points(root)) == 3
    (line,) = [p for p in group(root, "means") if p.get("class") == "mean-line"]
    assert [len(points) for points in subpaths(line.get("d"))] == [2]  # start to end; nothing joins across the gap
    assert [t.text for t in group(root, "withheld")] == ["too few"]
    assert "not shown at 6 months after (too few answers)" in root.find(f"{SVG}title").text


def test_trajectory_text_is_escaped_intervals_are_clipped_and_bad_input_refused():
    waves = [{"label": HOSTILE, "weeks": None, "mean": 1.2, "low": 0.5, "high": 1.9}, {"label": "b", "weeks": None, "mean": 2, "low": 1, "high": 3}]
    svg = charts.trajectory_svg(waves, 1, 7, HOSTILE)
    root = ET.fromstring(svg)
    assert "<img" not in svg and HOSTILE in root.find(f"{SVG}title").text
    to_px = y_scale(root, 1, 7)
    (intervals,) = [p for p in group(root, "means") if p.get("class") == "intervals"]
    start, end = subpaths(intervals.get("d"))[0]
    assert max(start[1], end[1]) == pytest.approx(float(to_px(1)), abs=0.01)  # drawn to the scale's end
    with pytest.raises(ValueError):
        charts.trajectory_svg([], 1, 7)
    with pytest.raises(ValueError):
        charts.trajectory_svg(WAVES, 7, 1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=45), st.floats(1, 7) | st.just(NAN)), min_size=2, max_size=12))
def test_any_waves_give_valid_svg_with_every_shown_mean_inside_the_plot(waves):
    spec = [{"label": label, "weeks": None, "mean": mean, "low": mean - 0.3, "high": mean + 0.3} for label, mean in waves]
    root = ET.fromstring(charts.trajectory_svg(spec, 1, 7))
    left, top, right, bottom = plot_area(root)
    shown = [w for w in spec if not np.isnan(w["mean"])]
    points = means_points(root) if any(p.get("class") == "mean-points" for p in group(root, "means")) else []
    assert len(points) == len(shown)
    assert all(left < x < right and top <= y <= bottom for x, y in points)


# --- small pieces --------------------------------------------------------------------------

def test_svg_data_uri_round_trips():
    svg = charts.flow_diagram_svg(MAIN, SIDE)
    uri = charts.svg_data_uri(svg)
    prefix = "data:image/svg+xml;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix):]).decode("utf-8") == svg


@pytest.mark.parametrize("module", [primitives, flow_module, slopes_module, forest_module, trajectory_module], ids=lambda module: module.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
