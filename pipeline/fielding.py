"""Field a study from its validated definitions: a REDCap data dictionary or XLSForm workbooks.

Pure functions: a loaded :class:`~pipeline.study.Study` in, tables (lists of rows) and texts out;
the command line (``impact field``) writes them. What is fielded is named and coded exactly as the
definitions say, so the export that comes back needs no column mapping: each ``build_*`` also
returns the ``study.yaml`` that reads it (research notes, designs-and-fielding.md §3).

* **REDCap**: ``data-dictionary.csv`` (the 18 headers in order, ``record_id`` first, a form
  ``participant`` for the study's own fields, then one form per instrument whose items are
  ``radio`` fields in one matrix group), ``events.csv`` (one event per wave, arm 1),
  ``instrument-event-mapping.csv``; the export read back is ``records.csv``.
* **XLSForm**: one workbook per wave (``survey``, ``choices``, ``settings``), flat (no groups,
  so exports keep plain names); the export read back is ``<wave>.csv`` from ODK Central or
  KoboToolbox, read as ``format: odk``: the metadata columns (:data:`ODK_METADATA`,
  :data:`KOBO_METADATA`) are never items, and a fielded name may not clash with one.

Item wording: definitions hold short labels, never item text. The licensed wording of a local
overlay is used where a licensed user has put it; otherwise the label is written marked
:data:`PLACEHOLDER`. For ``permission-required`` and ``commercial`` instruments without overlay
text no item text is written at all (the item id stands with the placeholder), and the notes say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from .errors import PipelineError
from .instruments import Instrument
from .study import Study

#: One rule for every name fielded (REDCap, XLSForm's NCName, Qualtrics tags, Stata/SAS), unique ignoring case.
NAME_RULE = re.compile(r"^[a-z][a-z0-9_]{0,25}$")
PLACEHOLDER = "[replace with the licensed item text]"
RESTRICTED = ("permission-required", "commercial")

#: REDCap data dictionary headers, exact strings and order (columns A-R).
REDCAP_HEADERS = [
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
]  # fmt: skip
REDCAP_EVENT_HEADERS = ["event_name", "arm_num", "unique_event_name", "custom_event_label"]
REDCAP_MAPPING_HEADERS = ["arm_num", "unique_event_name", "form"]
REDCAP_RECORD_ID = "record_id"
#: The form of the study's own fields (record id, consent, subgroups, group, identifiers): baseline only.
PARTICIPANT_FORM = "participant"
REDCAP_RECORDS = "records.csv"

#: Metadata columns ODK Central and KoboToolbox add to a CSV export (Central: lib/data/briefcase.js;
#: Kobo: the kpi export with XML names). None is ever an item; ingest ignores columns no one asks for.
ODK_METADATA = [
    "SubmissionDate", "meta-instanceID", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
    "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion",
]  # fmt: skip
KOBO_METADATA = [
    "start", "end", "meta/instanceID", "_id", "_uuid", "_submission_time", "_validation_status", "_notes",
    "_status", "_submitted_by", "__version__", "_tags", "_index",
]  # fmt: skip
#: A participant id as typed by a field worker: letters, digits, - and _, at most 40.
ID_CONSTRAINT = "regex(., '^[A-Za-z0-9_-]{1,40}$')"
ID_CONSTRAINT_MESSAGE = "Letters, digits, - and _ only (at most 40), as on the participant's card"


@dataclass(frozen=True)
class WordingNote:
    """What was written for one instrument's items, and what the researcher must do."""

    instrument: str
    licence: str
    from_overlay: int
    placeholders: int
    todo: str

    def __str__(self) -> str:
        return f"{self.instrument} ({self.licence}): {self.todo}"


