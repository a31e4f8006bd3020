"""Privacy at the ingest boundary: which columns identify people, and pseudonymous participant ids.

A column is *identifying* by rule, not by a list the researcher must remember:

* by its name: the built-in names of personal data (:data:`IDENTIFYING_NAMES`, compared with
  case, spaces and punctuation ignored, and :data:`IDENTIFYING_WORDS` anywhere in the name), the
  platforms' own personal-data columns (Qualtrics recipient, IP and location fields), the fields a
  REDCap data dictionary marks ``Identifier? = y``, and the study's ``identifiers:``;
* by its values: any value that is an e-mail or IP address, or a column whose answers are mostly
  phone numbers (:func:`identifying_values`).

An identifying column may be used by exclusion rules (consent, status, timestamps) but never
leaves validation: it cannot be a subgroup, an item, or the id column unless ids are
pseudonymised, and no problem report echoes its values.

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
import ipaddress
import os
import re
import stat
import unicodedata
from pathlib import Path

import pandas as pd

from .errors import PipelineError

#: Columns Qualtrics fills with personal data (Qualtrics, "Understanding your dataset"; excluder's deidentify()),
#: including the legacy export's names.
QUALTRICS_IDENTIFYING = [
    "IPAddress", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
    "LocationLatitude", "LocationLongitude", "UserLanguage", "Name", "EmailAddress",
]  # fmt: skip
#: Column names of personal data in any export (HIPAA Safe Harbor's list, 45 CFR 164.514(b)(2), and
#: common survey headers), compared after :func:`name_key` (case, spaces and punctuation ignored).
IDENTIFYING_NAMES = [
    "name", "full name", "first name", "last name", "given name", "family name", "surname", "forename", "middle name",
    "email", "e-mail", "email address", "mail", "phone", "phone number", "telephone", "tel", "mobile", "mobile number",
    "cell", "fax", "address", "street", "street address", "home address", "city", "postcode", "post code", "zip",
    "zip code", "postal code", "ip", "ip address", "date of birth", "dob", "birth date", "birthdate", "birthday",
    "ssn", "social security number", "national insurance number", "nhs number", "passport number",
    "latitude", "longitude", "location latitude", "location longitude",
]  # fmt: skip
#: Words that make any column name identifying wherever they appear in it (``parent_email``, ``Q7 Phone``).
IDENTIFYING_WORDS = ["email", "phone", "ipaddress", "postcode", "zipcode", "dateofbirth", "surname", "firstname", "lastname", "fullname"]
#: REDCap data dictionary columns: the field name and its identifier flag (REDCap, "Data Dictionary").
REDCAP_FIELD, REDCAP_IDENTIFIER = "Variable / Field Name", "Identifier?"

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
#: A phone number: 9 to 15 digits (ITU-T E.164 allows 15) written with a leading + or with separators.
PHONE = re.compile(r"^(?=(?:\D*\d){9,15}\D*$)(?:\+\s?\d[\d\s().-]*|\(?\d+\)?(?:[\s.-]+\(?\d+\)?)+)$")
CODE_PREFIX = "p_"
CODE_HEX_DIGITS = 16
MIN_KEY_BYTES = 16
MAX_KEY_BYTES = 4096


def name_key(name: str) -> str:
    """A column name with case, spaces and punctuation ignored: ``"E-mail Address"`` -> ``"emailaddress"``."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", str(name)).casefold())


_NAME_KEYS = {name_key(name) for name in [*IDENTIFYING_NAMES, *QUALTRICS_IDENTIFYING]}


def identifying_by_name(column: str, declared: list[str] = ()) -> str | None:
    """Why ``column`` identifies people by its name alone, or None (``declared``: the study's ``identifiers:``).

    >>> identifying_by_name("E-mail"), identifying_by_name("parent_email"), identifying_by_name("cohort_name")
    ('a column of personal data (by its name)', 'a column of personal data (by its name)', None)
    """
    if column in declared:
        return "listed under identifiers"
    key = name_key(column)
    if key in _NAME_KEYS or any(word in key for word in IDENTIFYING_WORDS):
        return "a column of personal data (by its name)"
    return None


def identifying_columns(declared: list[str], fmt: str) -> list[str]:
    """The columns known to identify people before the data are read: the study's declared ones
    and the platform's own (Qualtrics)."""
    platform = QUALTRICS_IDENTIFYING if fmt == "qualtrics" else []
    return list(dict.fromkeys([*declared, *platform]))


