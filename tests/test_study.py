"""Study files: the minimal study.yaml works as written; lookups and clashes are checked."""

from __future__ import annotations

import shutil

import pytest

from pipeline.errors import PipelineError
from pipeline.study import load_study

from .conftest import LIBRARY


def test_minimal_study_loads(minimal_study):
    study = load_study(minimal_study)
    assert study.name == "Minimal example"
    assert study.wave_files == {"pre": minimal_study / "pre.csv", "post": minimal_study / "post.csv"}
    assert [i.id for i in study.instruments] == ["tiny"]
    assert study.config.analysis.correction == "holm" and study.config.analysis.alpha == 0.05


def test_study_instruments_folder_comes_before_the_library(minimal_study):
    shutil.copy(LIBRARY / "brs.yaml", minimal_study / "instruments" / "brs.yaml")
    text = (minimal_study / "instruments" / "brs.yaml").read_text().replace("name: Brief Resilience Scale", "name: Local BRS copy")
    (minimal_study / "instruments" / "brs.yaml").write_text(text)
    (minimal_study / "study.yaml").write_text((minimal_study / "study.yaml").read_text().replace("[tiny]", "[tiny, brs, phq9]"))
    study = load_study(minimal_study, library_dir=LIBRARY)
    assert [i.name for i in study.instruments][1] == "Local BRS copy"
    assert study.instrument_files[2] == LIBRARY / "phq9.yaml"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[tiny]", "[tiny, nosuch]", "instrument 'nosuch' not found (looked for nosuch.yaml in:"),
        ("[tiny]", "[tiny, tiny]", "instruments: listed twice: tiny"),
        ("  post: post.csv\n", "", "waves: a study has 2 to 12 waves in time order (the first is the baseline); found 1"),
        ("  post: post.csv", "  Later: post.csv", "waves: wave name 'Later' must be lower-case letters, digits and _"),
        ("  post: post.csv", "  post: post.csv\n  post: post.csv", "key 'post' appears twice"),
        ("  post: post.csv", "  post: post.csv\nanalysis: {primary: followup}", "analysis.primary: 'followup' is not a wave of this study; name one of the later waves: post"),
        ("  post: post.csv", "  post: post.csv\nanalysis: {primary: pre}", "analysis.primary: 'pre' is the baseline (the first wave)"),
        ("waves:\n  pre: pre.csv\n  post: post.csv", "waves: [pre.csv, post.csv]", "waves: waves must be a mapping in time order"),
        ("  pre: pre.csv", "  pre: {file: pre.csv, weeks: 4}", "waves: weeks is given for some waves only"),
        ("  pre: pre.csv\n  post: post.csv", "  pre: {file: pre.csv, weeks: 4}\n  post: {file: post.csv, weeks: 2}", "waves: weeks must increase"),
        ("  pre: pre.csv\n  post: post.csv", "  pre: {file: pre.csv, label: Start}\n  post: {file: post.csv, label: Start}", "waves: two waves have the same label"),
        ("id_column: participant_id", "id_column: tiny_1", "id_column: 'tiny_1' clashes with an item or scale id"),
        ("  pre: pre.csv", "  pre: 5", "waves.pre must be a file path or a mapping such as {file: pre.csv, format: csv}"),
        ("  pre: pre.csv", "  pre: {file: pre.csv, colums: {}}", "waves.pre.colums: unknown field"),
        ("name: Minimal example\n", "", "name: required field is missing"),
        ("name: Minimal example", "name: Minimal example\nfunder: someone", "funder: unknown field"),
    ],
)
def test_broken_study_files_give_one_clear_line(minimal_study, old, new, message):
    path = minimal_study / "study.yaml"
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(PipelineError) as error:
        load_study(minimal_study)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_two_instruments_may_not_define_the_same_column(minimal_study):
    clone = (minimal_study / "instruments" / "tiny.yaml").read_text().replace("id: tiny\n", "id: tiny2\n")
    (minimal_study / "instruments" / "tiny2.yaml").write_text(clone)
    (minimal_study / "study.yaml").write_text((minimal_study / "study.yaml").read_text().replace("[tiny]", "[tiny, tiny2]"))
    with pytest.raises(PipelineError, match="'tiny_1' is defined by both tiny and tiny2"):
        load_study(minimal_study)


