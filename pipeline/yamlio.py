"""Reading the project's declarative YAML files (instruments, studies) safely and strictly.

PyYAML's ``safe_load`` silently keeps the last of two equal keys in a mapping, so a definition
with ``reverse:`` written twice would score wrongly without a word. This loader refuses that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import PipelineError


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that rejects duplicate mapping keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            line = key_node.start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{key}' appears twice (second time on line {line})", key_node.start_mark
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml_mapping(path: Path) -> dict:
    """Parse ``path`` as a YAML mapping, raising :class:`PipelineError` naming file and line on any problem."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise PipelineError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader derives from SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PipelineError(f"{path}:{where}: invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise PipelineError(f"{path}: expected a YAML mapping of fields (key: value), found {type(data).__name__}")
    return data


def describe_validation_error(source: Path | str, error: ValidationError, data: dict) -> str:
    """Turn a pydantic error into one line: ``file: field.path (id): message; ...``.

    List positions are shown with the id of the entry where it has one, e.g.
    ``scales[0] (tiny_score).method``, so the user finds the entry without counting.
    """
    problems = []
    for err in error.errors():
        problems.append(f"{format_field_path(err['loc'], data)}: {_plain_message(err)}")
    return f"{source}: " + "; ".join(problems)


def format_field_path(loc: tuple, data: Any) -> str:
    """Render a location such as ``('scales', 0, 'method')`` as ``scales[0] (tiny_score).method``."""
    parts: list[str] = []
    node = data
    for key in loc:
        if key == "[key]":  # pydantic's marker for "the key itself is wrong"
            continue
        if isinstance(key, int):
            label = f"[{key}]"
            entry = node[key] if isinstance(node, list) and 0 <= key < len(node) else None
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                label += f" ({entry['id']})"
            parts.append(label)
            node = entry
        else:
            parts.append(("." if parts else "") + str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def _plain_message(err: dict) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown field (check its spelling; see the README for the fields this file takes)"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch":
        return f"{err.get('input')!r} is not a valid id: start with a letter, then letters, digits or underscores only"
    if kind == "literal_error":
        return f"{err['msg'].lower()}, got {err.get('input')!r}"
    return f"{err['msg']} (got {err.get('input')!r})"
