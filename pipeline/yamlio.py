"""Reading the project's declarative YAML files (instruments, studies) safely and strictly.

The files are small, hand-written mappings of names, numbers and text, so everything else YAML
can express is refused with one line naming the file, line and column and saying what to write
instead:

* more than :data:`MAX_YAML_BYTES`, or a file that is not a regular file (a folder, a FIFO,
  ``/dev/zero``): refused from ``os.stat`` before a byte is read;
* characters YAML forbids (NUL, BEL and other control characters);
* anchors and aliases (``&name``, ``*name``), refused as they are met, before anything expands,
  so a "billion laughs" file costs no more than its own size; the merge key ``<<`` too;
* nesting deeper than :data:`MAX_DEPTH` or more than :data:`MAX_NODES` values;
* a list or mapping used as a key, or a key that YAML reads as true/false/null or a fraction
  (keys are names; whole numbers are allowed, e.g. ``labels: {1: Never}``);
* a key written twice (PyYAML's ``safe_load`` silently keeps the last one, so a definition with
  ``reverse:`` written twice would score wrongly without a word);
* tags (``!!python/object``, ``!custom``, ``!!binary``, ``!!set``...; only ``!!str`` is kept),
  dates (YAML 1.1 reads ``2024-01-01`` as a date), octal and base-60 numbers (``010`` is 8,
  ``1:30`` is 90), integers beyond :data:`MAX_INTEGER` and ``.nan`` / ``.inf``.

Every problem message is built to be one line under :data:`pipeline.errors.MESSAGE_LIMIT` characters: echoed
user text goes through :func:`shown` (escaped, cut to about 40 characters) and lists of
problems through :func:`join_problems`.
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.constructor import SafeConstructor
from yaml.composer import Composer
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.reader import Reader
from yaml.resolver import Resolver

from .errors import SHOWN_CHARS, PipelineError, join_problems, printable, shown

#: Largest instrument or study file read: the library's biggest is under 7 kB.
MAX_YAML_BYTES = 1 << 20
#: Deepest nesting of lists and mappings (the project's files need 5 levels at most).
MAX_DEPTH = 32
#: Most values (scalars, lists and mappings) in one file; the library's biggest holds about 700.
MAX_NODES = 50_000
#: Largest whole number magnitude: well inside a float's exact integers (2**53), so no score silently rounds.
MAX_INTEGER = 10**15

_CORE = "tag:yaml.org,2002:"
#: Explicit tags a file may carry: ``!`` (plain text) and ``!!str``; anything else is refused.
_ALLOWED_TAGS = {"!", _CORE + "str"}
_BREAKS = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")



class _Refusal(yaml.MarkedYAMLError):
    """A construct this project's files do not use, with what to write instead."""

    def __init__(self, mark, message: str):
        super().__init__(problem=message, problem_mark=mark)


def _anchor(event) -> str:
    name = printable(event.anchor or "")
    return name if len(name) <= SHOWN_CHARS else name[:SHOWN_CHARS] + "..."


class _StrictComposer(Composer):
    """Composition that refuses aliases, anchors, tags, deep nesting and too many values, event by event."""

    _depth = 0
    _nodes = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refusal(event.start_mark, f"YAML aliases (*{_anchor(event)}) are not supported; write the value out in full here")
        if event.anchor is not None:
            raise _Refusal(event.start_mark, f"YAML anchors (&{_anchor(event)}) are not supported; remove it and write values out in full")
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in _ALLOWED_TAGS:
            written = "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag
            raise _Refusal(event.start_mark, f"the tag {shown(written)} is not supported; remove it and write a plain value (quote it if it is text)")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Refusal(event.start_mark, f"more than {MAX_NODES} values in one file; split it or remove repeated entries")
        if self._depth >= MAX_DEPTH:
            raise _Refusal(event.start_mark, f"nested more than {MAX_DEPTH} levels deep; these files need only a few levels: flatten it")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _StrictLoader(yaml.SafeLoader, _StrictComposer):
    """A safe loader (pure Python) that refuses aliases, anchors, tags, deep nesting and odd keys as it
    composes; its messages are the ones users see."""

    def fetch_flow_collection_start(self, TokenClass):
        # Refused while scanning: PyYAML's scanner slows quadratically with open '[' / '{' on one line.
        if self.flow_level >= MAX_DEPTH:
            raise _Refusal(self.get_mark(), f"nested more than {MAX_DEPTH} levels deep; these files need only a few levels: flatten it")
        super().fetch_flow_collection_start(TokenClass)


