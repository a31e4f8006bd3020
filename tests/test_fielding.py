"""`impact field`: the REDCap dictionary passes REDCap's published rules, the XLSForm converts with
pyxform cleanly, and the export each tool gives back scores exactly like the plain-CSV demo."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.errors import PipelineError
from pipeline.fielding import NAME_RULE, PLACEHOLDER, REDCAP_HEADERS, build_redcap, build_xlsform, naming_rule_breaks
from pipeline.instruments import find_instrument, load_instrument
from pipeline.run import run_study, write_outputs
from pipeline.simulate import simulate_study, write_demo_study
from pipeline.study import load_study

from .conftest import DEMO, LIBRARY, output_text

PARTICIPANTS = 40
SEED = 5


def read_csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


# --- a REDCap data dictionary checker, from REDCap's published rules (research notes §3.1) ---------

FIELD_TYPES = {"text", "notes", "dropdown", "radio", "checkbox", "calc", "file", "descriptive", "slider", "yesno", "truefalse"}
REDCAP_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def redcap_dictionary_problems(rows: list[list[str]]) -> list[str]:
    """Every way ``rows`` (header first) breaks the rules REDCap applies on upload (and its 26-character warning)."""
    problems = []
    if rows[0] != REDCAP_HEADERS:
        return [f"headers are {rows[0]}"]
    col = {name: index for index, name in enumerate(REDCAP_HEADERS)}
    body = rows[1:]
    if not body or body[0][col["Field Type"]] != "text":
        problems.append("row 2 is not the record id (a text field)")
    names, forms_seen, matrices_seen = set(), [], {}
    previous_matrix, previous_choices = "", None
    for number, row in enumerate(body, start=2):
        if len(row) != 18:
            problems.append(f"row {number}: {len(row)} cells")
            continue
        name, form, kind, label = row[col["Variable / Field Name"]], row[col["Form Name"]], row[col["Field Type"]], row[col["Field Label"]]
        choices, matrix = row[col["Choices, Calculations, OR Slider Labels"]], row[col["Matrix Group Name"]]
        for what, value in (("field", name), ("form", form)):
            if not REDCAP_NAME.match(value) or len(value) < 2 or len(value) > 100:
                problems.append(f"row {number}: {what} name {value!r}")
            if len(value) > 26:
                problems.append(f"row {number}: {what} name {value!r} longer than 26 (REDCap warns)")
        if name in names:
            problems.append(f"row {number}: duplicate field {name}")
        names.add(name)
        if name.endswith("_complete") and name.removesuffix("_complete") in {r[1] for r in body}:
            problems.append(f"row {number}: {name} is created by REDCap")
        if not forms_seen or forms_seen[-1] != form:
            if form in forms_seen:
                problems.append(f"row {number}: form {form} is not contiguous")
            forms_seen.append(form)
        if kind not in FIELD_TYPES:
            problems.append(f"row {number}: field type {kind!r}")
        if not label:
            problems.append(f"row {number}: no field label")
        if kind in ("dropdown", "radio", "checkbox"):
            if not choices:
                problems.append(f"row {number}: {kind} without choices")
            codes = []
            for choice in choices.split(" | "):
                code, comma, text = choice.partition(", ")
                if not comma or not text.strip() or not re.fullmatch(r"-?[A-Za-z0-9_.]+", code):
                    problems.append(f"row {number}: choice {choice!r}")
                codes.append(code)
            if len(codes) != len(set(codes)):
                problems.append(f"row {number}: repeated choice codes")
        elif choices and kind not in ("calc", "slider"):
            problems.append(f"row {number}: choices on a {kind} field")
        for flag in ("Identifier?", "Required Field?", "Matrix Ranking?"):
            if row[col[flag]] not in ("", "y"):
                problems.append(f"row {number}: {flag} {row[col[flag]]!r}")
        if row[col["Custom Alignment"]] not in ("", "RV", "RH", "LV", "LH"):
            problems.append(f"row {number}: alignment")
        if (row[col["Text Validation Min"]] or row[col["Text Validation Max"]]) and not row[col["Text Validation Type OR Show Slider Number"]]:
            problems.append(f"row {number}: min/max without validation")
        if matrix:
            if kind not in ("radio", "checkbox"):
                problems.append(f"row {number}: a {kind} field in matrix {matrix}")
            if not REDCAP_NAME.match(matrix) or len(matrix) > 26:
                problems.append(f"row {number}: matrix name {matrix!r}")
            if matrix == previous_matrix and choices != previous_choices:
                problems.append(f"row {number}: matrix {matrix} with different choices")
            if matrix != previous_matrix and matrix in matrices_seen:
                problems.append(f"row {number}: matrix {matrix} not consecutive")
            if row[col["Matrix Ranking?"]] == "y" and kind != "radio":
                problems.append(f"row {number}: ranking on a checkbox matrix")
            matrices_seen[matrix] = form
        elif row[col["Matrix Ranking?"]]:
            problems.append(f"row {number}: ranking outside a matrix")
        previous_matrix, previous_choices = matrix, choices
    return problems


@pytest.fixture(scope="module")
def demo():
    return load_study(DEMO)


@pytest.fixture(scope="module")
def fielded_redcap(tmp_path_factory):
    out = tmp_path_factory.mktemp("field") / "redcap"
    assert main(["field", str(DEMO), "--format", "redcap", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def fielded_xlsform(tmp_path_factory):
    out = tmp_path_factory.mktemp("field") / "xlsform"
    assert main(["field", str(DEMO), "--format", "xlsform", "--out", str(out)]) == 0
    return out


def test_the_redcap_dictionary_passes_redcaps_rules(fielded_redcap, demo):
    rows = read_csv_rows(fielded_redcap / "data-dictionary.csv")
    assert redcap_dictionary_problems(rows) == []
    assert rows[1][:4] == ["record_id", "participant", "", "text"]
    forms = list(dict.fromkeys(row[1] for row in rows[1:]))
    assert forms == ["participant", *(i.id for i in demo.instruments)]
    item = next(row for row in rows if row[0] == "swls_1")
    assert item[3] == "radio" and item[5].startswith("1, Strongly disagree | 2, ") and item[15] == "swls_mtx"
    assert not any(row[0].endswith("_complete") for row in rows)


def test_the_checker_catches_what_redcap_refuses(fielded_redcap):
    rows = read_csv_rows(fielded_redcap / "data-dictionary.csv")
    broken = [list(row) for row in rows]
    broken[3][0] = "Shs_1"  # upper case
    broken[4][5] = "1, a | 1, b"  # repeated code
    broken[5][3] = "likert"  # no such field type
    broken.append(["shs_complete", "shs", "", "radio", "Complete?", "0, Incomplete | 1, Unverified | 2, Complete", *[""] * 12])
    problems = redcap_dictionary_problems(broken)
    assert len(problems) >= 4, problems


def test_events_and_mapping_are_in_redcaps_import_format(fielded_redcap, demo):
    events = read_csv_rows(fielded_redcap / "events.csv")
    assert events[0] == ["event_name", "arm_num", "unique_event_name", "custom_event_label"]
    assert [row[2] for row in events[1:]] == ["pre_arm_1", "post_arm_1"]
    mapping = read_csv_rows(fielded_redcap / "instrument-event-mapping.csv")
    assert mapping[0] == ["arm_num", "unique_event_name", "form"]
    forms = {row[1] for row in read_csv_rows(fielded_redcap / "data-dictionary.csv")[1:]}
    assert {row[2] for row in mapping[1:]} == forms
    assert ["1", "post_arm_1", "participant"] not in mapping  # the study's own fields: baseline only


def test_the_xlsform_converts_with_pyxform_without_errors_or_warnings(fielded_xlsform, demo):
    from pyxform.xls2xform import convert

    for wave in demo.wave_names:
        result = convert(xlsform=str(fielded_xlsform / f"{wave}.xlsx"))
        assert result.warnings == [], result.warnings
        assert f'id="demo_pilot_{wave}"' in result.xform and 'version="' in result.xform
        assert "<group" not in result.xform  # flat: exports keep plain names


def test_the_xlsform_has_select_one_lists_from_the_anchors_and_an_id_constraint(fielded_xlsform):
    from openpyxl import load_workbook

    book = load_workbook(fielded_xlsform / "pre.xlsx")
    assert book.sheetnames == ["survey", "choices", "settings"]
    survey = list(book["survey"].values)
    assert survey[1][:2] == ("text", "participant_id") and survey[1][4].startswith("regex(")
    assert ("select_one swls_resp", "swls_1") == survey[[row[1] for row in survey].index("swls_1")][:2]
    choices = [row for row in book["choices"].values if row[0] == "swls_resp"]
    assert choices[0][1:] == ("1", "Strongly disagree") and len(choices) == 7
    assert "cohort" in [row[1] for row in survey]
    assert "cohort" not in [row[1] for row in load_workbook(fielded_xlsform / "post.xlsx")["survey"].values]


def test_wording_is_the_label_marked_or_nothing_for_restricted_instruments(demo, capsys):
    fielded = build_redcap(demo)
    rows = fielded.tables["data-dictionary.csv"]
    swls = next(row for row in rows if row[0] == "swls_1")
    assert swls[4].endswith(PLACEHOLDER) and len(swls[4]) > len(PLACEHOLDER) + 1
    cdse = next(i for i in demo.instruments if i.id == "cdse_sf")
    row = next(row for row in rows if row[0] == cdse.items[0].id)
    assert row[4] == f"{cdse.items[0].id} {PLACEHOLDER}" and cdse.items[0].label not in row[4]
    note = next(n for n in fielded.wording if n.instrument == "cdse_sf")
    assert "NOT written" in str(note) and note.licence == "commercial"


def test_overlay_wording_is_used_where_a_licensed_user_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPACT_LOCAL_INSTRUMENTS", str(tmp_path / "local"))
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "swls.yaml").write_text("extends: swls\nitems:\n  - {id: swls_1, text: 'Licensed wording one.'}\n")
    study = load_study(DEMO)
    rows = build_redcap(study).tables["data-dictionary.csv"]
    assert next(row for row in rows if row[0] == "swls_1")[4] == "Licensed wording one."
    assert next(row for row in rows if row[0] == "swls_2")[4].endswith(PLACEHOLDER)


# --- round trips: the export each tool gives back scores like the plain CSV demo --------------------


def scores_of(run) -> pd.DataFrame:
    scores = run.scores.rename(columns={run.study.id_column: "id"})
    return scores.sort_values(["id", "wave"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def csv_scores(tmp_path_factory):
    folder = write_demo_study(tmp_path_factory.mktemp("csv") / "study", participants=PARTICIPANTS, seed=SEED)
    return scores_of(run_study(load_study(folder)))


def redcap_records(fielded: Path, waves: list[pd.DataFrame]) -> pd.DataFrame:
    """The records export REDCap gives for the fielded project (CSV, raw): record_id, redcap_event_name, each
    form's fields in dictionary order then ``<form>_complete``; a form not in an event is blank there."""
    dictionary = read_csv_rows(fielded / "data-dictionary.csv")[1:]
    events = [row[2] for row in read_csv_rows(fielded / "events.csv")[1:]]
    mapped = {(row[1], row[2]) for row in read_csv_rows(fielded / "instrument-event-mapping.csv")[1:]}
    forms = list(dict.fromkeys(row[1] for row in dictionary))
    parts = []
    for event, frame in zip(events, waves):
        frame = frame.rename(columns={"participant_id": "record_id"}).astype(str).replace({"<NA>": ""})
        part = pd.DataFrame({"record_id": frame["record_id"], "redcap_event_name": event})
        for form in forms:
            for name in (row[0] for row in dictionary if row[1] == form and row[0] != "record_id"):
                part[name] = frame[name] if (event, form) in mapped else ""
            part[f"{form}_complete"] = "2" if (event, form) in mapped else ""
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def test_round_trip_redcap_scores_like_the_csv_demo(fielded_redcap, csv_scores, tmp_path, demo):
    folder = tmp_path / "export"
    shutil.copytree(fielded_redcap, folder)
    waves = simulate_study(list(demo.instruments), participants=PARTICIPANTS, seed=SEED)
    redcap_records(folder, list(waves)).to_csv(folder / "records.csv", index=False)
    run = run_study(load_study(folder))
    pd.testing.assert_frame_equal(scores_of(run), csv_scores)
    assert all(set(w.exclusions["reason"]) == {"other_event"} for w in run.waves)