def identifying_reason(column: str, declared: list[str], fmt: str) -> str | None:
    """Why ``column`` identifies people by its name alone (``declared``: the study's ``identifiers:``;
    ``fmt``: the export's format, whose platform fills some columns with personal data), or None.

    >>> identifying_reason("IPAddress", [], "qualtrics"), identifying_reason("site", ["site"], "csv")
    ('a column the survey platform fills with personal data', 'listed under identifiers')
    """
    if column not in declared and column in identifying_columns([], fmt):
        return "a column the survey platform fills with personal data"
    return identifying_by_name(column, declared)


def redcap_identifier_fields(table: pd.DataFrame) -> list[str]:
    """The fields of a REDCap data dictionary (read as text) whose ``Identifier?`` column is ``y``."""
    if REDCAP_FIELD not in table.columns or REDCAP_IDENTIFIER not in table.columns:
        raise ValueError(f"a REDCap data dictionary has the columns {REDCAP_FIELD!r} and {REDCAP_IDENTIFIER!r}")
    flagged = table[REDCAP_IDENTIFIER].astype(str).str.strip().str.casefold() == "y"
    return table.loc[flagged, REDCAP_FIELD].astype(str).str.strip().tolist()


def looks_identifying(text: str) -> str | None:
    """What kind of personal data one cell looks like (``"an e-mail address"``, ``"an IP address"``,
    ``"a phone number"``), or None.

    >>> [looks_identifying(v) for v in ["ana@example.org", "10.0.0.1", "+44 20 7946 0958", "P001", "2024-05-01", "3"]]
    ['an e-mail address', 'an IP address', 'a phone number', None, None, None]
    """
    text = str(text).strip()
    if len(text) < 5 or len(text) > 254:  # RFC 5321 caps an address at 254 characters
        return None
    if "@" in text and EMAIL.match(text):
        return "an e-mail address"
    if _is_ip_address(text):
        return "an IP address"
    if PHONE.match(text):
        return "a phone number"
    return None


#: What every text :func:`looks_identifying` accepts contains: an @ (e-mail), a dot or colon (IP
#: address), or nine digits (phone); texts without any are never asked, which spares the id column's
#: every distinct id an IP-address parse. The DuckDB engine's SQL filter is the same rule.
MAYBE_IDENTIFYING = re.compile(r"[@.:]|^(?:\D*\d){9}")  # anchored: linear in the text


def maybe_identifying(texts: pd.Series) -> pd.Series:
    """Which of ``texts`` (as text) :func:`looks_identifying` could call personal data (a superset).

    >>> maybe_identifying(pd.Series(["P00017", "ana@example.org", "10.0.0.1", "0123456789", 17])).tolist()
    [False, True, True, True, False]
    """
    search = MAYBE_IDENTIFYING.search  # a loop: most columns have a handful of distinct texts
    return pd.Series([search(str(text)) is not None for text in texts], index=texts.index, dtype=bool)


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def identifying_values(values: pd.Series, share: float = 0.0) -> str | None:
    """Why a column's values identify people, or None: more than ``share`` of its distinct non-blank
    values e-mail or IP addresses (by default any one), or more than half phone numbers (a lone
    phone-like value is more likely a code than a number)."""
    distinct = pd.Series(pd.unique(values.astype(str).str.strip()))
    distinct = distinct[distinct != ""]
    return identifying_kinds(distinct.map(looks_identifying).value_counts().to_dict(), len(distinct), share)


def identifying_kinds(kinds: dict[str, int], distinct: int, share: float = 0.0) -> str | None:
    """:func:`identifying_values`' verdict from ``kinds`` (how many of a column's ``distinct``
    trimmed non-blank values are each kind of :func:`looks_identifying`), for an engine that
    counts them without holding the column.

    >>> identifying_kinds({"a phone number": 3}, 5), identifying_kinds({"an IP address": 1}, 100)
    ('holds phone numbers', 'holds IP addresses')
    """
    if not distinct:
        return None
    for kind, plural in (("an e-mail address", "e-mail addresses"), ("an IP address", "IP addresses")):
        if kinds.get(kind, 0) / distinct > share:
            return f"holds {plural}"
    if kinds.get("a phone number", 0) / distinct > 0.5:
        return "holds phone numbers"
    return None


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
            if not stat.S_ISREG(path.stat().st_mode):
                raise PipelineError(f"data.pseudonymise.key_file: {key_file[:80]} is not a regular file; point it at the file holding the key")
            with open(path, "rb") as stream:
                key = stream.read(MAX_KEY_BYTES + 1)
        except OSError as exc:
            raise PipelineError(f"data.pseudonymise.key_file: cannot read {key_file[:80]} ({exc.strerror})") from None
        if len(key) > MAX_KEY_BYTES:
            raise PipelineError(f"data.pseudonymise.key_file: {key_file[:80]} is longer than {MAX_KEY_BYTES} bytes; a key is a short secret")
        key = key.strip()
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