def _mapping_key(loader: _StrictLoader, node: yaml.Node):
    if node.tag == _CORE + "merge":
        raise _Refusal(node.start_mark, "the YAML merge key '<<' is not supported; write the fields out in full")
    if not isinstance(node, ScalarNode):
        kind = "list" if isinstance(node, SequenceNode) else "mapping"
        raise _Refusal(node.start_mark, f"a {kind} cannot be a key; a key is a plain name such as 'items'")
    key = loader.construct_object(node)
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        reads_as = "null" if key is None else str(key).lower() if isinstance(key, bool) else "a fraction"
        raise _Refusal(node.start_mark, f"the key {shown(node.value)} reads as {reads_as}; keys are names: put it in quotes")
    return key


def _construct_mapping(loader: _StrictLoader, node: MappingNode) -> dict:
    data: dict[Any, Any] = {}
    first_line: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = _mapping_key(loader, key_node)
        if key in data:
            raise _Refusal(
                key_node.start_mark,
                f"invalid YAML: key {shown(key)} appears twice (first on line {first_line[key]}); keep one of them",
            )
        first_line[key] = key_node.start_mark.line + 1
        data[key] = loader.construct_object(value_node)
    return data


def _construct_int(loader: _StrictLoader, node: ScalarNode) -> int:
    digits = node.value.replace("_", "").lstrip("+-")
    if ":" in digits:
        raise _Refusal(node.start_mark, f"{shown(node.value)} reads as a base-60 number in YAML; put it in quotes if it is text")
    if len(digits) > 1 and digits[0] == "0" and digits[1] not in "bx":
        raise _Refusal(node.start_mark, f"{shown(node.value)} reads as an octal number in YAML; drop the leading zero, or quote it if it is text")
    if len(digits) > 20:  # before int(), which is slow and refuses past 4300 digits
        raise _Refusal(node.start_mark, f"the number {shown(node.value)} is too large (the limit is 10^15)")
    value = SafeConstructor.construct_yaml_int(loader, node)
    if abs(value) > MAX_INTEGER:
        raise _Refusal(node.start_mark, f"the number {shown(node.value)} is too large (the limit is 10^15)")
    return value


def _construct_float(loader: _StrictLoader, node: ScalarNode) -> float:
    if ":" in node.value:
        raise _Refusal(node.start_mark, f"{shown(node.value)} reads as a base-60 number in YAML; put it in quotes if it is text")
    value = SafeConstructor.construct_yaml_float(loader, node)
    if not math.isfinite(value):
        raise _Refusal(node.start_mark, f"{shown(node.value)} is not a finite number; write a number such as 2.5 (or quote it if it is text)")
    return value


def _refuse_date(loader: _StrictLoader, node: ScalarNode):
    raise _Refusal(node.start_mark, f"{shown(node.value)} reads as a date in YAML; put it in quotes to keep it as text")


def _construct_text(loader: _StrictLoader, node: ScalarNode) -> str:
    # A plain '=' (YAML 1.1's "value" key) has no safe constructor; it is just text here.
    return loader.construct_scalar(node)


