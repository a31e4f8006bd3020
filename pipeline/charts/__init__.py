"""Charts for the funder's impact report, as SVG strings (vector graphics WeasyPrint embeds).

Every function here is pure: the same input gives the same bytes (no dates, no random ids), so
reports are reproducible. Text from studies and data is always escaped: a label such as
``<img src=...>`` is drawn as text, never read as markup.

* :mod:`.flow` - :func:`flow_diagram_svg`, a CONSORT-style participant flow diagram, written by hand, and
  :func:`consort_diagram_svg`, its two-column form for a study with a comparison group.
* :mod:`.slopes` - :func:`paired_slopes_svg`, one variable's paired before/after scores, also written by hand.
* :mod:`.trajectory` - :func:`trajectory_svg`, one variable's model mean at every wave (three or more waves),
  and :func:`groups_trajectory_svg`, both groups' means of a two-group study.
* :mod:`.forest` - :func:`forest_svg`, standardized change of every variable with its interval
  (one per later wave when there are several), also by hand.
* :mod:`.primitives` - what they share: colours, text width and wrapping, coordinates, tick
  labels, and :func:`svg_data_uri` (an SVG as a ``data:`` URL for ``<img src=...>``).
"""

from .flow import consort_diagram_svg, consort_diagram_title, flow_diagram_svg, flow_diagram_title
from .forest import SHAPES, forest_parts, forest_svg, forest_title
from .primitives import CHANGED, IMPROVED, LIGHT_FILL, MUTED, MUTED_LIGHT, NAVY, NEUTRAL, RULE, TEXT, WORSENED, svg_data_uri, wrap_text
from .slopes import SLOPE_LINES_MAX, line_sample, paired_slopes_svg
from .trajectory import GROUP_COLOURS, groups_trajectory_svg, groups_trajectory_title, trajectory_svg, trajectory_title, wave_positions

__all__ = [
    "CHANGED", "GROUP_COLOURS", "IMPROVED", "LIGHT_FILL", "MUTED", "MUTED_LIGHT", "NAVY", "NEUTRAL", "RULE", "SHAPES", "TEXT", "WORSENED",
    "consort_diagram_svg", "consort_diagram_title", "flow_diagram_svg", "flow_diagram_title", "forest_parts", "forest_svg", "forest_title", "groups_trajectory_svg", "groups_trajectory_title", "line_sample", "paired_slopes_svg", "SLOPE_LINES_MAX", "svg_data_uri",
    "trajectory_svg", "trajectory_title", "wave_positions", "wrap_text",
]  # fmt: skip
