"""Charts for the funder's impact report, as SVG strings (vector graphics WeasyPrint embeds).

Every function here is pure: the same input gives the same bytes (no dates, no random ids), so
reports are reproducible. Text from studies and data is always escaped: a label such as
``<img src=...>`` is drawn as text, never read as markup.

* :mod:`.flow` - :func:`flow_diagram_svg`, a CONSORT-style participant flow diagram, written by hand.
* :mod:`.slopes` - :func:`paired_slopes_svg`, one variable's paired before/after scores, also written by hand.
* :mod:`.trajectory` - :func:`trajectory_svg`, one variable's model mean at every wave (three or more waves).
* :mod:`.forest` - :func:`forest_svg`, standardized change of every variable with its interval
  (one per later wave when there are several), also by hand.
* :mod:`.primitives` - what they share: colours, text width and wrapping, coordinates, tick
  labels, and :func:`svg_data_uri` (an SVG as a ``data:`` URL for ``<img src=...>``).
"""

from .flow import flow_diagram_svg, flow_diagram_title
from .forest import SHAPES, forest_parts, forest_svg, forest_title
from .primitives import CHANGED, IMPROVED, LIGHT_FILL, MUTED, MUTED_LIGHT, NAVY, NEUTRAL, RULE, TEXT, WORSENED, svg_data_uri, wrap_text
from .slopes import paired_slopes_svg
from .trajectory import trajectory_svg, trajectory_title, wave_positions

__all__ = [
    "CHANGED", "IMPROVED", "LIGHT_FILL", "MUTED", "MUTED_LIGHT", "NAVY", "NEUTRAL", "RULE", "SHAPES", "TEXT", "WORSENED",
    "flow_diagram_svg", "flow_diagram_title", "forest_parts", "forest_svg", "forest_title", "paired_slopes_svg", "svg_data_uri",
    "trajectory_svg", "trajectory_title", "wave_positions", "wrap_text",
]  # fmt: skip