@dataclass
class Fielded:
    """Everything one format writes: ``tables`` (file name -> rows, header first), ``workbooks``
    (file name -> sheet -> rows), ``texts`` (file name -> text), and the notes to print."""

    tables: dict[str, list[list[str]]] = field(default_factory=dict)
    workbooks: dict[str, dict[str, list[list[str]]]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    wording: list[WordingNote] = field(default_factory=list)


def name_problems(names: list[tuple[str, str]]) -> list[str]:
    """Problems of the names fielded (``(name, what it is)``): the portable rule, then clashes ignoring case."""
    problems, seen = [], {}
    for name, what in names:
        if not NAME_RULE.match(name):
            problems.append(f"{what} '{name[:40]}' breaks the portable naming rule {NAME_RULE.pattern} (REDCap, XLSForm): rename it")
        key = name.casefold()
        if key in seen and seen[key] != what:
            problems.append(f"{what} '{name[:40]}' clashes with {seen[key]} (names must be unique ignoring case)")
        seen.setdefault(key, what)
    return problems


def naming_rule_breaks(instrument: Instrument) -> list[str]:
    """The instrument and item ids of one definition that break :data:`NAME_RULE`, each with the targets it would break."""
    found = []
    for what, name in [("instrument id", instrument.id)] + [("item id", item.id) for item in instrument.items]:
        if NAME_RULE.match(name):
            continue
        why = []
        if name != name.lower():
            why.append("REDCap (lower case only)")
        if len(name) > 26:
            why.append("REDCap (warns after 26 characters), Stata/SAS exports")
        why = why or ["REDCap, XLSForm"]
        found.append(f"{what} '{name}' breaks the portable naming rule {NAME_RULE.pattern}: it would break {', '.join(why)} if fielded")
    return found


def response_choices(instrument: Instrument) -> tuple[list[tuple[int, str]], str | None]:
    """The instrument's own codes with their anchor labels, and a note when some code has none
    (it is shown as its number: no anchor wording is ever invented)."""
    response = instrument.response
    labels = response.labels or {}
    stray = sorted(code for code in labels if not response.min <= code <= response.max)
    if stray:
        raise PipelineError(f"{instrument.id}: response.labels has code {stray[0]} outside the response range {response.min}-{response.max}")
    codes = list(range(response.min, response.max + 1))
    missing = [code for code in codes if code not in labels]
    note = None
    if missing:
        shown = ", ".join(map(str, missing[:8])) + (", ..." if len(missing) > 8 else "")
        note = f"{instrument.id}: no anchor label for response code {shown}; the form shows the number (add the published anchors to response.labels)"
    # The first letter capitalised for the form (definitions keep anchors in lower case); nothing else changes.
    return [(code, _capitalised(labels[code]) if code in labels else str(code)) for code in codes], note


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def item_wording(instrument: Instrument) -> tuple[dict[str, str], WordingNote]:
    """Each item's label as fielded, and the note of what was done for the instrument's licence."""
    restricted = instrument.license in RESTRICTED
    wording, overlay = {}, 0
    for item in instrument.items:
        if item.text:
            wording[item.id], overlay = item.text, overlay + 1
        elif restricted:
            wording[item.id] = f"{item.id} {PLACEHOLDER}"  # no text we do not have: not even the content label
        else:
            wording[item.id] = f"{item.label} {PLACEHOLDER}"
    missing = len(instrument.items) - overlay
    if not missing:
        todo = "licensed wording from the local overlay used for every item; do not share the fielded files outside the licence"
    elif restricted:
        todo = (
            f"{instrument.license}: item text NOT written for {missing} item(s) (only ids and placeholders); obtain the licence "
            f"from the publisher, then put the wording in instruments/local/{instrument.id}.yaml and field again, or type it into the form"
        )
    else:
        todo = f"{missing} item(s) carry a short label marked {PLACEHOLDER}: replace each with the published wording ({_short_citation(instrument)})"
    return wording, WordingNote(instrument.id, instrument.license, overlay, missing, todo)


def _short_citation(instrument: Instrument) -> str:
    """The citation's authors and year (up to its first "). "), else its first 80 characters."""
    head, found, _ = instrument.citation.partition("). ")
    return head + ")" if found and len(head) < 120 else instrument.citation[:80]


def _token(value: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_]{1,40}", value))


def study_fields(study: Study) -> list[dict]:
    """The study's own baseline fields after the id: consent, subgroups, group, identifiers.
    Each is ``{name, kind: text|choice, label, choices, identifier}``."""
    config, fields = study.config, []
    consent = config.data.consent
    if consent:
        accept = next((answer for answer in consent.accept if _token(answer)), None)
        if accept is None:
            raise PipelineError(f"data.consent.accept: no answer is a plain code (letters, digits, _) a form can store, e.g. accept: ['1']")
        refuse = "0" if accept != "0" else "no"
        fields.append({"name": consent.column, "kind": "choice", "label": "Consent to take part", "identifier": False,
                       "choices": [(accept, "I agree to take part"), (refuse, "I do not agree")]})  # fmt: skip
    for column in config.subgroups:
        fields.append({"name": column, "kind": "text", "label": column.replace("_", " ").capitalize(), "identifier": False, "choices": []})
    groups = study.groups
    if groups is not None:
        choices = []
        for role in ("program", "comparison"):
            for value in getattr(groups, role):
                if not _token(value):
                    raise PipelineError(f"groups.{role}: value {value[:30]!r} is not a plain code (letters, digits, _) a form can store; use e.g. [program]")
                choices.append((value, f"{groups.label(role)} ({value})"))
        fields.append({"name": groups.column, "kind": "choice", "label": "Group", "identifier": False, "choices": choices})
    for column in config.identifiers:
        if column not in {f["name"] for f in fields}:
            fields.append({"name": column, "kind": "text", "label": column.replace("_", " ").capitalize(), "identifier": True, "choices": []})
    return fields


def _check_names(study: Study, id_name: str, extra: list[tuple[str, str]] = ()) -> None:
    names = [(id_name, "the participant id")]
    names += [(f["name"], f"study field {f['name']}") for f in study_fields(study)]
    for instrument in study.instruments:
        names.append((instrument.id, f"instrument {instrument.id}"))
        names += [(item.id, f"item {item.id} of {instrument.id}") for item in instrument.items]
    names += list(extra)
    problems = name_problems(names)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PipelineError(f"{study.folder}: {problems[0]}{more}")
    if not study.instruments:
        raise PipelineError(f"{study.folder}: no instruments to field")


def _wordings(study: Study, fielded: Fielded) -> dict[str, dict[str, str]]:
    out = {}
    for instrument in study.instruments:
        out[instrument.id], note = item_wording(instrument)
        fielded.wording.append(note)
    return out


def returning_study_yaml(study: Study, id_column: str, waves: dict[str, dict], data: dict | None = None) -> str:
    """The ``study.yaml`` for the export that comes back: the study's own settings, its waves read from the export."""
    config = study.config.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
    config["id_column"] = id_column
    for wave, source in waves.items():
        original = study.config.waves[wave]
        if original.label:
            source["label"] = original.label
        if original.weeks is not None:
            source["weeks"] = original.weeks
    config["waves"] = waves
    if data:
        config["data"] = {**config.get("data", {}), **data}
    config.get("report", {}).pop("logo", None)  # a path inside the original study folder
    head = f"# Written by `impact field` for the export of {study.name}; save the export(s) beside this file, then: impact run <this folder>\n"
    return head + yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=120)