def test_folder_without_study_file(tmp_path):
    with pytest.raises(PipelineError, match=r"study.yaml: file not found; a study folder needs a study.yaml"):
        load_study(tmp_path)


def test_secondary_scales_are_scored_but_analysed_only_when_asked(tmp_path):
    from .conftest import DEMO

    study = load_study(DEMO)
    analysed = [scale.id for _, scale in study.scales]
    assert len(analysed) == 20 and "spane_b" not in analysed
    folder = tmp_path / "demo"
    shutil.copytree(DEMO, folder)
    text = (folder / "study.yaml").read_text().replace("correction: holm", "correction: holm\n  include_secondary: true")
    (folder / "study.yaml").write_text(text)
    wider = [scale.id for _, scale in load_study(folder).scales]
    assert {"spane_b", "ahs_agency", "mspss_family", "lot_r_pessimism", "bcs_search"} <= set(wider)
    assert len(wider) == 29


def test_waves_are_an_ordered_mapping_of_roles(minimal_study):
    """Waves come in the order study.yaml lists them: the first is the baseline, the primary
    endpoint is the second unless analysis.primary names another, and labels default to names."""
    path = minimal_study / "study.yaml"
    text = path.read_text().replace(
        "  pre: pre.csv\n  post: post.csv\n",
        "  intake: pre.csv\n  exit: {file: post.csv, label: End of program, weeks: 12}\n  later: {file: post.csv, weeks: 38}\n",
    )
    path.write_text(text.replace("  intake: pre.csv", "  intake: {file: pre.csv, weeks: 0}"))
    study = load_study(minimal_study)
    assert study.wave_names == ("intake", "exit", "later")
    assert (study.baseline, study.primary, study.later_waves) == ("intake", "exit", ("exit", "later"))
    assert [study.wave_label(wave) for wave in study.wave_names] == ["intake", "End of program", "later"]
    path.write_text(path.read_text() + "analysis: {primary: later}\n")
    assert load_study(minimal_study).primary == "later"


def test_twelve_waves_at_most(minimal_study):
    path = minimal_study / "study.yaml"
    waves = "".join(f"  w{i}: pre.csv\n" for i in range(13))
    path.write_text(path.read_text().replace("  pre: pre.csv\n  post: post.csv\n", waves))
    with pytest.raises(PipelineError, match="a study has 2 to 12 waves in time order .*found 13"):
        load_study(minimal_study)


GROUPS = "groups: {column: arm, program: [program], comparison: [waitlist], assignment: randomised}\n"


def with_groups(study_folder, groups: str = GROUPS, extra: str = ""):
    path = study_folder / "study.yaml"
    path.write_text(path.read_text() + extra + groups)
    return load_study(study_folder)


def test_groups_name_the_two_groups_with_case_and_spaces_ignored(minimal_study):
    from pipeline.study import GROUP_ROLES, normalise_group_value

    assert with_groups(minimal_study, "").groups is None
    groups = with_groups(minimal_study).groups
    assert GROUP_ROLES == ("program", "comparison")
    assert (groups.column, groups.program, groups.comparison, groups.assignment) == ("arm", ["program"], ["waitlist"], "randomised")
    assert groups.attrition_boundary == "cautious"
    assert [groups.role_of(v) for v in [" Program ", "PROGRAM", "Wait list", "waitlist\t", "control", "", "  "]] == [
        "program", "program", "comparison", "comparison", None, None, None,
    ]
    assert normalise_group_value(" Wait\u00a0List ") == "waitlist"
    assert (groups.label("program"), groups.label("comparison")) == ("Program group", "Comparison group")


def test_group_labels_whole_number_values_and_the_liberal_boundary(minimal_study):
    groups = with_groups(
        minimal_study,
        "groups:\n  column: arm\n  program: [1, Programme]\n  comparison: [2]\n  assignment: not-randomised\n"
        "  labels: {program: Purpose Pathways}\n  attrition_boundary: liberal\n",
    ).groups
    assert groups.program == ["1", "Programme"] and groups.role_of("2") == "comparison" and groups.role_of(" programme") == "program"
    assert (groups.label("program"), groups.label("comparison")) == ("Purpose Pathways", "Comparison group")
    assert (groups.assignment, groups.attrition_boundary) == ("not-randomised", "liberal")