_StrictLoader.add_constructor(_CORE + "map", _construct_mapping)
_StrictLoader.add_constructor(_CORE + "int", _construct_int)
_StrictLoader.add_constructor(_CORE + "float", _construct_float)
_StrictLoader.add_constructor(_CORE + "timestamp", _refuse_date)
_StrictLoader.add_constructor(_CORE + "value", _construct_text)
_StrictLoader.add_constructor(_CORE + "yaml", _construct_text)

if getattr(yaml, "__with_libyaml__", False):

    class _FastStrictLoader(_StrictComposer, yaml._yaml.CParser, SafeConstructor, Resolver):
        """The same checks and constructors as :class:`_StrictLoader` over libyaml's C scanner and
        parser (about ten times faster on the library's files). Used for the first reading only:
        any problem is read again by :class:`_StrictLoader`, whose messages are the ones shown."""

        yaml_constructors = _StrictLoader.yaml_constructors

        def __init__(self, stream):
            yaml._yaml.CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            Composer.__init__(self)

else:  # PyYAML built without libyaml: the pure-Python loader only
    _FastStrictLoader = None


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_regular_file(path: Path, max_bytes: int | None = None) -> os.stat_result:
    """``os.stat`` of ``path``, refusing with one line a missing path, a non-regular file or one over ``max_bytes``."""
    where = printable(path)
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise PipelineError(f"{where}: file not found") from None
    except OSError as exc:
        raise PipelineError(f"{where}: cannot be read ({printable(exc.strerror or exc)}); check the path and its permissions") from None
    if not stat.S_ISREG(info.st_mode):
        raise PipelineError(f"{where}: not a regular file ({_file_kind(info.st_mode)}); give a YAML text file")
    if max_bytes is not None and info.st_size > max_bytes:
        raise PipelineError(
            f"{where}: {info.st_size} bytes is over the {max_bytes // 1024} KiB limit for this file; these files are a few kB: check it is the right file"
        )
    return info