def redcap_event_name(wave: str) -> str:
    """The unique event name REDCap gives the event named ``wave`` in arm 1 (name cut at 18 characters, as REDCap does)."""
    return f"{wave[:18].rstrip('_')}_arm_1"


def build_redcap(study: Study) -> Fielded:
    """The REDCap data dictionary, events and instrument-event mapping of ``study``, and the study.yaml reading ``records.csv``."""
    fielded = Fielded()
    matrices = [(f"{i.id[:22]}_mtx", f"matrix group of {i.id}") for i in study.instruments]
    _check_names(study, REDCAP_RECORD_ID, [(PARTICIPANT_FORM, "the participant form"), *matrices])
    wordings = _wordings(study, fielded)
    blank = [""] * len(REDCAP_HEADERS)

    def row(**values) -> list[str]:
        out = list(blank)
        keys = ["name", "form", "section", "type", "label", "choices", "note", "validation", "vmin", "vmax",
                "identifier", "branching", "required", "alignment", "number", "matrix", "ranking", "annotation"]  # fmt: skip
        for key, value in values.items():
            out[keys.index(key)] = value
        return out

    rows = [REDCAP_HEADERS, row(name=REDCAP_RECORD_ID, form=PARTICIPANT_FORM, type="text", label="Participant ID")]
    for f in study_fields(study):
        if f["kind"] == "choice":
            choices = " | ".join(f"{code}, {label}" for code, label in f["choices"])
            rows.append(row(name=f["name"], form=PARTICIPANT_FORM, type="radio", label=f["label"], choices=choices, required="y"))
        else:
            rows.append(row(name=f["name"], form=PARTICIPANT_FORM, type="text", label=f["label"], identifier="y" if f["identifier"] else ""))
    for instrument, (matrix, _) in zip(study.instruments, matrices):
        choices, note = response_choices(instrument)
        if note:
            fielded.notes.append(note)
        text = " | ".join(f"{code}, {label}" for code, label in choices)
        for position, item in enumerate(instrument.items):
            section = instrument.name if position == 0 else ""
            rows.append(row(name=item.id, form=instrument.id, section=section, type="radio", label=wordings[instrument.id][item.id],
                            choices=text, matrix=matrix))  # fmt: skip
    fielded.tables["data-dictionary.csv"] = rows
    events = [REDCAP_EVENT_HEADERS] + [[wave, "1", redcap_event_name(wave), study.wave_label(wave)] for wave in study.wave_names]
    fielded.tables["events.csv"] = events
    mapping = [REDCAP_MAPPING_HEADERS, ["1", redcap_event_name(study.baseline), PARTICIPANT_FORM]]
    mapping += [["1", redcap_event_name(wave), instrument.id] for wave in study.wave_names for instrument in study.instruments]
    fielded.tables["instrument-event-mapping.csv"] = mapping
    waves = {
        wave: {"file": REDCAP_RECORDS, "format": "redcap", "event": redcap_event_name(wave), "dictionary": "data-dictionary.csv"}
        for wave in study.wave_names
    }
    fielded.texts["study.yaml"] = returning_study_yaml(study, REDCAP_RECORD_ID, waves)
    fielded.notes.append(
        f"REDCap: upload data-dictionary.csv (Project Setup > Data Dictionary), define the events from events.csv and the "
        f"mapping from instrument-event-mapping.csv, then export the records (CSV, raw) as {REDCAP_RECORDS} beside study.yaml"
    )
    return fielded