@pytest.mark.parametrize(
    ("groups", "extra", "message"),
    [
        ("groups: arm\n", "", "groups: groups is a mapping, e.g. groups: {column: arm, program: [program], comparison: [waitlist], assignment: randomised}"),
        ("groups: {column: arm, program: [Program], comparison: [' PROGRAM', waitlist], assignment: randomised}\n", "",
         "groups: ' PROGRAM' is in both groups.program and groups.comparison (case and spaces ignored)"),
        ("groups: {column: arm, program: [program], comparison: [waitlist], assignment: randomised, colour: red}\n", "", "groups.colour: unknown field"),
        ("groups: {column: arm, program: [a], comparison: [b], assignment: randomised, labels: {program: P, waitlist: W}}\n", "",
         "groups.labels.waitlist: unknown field"),
        ("groups: {column: arm, program: [a], comparison: [b]}\n", "", "groups.assignment: required field is missing"),
        ("groups: {column: arm, program: [a], comparison: [b], assignment: random}\n", "", "groups.assignment: input should be 'randomised' or 'not-randomised'"),
        ("groups: {column: arm, program: [a], comparison: [b], assignment: randomised, attrition_boundary: strict}\n", "",
         "groups.attrition_boundary: input should be 'cautious' or 'liberal'"),
        ("groups: {column: arm, program: program, comparison: [b], assignment: randomised}\n", "", "groups.program: must be a list of values, e.g. program: [program]"),
        ("groups: {column: arm, program: [], comparison: [b], assignment: randomised}\n", "", "groups.program: must list at least one value, e.g. program: [program]"),
        ("groups: {column: arm, program: [a], comparison: ['  '], assignment: randomised}\n", "", "groups.comparison: a value is blank"),
        ("groups: {column: arm, program: [a], comparison: [no], assignment: randomised}\n", "", "groups.comparison: a value YAML reads as true/false"),
        ("groups: {column: participant_id, program: [a], comparison: [b], assignment: randomised}\n", "", "groups.column: 'participant_id' is the id_column"),
        ("groups: {column: tiny_2, program: [a], comparison: [b], assignment: randomised}\n", "", "groups.column: 'tiny_2' is an item id of instrument tiny"),
        ("groups: {column: tiny_score, program: [a], comparison: [b], assignment: randomised}\n", "", "groups.column: 'tiny_score' is a scale id of instrument tiny"),
        ("groups: {column: T1_tiny_1, program: [a], comparison: [b], assignment: randomised}\n", "",
         "groups.column: 'T1_tiny_1' is the baseline export's column of item tiny_1 (waves.pre)"),
        ("groups: {column: cohort, program: [a], comparison: [b], assignment: randomised}\n", "subgroups: [cohort]\n",
         "groups.column: 'cohort' is also in subgroups"),
        ("groups: {column: Email, program: [a], comparison: [b], assignment: randomised}\n", "", "groups.column: 'Email' is a column of personal data"),
        ("groups: {column: arm, program: [a], comparison: [b], assignment: randomised}\n", "identifiers: [arm]\n",
         "groups.column: 'arm' is listed under identifiers: identifying columns never leave validation; remove it from identifiers"),
    ],
)
def test_broken_groups_give_one_clear_line(minimal_study, groups, extra, message):
    if "T1_tiny_1" in groups:
        path = minimal_study / "study.yaml"
        path.write_text(path.read_text().replace("  pre: pre.csv", "  pre: {file: pre.csv, column_pattern: 'T1_{item}'}"))
    with pytest.raises(PipelineError) as error:
        with_groups(minimal_study, groups, extra)
    assert message in str(error.value)
    assert "\n" not in str(error.value) and len(str(error.value)) < 300


def test_a_wave_named_like_another_waves_group_is_refused_in_a_two_group_study(minimal_study):
    path = minimal_study / "study.yaml"
    path.write_text(path.read_text().replace("  post: post.csv\n", "  post: post.csv\n  post_program: post.csv\n"))
    load_study(minimal_study)  # fine without groups
    with pytest.raises(PipelineError, match="waves: 'post_program' reads as wave post's program group in the participant flow"):
        with_groups(minimal_study)
