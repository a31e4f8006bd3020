"""The one exception type the command line turns into a clear, single-line message, and the
helpers every stage uses to build such a message from text a user (or an attacker) supplied.

A message names the file (and row, column or field), says what is wrong and what to do, and fits
on one line of at most :data:`MESSAGE_LIMIT` characters: echoed text goes through
:func:`printable` (escaped) and :func:`shorten` or :func:`shown` (cut), lists of problems
through :func:`join_problems`, and the command line passes the whole message through
:func:`one_line` as a last guard.
"""

from __future__ import annotations

import math
import reprlib
from pathlib import Path
from typing import Any

#: Longest message printed, and how much of an echoed user text a message shows.
MESSAGE_LIMIT = 300
SHOWN_CHARS = 40

_repr = reprlib.Repr()
_repr.maxstring = SHOWN_CHARS
_repr.maxother = SHOWN_CHARS
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 3
_repr.maxlevel = 2


class PipelineError(Exception):
    """A problem with the user's input (a study, instrument or data file) that they can fix.

    The message names the file (and, where it applies, the row, column or field) and says
    what to do. The command line prints it on one line and exits non-zero, without a traceback.
    """


def printable(text: Any) -> str:
    r"""``text`` with line breaks, control and other invisible characters escaped (``\n``, ``\x07``,
    ``\u200b``, ``\u202e``): what is left prints as itself on one line, with no bidirectional
    override that would make a message (or an id in a report) read differently from what it is.

    >>> printable("P0\u200b01\n")
    'P0\\u200b01\\n'
    """
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def shorten(text: Any, limit: int = SHOWN_CHARS) -> str:
    """``text`` escaped (:func:`printable`) and cut to about ``limit`` characters, with ``...`` when cut."""
    text = str(text)
    cut = printable(text[:limit])
    return cut + ("..." if len(text) > limit else "")


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A short, escaped, single-line rendering of user-supplied ``value`` for a message (its repr, cut to ``limit``)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 100:
        # repr of a huge int is slow and, past 4300 digits, raises ValueError.
        return f"<a {'negative ' if value < 0 else ''}number of about {int(value.bit_length() * math.log10(2)) + 1} digits>"
    text = printable(_repr.repr(value))
    return text if len(text) <= limit + 8 else text[: limit + 5] + "..."


def join_problems(source: Path | str, problems: list[str], limit: int = MESSAGE_LIMIT) -> str:
    """``source: first problem; second problem; and N more problems`` on one line, shorter than ``limit`` characters.

    Problems are kept whole, in order, while they fit; the first is always kept (cut if it alone is too long).
    """
    prefix = f"{printable(source)}: "
    kept: list[str] = []
    for index, problem in enumerate(problems):
        problem = printable(problem)
        rest = len(problems) - index - 1
        tail = f"; and {rest} more problem{'s' if rest > 1 else ''}" if rest else ""
        candidate = prefix + "; ".join(kept + [problem])
        if kept and len(candidate) + len(tail) >= limit:
            more = len(problems) - len(kept)
            return prefix + "; ".join(kept) + f"; and {more} more problem{'s' if more > 1 else ''}"
        kept.append(problem)
    message = prefix + "; ".join(kept)
    return message if len(message) < limit else message[: limit - 4] + "..."


def one_line(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """A whole message as one line of at most ``limit`` characters: invisible characters escaped,
    and a message still too long cut in the middle, keeping the file it names and what to do."""
    text = printable(message)
    if len(text) <= limit:
        return text
    head = (limit - 5) * 2 // 3
    return text[:head] + " ... " + text[len(text) - (limit - 5 - head):]
