"""Privacy at the ingest boundary: which columns identify people, and pseudonymous participant ids.

Identifying columns (the study's ``identifiers:`` plus the platforms' own, below) may be used by
exclusion rules but never leave validation: only the id column and item columns go on.

Pseudonymous ids (``data: {pseudonymise: ...}``) are ``HMAC-SHA-256(key, id)`` (RFC 2104),
written as ``p_`` and the first 16 hex digits (64 bits: a collision among even a million ids has
a probability near 3e-8). The same key gives the same code in every run and wave, so waves
still pair; without the key a code cannot be turned back into an id or recomputed from a
guessed id. The key is read from an environment variable or a file outside the repository and
is never written anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import pandas as pd

from .errors import PipelineError

#: Columns Qualtrics fills with personal data (Qualtrics, "Understanding your dataset"; excluder's deidentify()).
QUALTRICS_IDENTIFYING = [
    "IPAddress", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
    "LocationLatitude", "LocationLongitude", "UserLanguage",
]  # fmt: skip
CODE_PREFIX = "p_"
CODE_HEX_DIGITS = 16
MIN_KEY_BYTES = 16


def identifying_columns(declared: list[str], fmt: str) -> list[str]:
    """The study's declared identifying columns plus those of the export's platform."""
    platform = QUALTRICS_IDENTIFYING if fmt == "qualtrics" else []
    return list(dict.fromkeys([*declared, *platform]))


def pseudonymise(ids: pd.Series, key: bytes) -> pd.Series:
    """Each id as ``p_`` + the first 16 hex digits of HMAC-SHA-256(key, id); blanks stay blank.

    >>> pseudonymise(pd.Series(["P001", ""]), b"0123456789abcdef").tolist()
    ['p_e9d7efd5a1e0a616', '']
    """
    def code(value: str) -> str:
        if not value:
            return ""
        digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
        return CODE_PREFIX + digest[:CODE_HEX_DIGITS]

    return ids.map(code)


def load_key(key_env: str | None, key_file: str | None, repository: Path) -> bytes:
    """The pseudonymisation key: from ``key_file`` (which must lie outside ``repository``) or ``key_env``."""
    if key_file:
        path = Path(key_file).expanduser().resolve()
        if path.is_relative_to(repository.resolve()):
            raise PipelineError(f"data.pseudonymise.key_file: {key_file} is inside the repository; keep the key outside it, where it cannot be committed")
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise PipelineError(f"data.pseudonymise.key_file: cannot read {key_file} ({exc.strerror})") from None
    else:
        value = os.environ.get(key_env or "")
        if not value:
            raise PipelineError(
                f"data.pseudonymise: the environment variable {key_env} is not set; set it to a secret of at least "
                f"{MIN_KEY_BYTES} characters (the same one for every run of this study), or give key_file"
            )
        key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise PipelineError(f"data.pseudonymise: the key is shorter than {MIN_KEY_BYTES} bytes; use a longer secret")
    return key