def build_xlsform(study: Study, version: str, required: bool = False) -> Fielded:
    """One XLSForm workbook per wave (``version``: the form version, e.g. ``2026120201``) and the study.yaml reading ``<wave>.csv``."""
    fielded = Fielded()
    id_name = study.id_column
    lists = [(f"{i.id[:21]}_resp", f"choice list of {i.id}") for i in study.instruments]
    intros = [(f"{i.id[:20]}_intro", f"heading note of {i.id}") for i in study.instruments]
    _check_names(study, id_name, [*lists, *intros])
    metadata = {name.casefold(): name for name in [*ODK_METADATA, *KOBO_METADATA]}
    fielded_names = [id_name, *(f["name"] for f in study_fields(study))] + [n for i in study.instruments for n in i.item_ids]
    for name in fielded_names:
        if name.casefold() in metadata:
            raise PipelineError(f"{name}: the same name as the column {metadata[name.casefold()]!r} ODK Central or KoboToolbox add to an export; rename it")
    wordings = _wordings(study, fielded)
    slug = re.sub(r"[^a-z0-9]+", "_", study.folder.resolve().name.lower()).strip("_") or "study"
    study_rows = study_fields(study)
    choice_rows: list[list[str]] = [["list_name", "name", "label"]]
    for f in study_rows:
        if f["kind"] == "choice":
            choice_rows += [[f"{f['name'][:21]}_opts", code, label] for code, label in f["choices"]]
    for instrument, (list_name, _) in zip(study.instruments, lists):
        choices, note = response_choices(instrument)
        if note:
            fielded.notes.append(note)
        choice_rows += [[list_name, str(code), label] for code, label in choices]
    yes = "yes" if required else ""
    for wave in study.wave_names:
        survey = [["type", "name", "label", "required", "constraint", "constraint_message", "appearance"]]
        survey.append(["text", id_name, "Participant ID", "yes", ID_CONSTRAINT, ID_CONSTRAINT_MESSAGE, ""])
        if wave == study.baseline:
            for f in study_rows:
                kind = f"select_one {f['name'][:21]}_opts" if f["kind"] == "choice" else "text"
                survey.append([kind, f["name"], f["label"], "yes" if f["kind"] == "choice" else "", "", "", ""])
        for instrument, (list_name, _) in zip(study.instruments, lists):
            survey.append(["note", f"{instrument.id[:20]}_intro", instrument.name, "", "", "", ""])
            for item in instrument.items:
                survey.append([f"select_one {list_name}", item.id, wordings[instrument.id][item.id], yes, "", "", "likert"])
        settings = [["form_title", "form_id", "version"], [f"{study.name} - {study.wave_label(wave)}"[:80], f"{slug}_{wave}", version]]
        fielded.workbooks[f"{wave}.xlsx"] = {"survey": survey, "choices": choice_rows, "settings": settings}
    waves = {wave: {"file": f"{wave}.csv", "format": "odk"} for wave in study.wave_names}
    fielded.texts["study.yaml"] = returning_study_yaml(study, id_name, waves)
    fielded.notes.append(
        "ODK Central / KoboToolbox: upload each <wave>.xlsx as its own form; export the submissions as CSV with XML names "
        "(Kobo: 'XML values and headers'), save each as <wave>.csv beside study.yaml"
    )
    return fielded