@pytest.mark.parametrize("tool", ["odk", "kobo"])
def test_round_trip_xlsform_scores_like_the_csv_demo(tool, fielded_xlsform, csv_scores, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(fielded_xlsform, folder)
    write_demo_study(tmp_path / "odk", participants=PARTICIPANTS, seed=SEED, export_format="odk")
    for wave in ("pre", "post"):
        export = pd.read_csv(tmp_path / "odk" / f"{wave}.csv", dtype=str, keep_default_na=False)
        assert {"SubmissionDate", "meta-instanceID", "KEY", "ReviewState", "FormVersion"} <= set(export.columns)
        if tool == "kobo":  # KoboToolbox's CSV with XML names: its own metadata columns instead
            fields = export.drop(columns=[c for c in export.columns if c[0].isupper() or c == "meta-instanceID"])
            kobo = {"start": "2026-01-05T09:00:00.000+00:00", "end": "2026-01-05T09:20:00.000+00:00"}
            export = pd.concat([pd.DataFrame(kobo, index=fields.index), fields], axis=1)
            for column in ["meta/instanceID", "_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
                           "_submitted_by", "__version__", "_tags", "_index"]:  # fmt: skip
                export[column] = "x"
            export["_submitted_by"] = "ana.example@example.org"
            rejected = pd.read_csv(tmp_path / "odk" / f"{wave}.csv", dtype=str, keep_default_na=False)["ReviewState"] == "rejected"
            export["_validation_status"] = rejected.map({True: "validation_status_not_approved", False: "validation_status_approved"})
        else:
            export["SubmitterName"] = "Ana Example-Submitter"
        export.to_csv(folder / f"{wave}.csv", index=False)
    run = run_study(load_study(folder))
    pd.testing.assert_frame_equal(scores_of(run), csv_scores)
    assert [w.exclusions["reason"].tolist() for w in run.waves] == [["rejected"], ["rejected"]]
    # The tools' metadata are never items and never reach an output (a submitter's name or address identifies a person).
    text = output_text(write_outputs(run, tmp_path / "out", pdf=False))
    assert "Ana Example" not in text and "ana.example" not in text and "SubmissionDate" not in text


# --- names and bad input ----------------------------------------------------------------------------


def test_every_library_id_follows_the_portable_rule_or_is_reported():
    from pipeline.instruments import library_instruments

    for instrument in library_instruments(LIBRARY):
        for name in [instrument.id, *instrument.item_ids]:
            assert bool(NAME_RULE.match(name)) == all(name not in line for line in naming_rule_breaks(instrument))


def test_a_clash_after_the_naming_rule_is_one_line(tmp_path):
    folder = tmp_path / "study"
    shutil.copytree(DEMO, folder)
    text = (folder / "study.yaml").read_text().replace("subgroups: [cohort]", "subgroups: [SHS_1]")
    (folder / "study.yaml").write_text(text)
    study = load_study(folder)
    with pytest.raises(PipelineError, match="SHS_1") as caught:
        build_xlsform(study, version="2026010101")
    assert "\n" not in str(caught.value)


def test_field_refuses_the_study_folder_and_foreign_files(tmp_path, capsys):
    folder = tmp_path / "study"
    shutil.copytree(DEMO, folder)
    assert main(["field", str(folder), "--format", "redcap", "--out", str(folder / "fielding")]) == 2
    assert "study folder" in capsys.readouterr().err
    out = tmp_path / "out"
    assert main(["field", str(folder), "--format", "redcap", "--out", str(out)]) == 0
    assert main(["field", str(folder), "--format", "redcap", "--out", str(out)]) == 0  # its own files: replaced
    (out / "records.csv").write_text("record_id\n")
    assert main(["field", str(folder), "--format", "redcap", "--out", str(out)]) == 2
    assert "records.csv" in capsys.readouterr().err


def test_instruments_check_reports_ids_that_break_the_naming_rule(tmp_path):
    from pipeline.instrument_check import check_files, files_to_check

    text = (LIBRARY / "swls.yaml").read_text().replace("id: swls\n", "id: Swls_long_name_of_thirty_chars\n", 1).replace("swls_", "Swls_")
    (tmp_path / "Swls_long_name_of_thirty_chars.yaml").write_text(text)
    findings, loaded = check_files(files_to_check([tmp_path]))
    lines = [str(f) for f in findings]
    assert any("instrument id 'Swls_long_name_of_thirty_chars'" in line and "26 characters" in line for line in lines), lines
    assert any("item id 'Swls_1'" in line and "REDCap (lower case only)" in line for line in lines)
    assert any("'Swls_1' clashes with 'swls_1'" in line for line in lines)
    assert all(f.severity == "warning" for f in findings)
    library, _ = check_files(files_to_check([]), strict=True)
    assert library == []


def test_a_run_keeps_the_fielding_folder_of_its_output_folder(tmp_path, capsys):
    out = tmp_path / "reports" / "demo-pilot"
    assert main(["field", str(DEMO), "--format", "xlsform", "--out", str(out / "fielding" / "xlsform")]) == 0
    for _ in range(2):  # into a folder holding only the fielding, then over a previous run
        assert main(["run", str(DEMO), "--out", str(out), "--no-pdf"]) == 0
        assert (out / "fielding" / "xlsform" / "pre.xlsx").is_file() and (out / "results.csv").is_file()


def test_the_study_codebook_lists_the_fielded_instruments_with_what_to_do(tmp_path, capsys, demo):
    out = tmp_path / "codebook"
    assert main(["instruments", "catalogue", "--study", str(DEMO), "--out", str(out), "--no-pdf"]) == 0
    html = (out / "instrument-catalogue.html").read_text(encoding="utf-8")
    assert "Demo pilot (simulated data): the instruments fielded" in html
    assert html.count("<dt>Fielding</dt>") == len(demo.instruments)
    assert "item text NOT written" in html  # cdse_sf is commercial
    assert main(["instruments", "catalogue", "--study", str(DEMO), "--out", str(DEMO / "codebook"), "--no-pdf"]) == 2


def test_a_two_group_study_with_consent_and_identifiers_fields_them_at_baseline(tmp_path):
    from pyxform.xls2xform import convert

    folder = tmp_path / "trial"
    shutil.copytree(DEMO.parent / "demo-trial", folder)
    text = (folder / "study.yaml").read_text()
    text += "identifiers: [contact_email]\ndata:\n  consent: {column: consent}\n"
    (folder / "study.yaml").write_text(text)
    study = load_study(folder)
    rows = build_redcap(study).tables["data-dictionary.csv"]
    assert redcap_dictionary_problems(rows) == []
    fields = {row[0]: row for row in rows[1:] if row[1] == "participant"}
    assert fields["consent"][3] == "radio" and fields["consent"][5].startswith("1, I agree")
    assert fields["arm"][3] == "radio" and "program, " in fields["arm"][5] and "waitlist, " in fields["arm"][5]
    assert fields["contact_email"][10] == "y"
    out = tmp_path / "xlsform"
    assert main(["field", str(folder), "--format", "xlsform", "--out", str(out)]) == 0
    assert convert(xlsform=str(out / "pre.xlsx")).warnings == []
    returning = (out / "study.yaml").read_text()
    assert "groups:" in returning and "consent:" in returning


def test_a_response_code_without_an_anchor_is_named_in_one_line(demo):
    from pipeline.fielding import response_choices

    shs = next(i for i in demo.instruments if i.id == "shs")
    choices, note = response_choices(shs)
    assert [code for code, _ in choices] == list(range(1, 8)) and choices[0] == (1, "1")
    assert note.startswith("shs: no anchor label for response code 1, 2") and "\n" not in note


def test_a_field_named_like_a_tools_metadata_column_is_refused(tmp_path):
    folder = tmp_path / "study"
    shutil.copytree(DEMO, folder)
    (folder / "study.yaml").write_text((folder / "study.yaml").read_text().replace("subgroups: [cohort]", "subgroups: [start]"))
    with pytest.raises(PipelineError, match="'start' ODK Central or KoboToolbox add"):
        build_xlsform(load_study(folder), version="2026010101")