def read_text(path: Path, max_bytes: int = MAX_YAML_BYTES) -> str:
    """The UTF-8 text of regular file ``path`` (at most ``max_bytes``), or :class:`PipelineError` in one line."""
    check_regular_file(path, max_bytes)
    where = printable(path)
    try:
        # O_NONBLOCK: should the path have become a FIFO since the stat, opening it must not hang.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise PipelineError(f"{where}: cannot be read ({printable(exc.strerror or exc)}); check the path and its permissions") from None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise PipelineError(f"{where}: not a regular file; give a YAML text file")
        size = info.st_size
        data = handle.read(min(size, max_bytes) + 1)
        if len(data) > size:  # the file grew since the stat: read on, up to the limit
            data += handle.read(max_bytes + 1 - len(data))
    if len(data) > max_bytes:
        raise PipelineError(f"{where}: over the {max_bytes // 1024} KiB limit for this file; check it is the right file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PipelineError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None


def _line_and_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of character ``position``, counting line breaks as YAML does."""
    lines = _BREAKS.split(text[:position])
    return len(lines), len(lines[-1]) + 1


def _yaml_problem(where: str, text: str, exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.reader.ReaderError):
        line, column = _line_and_column(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        escape = f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}"
        return (
            f"{where}: line {line}, column {column}: character U+{code:04X} is not allowed in a YAML file; "
            f"delete it (in a double-quoted string, write it as {escape})"
        )
    if isinstance(exc, _Refusal):
        mark = exc.problem_mark
        return f"{where}: line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    at = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
    parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
    problem = printable(", ".join(part for part in parts if part) or type(exc).__name__)
    if len(problem) > 100:
        problem = problem[:97] + "..."
    return f"{where}:{at} invalid YAML: {problem}; check the indentation, colons and quotes there"


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (the file is empty)"
    return {list: "a list", str: "plain text", int: "a number", float: "a number", bool: "true/false"}.get(type(value), type(value).__name__)


def fast_loader_may_read(text: str) -> bool:
    """Whether ``text`` may go to the fast loader at all. Characters the pure-Python reader refuses,
    and tabs (libyaml accepts a tab after a scalar where PyYAML's scanner refuses it), always take
    the slow path, so both loaders accept exactly the same files."""
    return _FastStrictLoader is not None and "\t" not in text and not Reader.NON_PRINTABLE.search(text)


def _load_strict(text: str) -> Any:
    """``text`` read by the fast loader when it accepts it (see :func:`fast_loader_may_read`), else
    by the pure-Python one, whose error is the one raised."""
    if fast_loader_may_read(text):
        try:
            return yaml.load(text, Loader=_FastStrictLoader)  # noqa: S506 - safe constructors only
        except yaml.YAMLError:
            pass
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader derives from SafeLoader


def read_yaml_mapping(path: Path, max_bytes: int = MAX_YAML_BYTES) -> dict:
    """Parse ``path`` as a YAML mapping of plain data (names, text, numbers, lists, mappings).

    Raises :class:`PipelineError` with one line naming the file (and line and column) on any
    problem; see the module's docstring for what is refused and why.
    """
    path = Path(path)
    text = read_text(path, max_bytes)
    where = printable(path)
    try:
        data = _load_strict(text)
    except yaml.YAMLError as exc:
        raise PipelineError(_yaml_problem(where, text, exc)) from None
    except (RecursionError, MemoryError, ValueError, TypeError, OverflowError) as exc:
        # Not expected (depth, size and numbers are bounded above); a safety net so a load never crashes.
        raise PipelineError(f"{where}: could not be read as YAML ({type(exc).__name__}); simplify the file") from None
    if not isinstance(data, dict):
        raise PipelineError(f"{where}: expected a YAML mapping of fields (key: value), found {_kind(data)}")
    return data


def describe_validation_error(source: Path | str, error: ValidationError, data: dict) -> str:
    """Turn a pydantic error into one line: ``file: field.path (id): message; ...``.

    List positions are shown with the id of the entry where it has one, e.g.
    ``scales[0] (tiny_score).method``, so the user finds the entry without counting. As many
    problems are listed as fit in :data:`pipeline.errors.MESSAGE_LIMIT` characters, then how many more there are.
    """
    problems = [f"{format_field_path(err['loc'], data)}: {_plain_message(err)}" for err in error.errors()]
    return join_problems(source, problems)


def plain_name(value: Any) -> str:
    """A key or id as a message shows it: as written if it is short printable text, else quoted, escaped and cut."""
    return value if isinstance(value, str) and 0 < len(value) <= SHOWN_CHARS and value.isprintable() else shown(value)


def format_field_path(loc: tuple, data: Any) -> str:
    """Render a location such as ``('scales', 0, 'method')`` as ``scales[0] (tiny_score).method``."""
    parts: list[str] = []
    node = data
    for key in loc:
        if key == "[key]":  # pydantic's marker for "the key itself is wrong"
            continue
        if isinstance(key, int) and isinstance(node, list):
            label = f"[{key}]"
            entry = node[key] if 0 <= key < len(node) else None
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                label += f" ({plain_name(entry['id'])})"
            parts.append(label)
            node = entry
        else:
            parts.append(("." if parts else "") + plain_name(key))
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def _plain_message(err: dict) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown field (check its spelling; see the README for the fields this file takes)"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch":
        return f"{shown(err.get('input'))} is not a valid id: start with a letter, then letters, digits or underscores only"
    if kind == "literal_error":
        return f"{printable(err['msg']).lower()}, got {shown(err.get('input'))}"
    message = printable(err["msg"])
    if kind == "value_error":  # our own validators' messages say what was wrong; a whole mapping echoed adds nothing
        message = message.removeprefix("Value error, ")
        if isinstance(err.get("input"), (dict, list)):
            return message
    if len(message) > 120:
        message = message[:117] + "..."
    return f"{message} (got {shown(err.get('input'))})"
