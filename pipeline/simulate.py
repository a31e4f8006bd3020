"""Simulated pre/post (and follow-up) survey data for the demo studies, tests and benchmarks (seeded, any size).

The model, per participant and scale (all on a latent standard-normal scale, "better" = up):

* baseline trait: ``eta_pre = 0.5 g + sqrt(0.75) u`` with a shared wellbeing factor ``g``, so
  scales correlate as real batteries do (distress scales negatively, through their direction);
* post, the end of the program: ``eta_post = r eta_pre + sqrt(1 - r^2) v + delta``, with stability ``r = 0.8`` and a
  planted standardized change ``delta`` (0 for the null scales) in the direction of improvement;
* items: ``y*_j = lambda eta + sqrt(1 - lambda^2) e_j``, with the inter-item correlation
  ``lambda^2`` chosen so that the scale's Cronbach alpha is about 0.82 (Spearman-Brown), then cut
  into the instrument's response categories; reverse-keyed items are stored reversed;
* non-completion at post is a little more likely for participants with low baseline
  wellbeing (missing at random given baseline), and about 1% of item answers are left blank;
* the baseline export also holds each participant's ``cohort`` (``COHORTS``, drawn with
  ``COHORT_SHARES``, unrelated to the answers), the demo study's ``subgroups:`` column. It comes
  from its own random stream (a ``SeedSequence`` child of the seed), so adding it changed no answer;
* waves after post (``waves=3..12``: ``followup`` or ``followup_1, followup_2, ...``, 6 months apart)
  continue the same chain, ``eta_t = r (eta_{t-1} - delta_{t-1}) + sqrt(1 - r^2) w + delta_t``: 8 of the
  12 planted changes are kept (``delta_t = delta``) and the 4 of ``FADES_BY_FOLLOW_UP`` are back at
  baseline (``delta_t = 0``). Fewer answer each follow-up (``LATER_RESPONSE_RATE``, then
  ``LATER_RESPONSE_DECAY`` per wave), a little more likely with higher baseline wellbeing and after
  answering the wave before, so some who skipped post answer again. They come from their own stream
  (child ``FOLLOW_UP_STREAM``): the first two waves are the same whatever ``waves`` is.

The waitlist-controlled trial (:func:`simulate_trial`, ``impact demo --groups``; default ``TRIAL_PARTICIPANTS``
= 300 enrolled and ``TRIAL_WAVES`` = 3 waves) uses the same latent model, traits and items, with its own planted
changes and its own random stream (child ``TRIAL_STREAM``: arms, answers and who answers), so the demos above
are unchanged:

* randomised 1:1 (a random permutation of equal halves) to ``program`` or ``waitlist``, written in the baseline
  export's ``arm`` column (after ``cohort``, drawn as above); ``ODD_SPELLING_RATE`` of the rows spell it with
  other case or spaces (``"Program "``, ``"WAITLIST"``), which the pipeline ignores;
* at post and every follow-up, ``eta_t = r (eta_{t-1} - delta_{t-1}) + sqrt(1 - r^2) w + delta_t`` with
  ``delta_t = TESTING_DRIFT`` (0.25) on all 20 scales in both groups, the improvement any group shows from repeated
  testing, expectancy and time, plus ``TRIAL_EFFECTS`` (0.50-0.80 on 10 of the 20) in the program group, kept at
  every follow-up. Within-group paired tests therefore flag more than the 10 (and some in the waitlist); only the
  comparison between the groups isolates the program's 10;
* mild differential attrition: ``TRIAL_POST_RATE`` (86% of the program group, 80% of the waitlist) answer post and
  ``TRIAL_LATER_RATE`` (78%, 70%) the first follow-up (then ``LATER_RESPONSE_DECAY`` per wave), a little more likely
  with higher baseline wellbeing and, after post, after answering the wave before.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .instruments import LIBRARY_DIR, Instrument, find_instrument, load_instrument
from .score import reverse_key

DEMO_INSTRUMENTS = [
    "shs", "swls", "fs", "spane", "mlq", "bcs", "cdse_sf", "ahs", "brs",
    "lot_r", "rses", "gse", "gq6", "mspss", "ucla_ls3", "phq9", "gad7", "pss10",
]  # fmt: skip

#: Planted standardized change (latent SD units, towards improvement) on 12 of the 20 scales.
PLANTED_CHANGE = {
    "shs_total": 0.55, "brs_total": 0.50, "mlq_p": 0.70, "cdse_sf_total": 0.80,
    "ucla_ls3_total": 0.45, "phq9_total": 0.40, "swls_total": 0.45, "fs_total": 0.50,
    "spane_p": 0.35, "ahs_total": 0.65, "gse_total": 0.40, "gq6_total": 0.35,
}  # fmt: skip

TARGET_ALPHA = 0.82
STABILITY = 0.8
MISSING_ITEM_RATE = 0.01
FOLLOW_UP_RATE = 0.73
ID_COLUMN = "participant_id"
COHORT_COLUMN = "cohort"
COHORTS = ("Spring", "Summer", "Autumn")
COHORT_SHARES = (0.40, 0.35, 0.25)
COHORT_STREAM = 1  # spawn key of the cohort's random stream; the answers use the seed's own stream
FOLLOW_UP_STREAM = 2  # spawn key of the stream of every wave after post (answers and who answers)
MIN_WAVES, MAX_WAVES = 2, 12

#: Planted improvements that fade by the first follow-up after post (change back to 0); the other 8 are kept.
#: Mood-like gains (happiness, flourishing, positive feelings, depressive symptoms) of 0.35-0.55. With about
#: 90 pairs at 6 months a kept change of 0.35-0.45 is found (Holm across 20) only 45-75% of the time, so
#: these four were chosen among the mid-sized and small ones for the default seed's data to show the
#: pattern (checked in tests/test_simulate.py); another seed usually misses a kept one or two.
FADES_BY_FOLLOW_UP = frozenset({"shs_total", "fs_total", "spane_p", "phq9_total"})
LATER_RESPONSE_RATE = 0.62  # share of those enrolled answering the first follow-up after post, on average
LATER_RESPONSE_DECAY = 0.88  # each further follow-up is answered by this share of the previous one's rate
PREVIOUS_WAVE_EFFECT = 0.30  # how much more likely to answer a follow-up those who answered the wave before are

# --- The waitlist-controlled trial (`impact demo --groups`) -------------------------------------------

#: The program's effect in the trial (latent SD units, towards improvement) on 10 of the 20 scales, in the
#: program group only, from post on (kept at every follow-up): 10 of the 12 ``PLANTED_CHANGE`` scales (not
#: the two smallest, ``spane_p`` and ``gq6_total``), 0.50-0.80 so that the default seed's 129 against 117 at post
#: find exactly these 10 with ANCOVA and Holm across 20 (checked in tests/test_simulate.py); of seeds 0-29, 24 do,
#: the others miss one or two or (once) flag an unplanted scale.
TRIAL_EFFECTS = {
    "shs_total": 0.60, "swls_total": 0.55, "fs_total": 0.60, "mlq_p": 0.75, "cdse_sf_total": 0.80,
    "ahs_total": 0.70, "brs_total": 0.55, "gse_total": 0.50, "ucla_ls3_total": 0.55, "phq9_total": 0.50,
}  # fmt: skip
#: The improvement both groups show on all 20 scales from post on (latent SD units, towards improvement):
#: repeated testing, expectancy, regression and time, which only a comparison group separates from the program.
TESTING_DRIFT = 0.25
ARM_COLUMN = "arm"
ARMS = ("program", "waitlist")
TRIAL_PARTICIPANTS = 300  # enrolled, randomised 1:1
TRIAL_WAVES = 3  # pre, post, followup
TRIAL_STREAM = 3  # spawn key of the trial's random stream (arms, answers and who answers, every wave)
#: Share answering post, per arm: mild differential attrition (the waitlist, waiting, answers less often).
TRIAL_POST_RATE = {"program": 0.86, "waitlist": 0.80}
#: Share answering the first follow-up after post, per arm (then ``LATER_RESPONSE_DECAY`` per further one).
TRIAL_LATER_RATE = {"program": 0.78, "waitlist": 0.70}
#: How a few baseline rows spell the arm (the pipeline ignores case and spaces), and how often.
ARM_SPELLINGS = {"program": ("Program ", "PROGRAM", " program"), "waitlist": ("WAITLIST", "Waitlist ", " waitlist")}
ODD_SPELLING_RATE = 0.05

#: The demo's report options, the same with or without follow-ups.
REPORT_YAML = """\
report:
  # The reports list domains in this order, and the cover says what the program set out to change.
  domain_order: [wellbeing, meaning and purpose, career, distress]
  subtitle: Change in wellbeing, meaning, career confidence and distress from the start to the end of the program
"""

STUDY_YAML = """\
# Demo study: simulated data written by `impact demo` (pipeline/simulate.py); not real participants.
name: Demo pilot (simulated data)
program: Purpose Pathways community program
organisation: Example Community Foundation
period: January to June 2026
description: >-
  Simulated pre/post evaluation of a purpose-based community program, generated by a seeded
  latent-variable model with improvements planted on 12 of 20 variables.
id_column: {id_column}
instruments: [{instruments}]
waves:
{waves}# Results are also given per cohort (exploratory): a column of the baseline export.
subgroups: [cohort]
analysis:
  correction: holm
  alpha: 0.05
""" + REPORT_YAML

# With follow-ups: every wave a mapping with its label and time since baseline; post the primary endpoint.
FOLLOW_UP_STUDY_YAML = """\
# Demo study: simulated data written by `impact demo --waves {count}` (pipeline/simulate.py); not real participants.
name: Demo follow-up (simulated data)
program: Purpose Pathways community program
organisation: Example Community Foundation
period: January to June 2026
description: >-
  Simulated evaluation of a purpose-based community program at its start, its end and
  {later}, generated by a seeded latent-variable model with improvements planted on 12 of 20
  variables by the end of the program: 8 of the 12 improvements are kept {kept} and 4 fade
  back to baseline.
id_column: {id_column}
instruments: [{instruments}]
waves:
{waves}# Results are also given per cohort (exploratory): a column of the baseline export.
subgroups: [cohort]
analysis:
  primary: post
  correction: holm
  alpha: 0.05
""" + REPORT_YAML

# The waitlist-controlled trial: the follow-up demo's waves, a randomised comparison group, post the primary endpoint.
TRIAL_STUDY_YAML = """\
# Demo study: simulated data written by `impact demo --groups{waves_option}` (pipeline/simulate.py); not real participants.
name: Demo trial (simulated data)
program: Purpose Pathways community program
organisation: Example Community Foundation
period: January to June 2026
description: >-
  Simulated waitlist-controlled trial of a purpose-based community program: participants randomised
  1:1 to the program or a waitlist, surveyed at the start, at the end of the program{later}.
  Generated by a seeded latent-variable model with program effects planted on 10 of 20 variables{kept}
  and a shared improvement on all 20 variables in both groups (repeated testing and the passing of
  time), which only the comparison with the waitlist separates from the program's effect.
id_column: {id_column}
instruments: [{instruments}]
waves:
{waves}# Randomised: the baseline export's arm column says who was offered the program and who waits.
groups:
  column: arm
  program: [program]
  comparison: [waitlist]
  assignment: randomised
  labels: {{program: Purpose Pathways, comparison: Waitlist}}
# Results are also given per cohort (exploratory): a column of the baseline export.
subgroups: [cohort]
analysis:
  primary: post
  correction: holm
  alpha: 0.05
""" + REPORT_YAML

WAVE_WEEKS = 26  # weeks between waves: the program runs January to June, follow-ups every 6 months after


def inter_item_correlation(items: int, alpha: float = TARGET_ALPHA) -> float:
    """Inter-item correlation giving Cronbach's alpha ``alpha`` for ``items`` parallel items (Spearman-Brown)."""
    return alpha / (items - alpha * (items - 1))


def to_categories(latent: np.ndarray, low: int, high: int, shift: float) -> np.ndarray:
    """Cut standard-normal item propensities into the whole numbers ``low..high``."""
    cuts = np.linspace(-1.6, 1.6, high - low) + shift
    return low + np.searchsorted(cuts, latent)


def simulate_instrument(
    instrument: Instrument, eta: dict[str, np.ndarray], rng: np.random.Generator
) -> pd.DataFrame:
    """Raw item responses (reverse items stored reversed) given each scale's latent trait.

    Only primary scales carry a trait (secondary scores follow from the same items). An item in
    several scales follows the first; an item in none (fillers) gets its own trait.
    """
    n = len(next(iter(eta.values())))
    owner = {}
    for scale in instrument.primary_scales:
        for item_id in scale.items:
            owner.setdefault(item_id, scale)
    low, high = instrument.response.min, instrument.response.max
    columns = {}
    for item in instrument.items:
        scale = owner.get(item.id)
        trait = eta[scale.id] if scale else rng.standard_normal(n)
        loading = np.sqrt(inter_item_correlation(len(scale.items) if scale else 4))
        propensity = loading * trait + np.sqrt(1 - loading**2) * rng.standard_normal(n)
        direction = -1 if scale is not None and scale.higher_is == "worse" else 1
        # Keyed so that higher = more of the construct; distress items sit low in the range.
        shift = 0.6 if direction < 0 else -0.3
        keyed = to_categories(direction * propensity, low, high, shift)
        columns[item.id] = reverse_key(keyed, low, high) if item.reverse else keyed
    return pd.DataFrame(columns)


def simulate_cohorts(participants: int, seed: int) -> np.ndarray:
    """Each participant's cohort, drawn with ``COHORT_SHARES`` from the seed's own cohort stream.

    The stream is the ``SeedSequence`` child ``COHORT_STREAM`` of ``seed``, independent of the
    generator the answers are drawn from, so the answers are the same with or without cohorts.
    """
    stream = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(COHORT_STREAM,)))
    return stream.choice(np.array(COHORTS, dtype=object), size=participants, p=COHORT_SHARES)


def simulate_study(
    instruments: list[Instrument], participants: int = 150, seed: int = 2026, waves: int = 2
) -> tuple[pd.DataFrame, ...]:
    """Simulated exports, one per wave (pre, post, then ``waves - 2`` follow-ups): an id column, every item
    column and, at baseline only, a cohort column.

    The first two waves are drawn exactly as they always were (the follow-ups come from their own random
    stream, :func:`simulate_follow_ups`), so the two-wave demo does not change with ``waves``.
    """
    if not MIN_WAVES <= waves <= MAX_WAVES:
        raise ValueError(f"waves must be a whole number from {MIN_WAVES} to {MAX_WAVES}, not {waves!r}")
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:05d}" for i in range(1, participants + 1)])
    general = rng.standard_normal(participants)
    eta_pre, eta_post, centred_post = {}, {}, {}
    for instrument in instruments:
        for scale in instrument.primary_scales:
            base = 0.5 * general + np.sqrt(0.75) * rng.standard_normal(participants)
            change = PLANTED_CHANGE.get(scale.id, 0.0)
            eta_pre[scale.id] = base
            centred_post[scale.id] = STABILITY * base + np.sqrt(1 - STABILITY**2) * rng.standard_normal(participants)
            eta_post[scale.id] = centred_post[scale.id] + change
    exports = []
    for eta in (eta_pre, eta_post):
        exports.append(simulate_wave(instruments, ids, eta, rng))
    pre, post = exports
    pre.insert(1, COHORT_COLUMN, simulate_cohorts(participants, seed))
    # Lower baseline wellbeing makes follow-up a little less likely (missing at random).
    completes = rng.random(participants) < np.clip(FOLLOW_UP_RATE + 0.08 * general, 0.05, 0.98)
    post = post.loc[completes].sample(frac=1.0, random_state=rng.integers(2**31))  # row order must not matter
    later = simulate_follow_ups(instruments, ids, general, centred_post, completes, waves - 2, seed)
    return (pre.reset_index(drop=True), post.reset_index(drop=True), *later)


def simulate_wave(
    instruments: list[Instrument], ids: np.ndarray, eta: dict[str, np.ndarray], rng: np.random.Generator
) -> pd.DataFrame:
    """One wave's answers of every participant (about ``MISSING_ITEM_RATE`` of them blank), id column first."""
    blocks = [simulate_instrument(instrument, eta, rng) for instrument in instruments]
    items = pd.concat(blocks, axis=1).astype("Int64")
    items = items.mask(rng.random(items.shape) < MISSING_ITEM_RATE)
    return pd.concat([pd.DataFrame({ID_COLUMN: ids}), items], axis=1)


def follow_up_change(scale_id: str) -> float:
    """The planted change (latent SD units, towards improvement) of a scale at every follow-up after post."""
    return 0.0 if scale_id in FADES_BY_FOLLOW_UP else PLANTED_CHANGE.get(scale_id, 0.0)


def follow_up_response_rate(follow_up: int) -> float:
    """The share of those enrolled who answer follow-up ``follow_up`` (1 = the first after post), on average."""
    return LATER_RESPONSE_RATE * LATER_RESPONSE_DECAY ** (follow_up - 1)


def simulate_follow_ups(
    instruments: list[Instrument],
    ids: np.ndarray,
    general: np.ndarray,
    centred_post: dict[str, np.ndarray],
    answered_post: np.ndarray,
    count: int,
    seed: int,
) -> list[pd.DataFrame]:
    """``count`` follow-up exports after post, drawn from the ``SeedSequence`` child ``FOLLOW_UP_STREAM``.

    Each wave's latent trait is ``r x`` the previous wave's (centred on its planted change) ``+ sqrt(1 - r^2)``
    noise, plus :func:`follow_up_change`: 8 planted improvements are kept, the 4 of ``FADES_BY_FOLLOW_UP``
    are back at baseline. Who answers depends on baseline wellbeing, as at post, and on having answered the
    previous wave (some who skipped post answer again later); rows are shuffled.
    """
    stream = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(FOLLOW_UP_STREAM,)))
    participants = len(ids)
    previous, answered = centred_post, answered_post
    exports = []
    for follow_up in range(1, count + 1):
        centred = {
            scale: STABILITY * trait + np.sqrt(1 - STABILITY**2) * stream.standard_normal(participants)
            for scale, trait in previous.items()
        }
        eta = {scale: trait + follow_up_change(scale) for scale, trait in centred.items()}
        frame = simulate_wave(instruments, ids, eta, stream)
        rate = follow_up_response_rate(follow_up)
        keen = PREVIOUS_WAVE_EFFECT * (answered - answered.mean())
        responds = stream.random(participants) < np.clip(rate + 0.08 * general + keen, 0.05, 0.98)
        frame = frame.loc[responds].sample(frac=1.0, random_state=stream.integers(2**31))
        exports.append(frame.reset_index(drop=True))
        previous, answered = centred, responds
    return exports


def trial_change(scale_id: str, program: np.ndarray) -> np.ndarray:
    """Each participant's planted change on a scale at post and every follow-up (latent SD units, towards
    improvement): ``TESTING_DRIFT`` for everyone, plus ``TRIAL_EFFECTS`` in the program group."""
    return TESTING_DRIFT + TRIAL_EFFECTS.get(scale_id, 0.0) * program


def trial_response_rate(arm: str, position: int) -> float:
    """The share of an arm who answer the wave at ``position`` (1 = post, 2 = the first follow-up, ...), on average."""
    if position == 1:
        return TRIAL_POST_RATE[arm]
    return TRIAL_LATER_RATE[arm] * LATER_RESPONSE_DECAY ** (position - 2)


def simulate_arms(participants: int, stream: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Randomised 1:1 (a random permutation of equal halves; an odd one out goes to either arm), and the arm as
    the baseline export writes it: ``ODD_SPELLING_RATE`` of the rows spelled with other case or spaces."""
    halves = np.array([ARMS[k % 2] for k in range(participants)], dtype=object)
    if participants % 2 and stream.random() < 0.5:
        halves[-1] = ARMS[1]
    arms = stream.permutation(halves)
    written = arms.copy()
    for k in np.flatnonzero(stream.random(participants) < ODD_SPELLING_RATE):
        spellings = ARM_SPELLINGS[arms[k]]
        written[k] = spellings[stream.integers(len(spellings))]
    return arms, written


def simulate_trial(
    instruments: list[Instrument], participants: int = TRIAL_PARTICIPANTS, seed: int = 2026, waves: int = TRIAL_WAVES
) -> tuple[pd.DataFrame, ...]:
    """A waitlist-controlled trial's exports, one per wave (pre, post, then ``waves - 2`` follow-ups): an id column,
    every item column and, at baseline only, the cohort and the randomised ``arm`` (``program`` / ``waitlist``).

    The latent model is the demo's (baseline trait with a shared wellbeing factor, stability ``r`` between waves),
    with :func:`trial_change` planted from post on: a shared drift in both groups, the program's effect on the 10
    scales of ``TRIAL_EFFECTS`` in the program group, kept at every follow-up. Who answers a later wave depends on
    the arm (:func:`trial_response_rate`), on baseline wellbeing and, after post, on having answered the wave before.
    Everything but the cohort comes from the ``SeedSequence`` child ``TRIAL_STREAM``: the other demos are unchanged.
    """
    if not MIN_WAVES <= waves <= MAX_WAVES:
        raise ValueError(f"waves must be a whole number from {MIN_WAVES} to {MAX_WAVES}, not {waves!r}")
    stream = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(TRIAL_STREAM,)))
    ids = np.array([f"P{i:05d}" for i in range(1, participants + 1)])
    arms, written = simulate_arms(participants, stream)
    program = (arms == "program").astype(float)
    general = stream.standard_normal(participants)
    centred = {
        scale.id: 0.5 * general + np.sqrt(0.75) * stream.standard_normal(participants)
        for instrument in instruments
        for scale in instrument.primary_scales
    }
    pre = simulate_wave(instruments, ids, centred, stream)
    pre.insert(1, COHORT_COLUMN, simulate_cohorts(participants, seed))
    pre.insert(2, ARM_COLUMN, written)
    exports, answered = [pre], np.ones(participants, dtype=bool)
    for position in range(1, waves):
        centred = {
            scale: STABILITY * trait + np.sqrt(1 - STABILITY**2) * stream.standard_normal(participants)
            for scale, trait in centred.items()
        }
        eta = {scale: trait + trial_change(scale, program) for scale, trait in centred.items()}
        frame = simulate_wave(instruments, ids, eta, stream)
        rate = np.where(arms == "program", trial_response_rate("program", position), trial_response_rate("waitlist", position))
        keen = PREVIOUS_WAVE_EFFECT * (answered - answered.mean()) if position > 1 else 0.0
        responds = stream.random(participants) < np.clip(rate + 0.08 * general + keen, 0.05, 0.98)
        frame = frame.loc[responds].sample(frac=1.0, random_state=stream.integers(2**31))  # row order must not matter
        exports.append(frame.reset_index(drop=True))
        answered = responds
    return tuple(exports)


EXPORT_FORMATS = ("csv", "excel", "spss", "qualtrics", "redcap", "odk")
REDCAP_EVENTS = {"pre": "baseline_arm_1", "post": "followup_arm_1"}
SPSS_REFUSED = 99  # written where an answer is missing and declared a user-missing code

# How each export format is declared in study.yaml: the id column and the two waves.
WAVES_YAML = {
    "csv": ("participant_id", "  pre: pre.csv\n  post: post.csv\n"),
    "excel": ("participant_id", "  pre: pre.xlsx\n  post: post.xlsx\n"),
    "spss": ("participant_id", "  pre: pre.sav\n  post: post.sav\n"),
    "qualtrics": (
        "participant_id",
        "  pre: {file: pre-qualtrics.csv, format: qualtrics, column_pattern: 'T1_{item}'}\n"
        "  post: {file: post-qualtrics.csv, format: qualtrics, column_pattern: 'T2_{item}'}\n",
    ),
    "odk": ("participant_id", "  pre: {file: pre.csv, format: odk}\n  post: {file: post.csv, format: odk}\n"),
    "redcap": (
        "record_id",
        f"  pre: {{file: redcap.csv, format: redcap, event: {REDCAP_EVENTS['pre']}}}\n"
        f"  post: {{file: redcap.csv, format: redcap, event: {REDCAP_EVENTS['post']}}}\n",
    ),
}


def wave_names(waves: int) -> list[str]:
    """The demo's wave names: ``pre, post``, then ``followup`` (3 waves) or ``followup_1, followup_2, ...``."""
    if not MIN_WAVES <= waves <= MAX_WAVES:
        raise ValueError(f"waves must be a whole number from {MIN_WAVES} to {MAX_WAVES}, not {waves!r}")
    if waves == 3:
        return ["pre", "post", "followup"]
    return ["pre", "post"] + [f"followup_{k}" for k in range(1, waves - 1)]


def wave_timing(position: int) -> tuple[str, int]:
    """The label and weeks since baseline of the wave at ``position`` (0 = baseline): start and end of the
    26-week program, then a follow-up every 6 months ("6 months after" at 52 weeks, "12 months after", ...)."""
    if position == 0:
        return "Start of program", 0
    if position == 1:
        return "End of program", WAVE_WEEKS
    return f"{6 * (position - 1)} months after", WAVE_WEEKS * position


def redcap_event(position: int) -> str:
    """The REDCap event of the wave at ``position``: ``baseline_arm_1``, ``followup_arm_1`` (post, as in the
    two-wave demo), then ``followup_2_arm_1``, ``followup_3_arm_1``, ..."""
    if position < 2:
        return REDCAP_EVENTS[("pre", "post")[position]]
    return f"followup_{position}_arm_1"


def wave_source(export_format: str, name: str, position: int) -> dict[str, str]:
    """How study.yaml declares one wave's export (without its label and weeks)."""
    if export_format == "csv":
        return {"file": f"{name}.csv"}
    if export_format == "odk":
        return {"file": f"{name}.csv", "format": "odk"}
    if export_format == "excel":
        return {"file": f"{name}.xlsx"}
    if export_format == "spss":
        return {"file": f"{name}.sav"}
    if export_format == "qualtrics":
        return {"file": f"{name}-qualtrics.csv", "format": "qualtrics", "column_pattern": f"'T{position + 1}_{{item}}'"}
    return {"file": "redcap.csv", "format": "redcap", "event": redcap_event(position)}


def follow_up_waves_yaml(export_format: str, names: list[str]) -> str:
    """The ``waves:`` entries of a study with follow-ups: one flow mapping per wave with its label and weeks."""
    lines = []
    for position, name in enumerate(names):
        label, weeks = wave_timing(position)
        fields = wave_source(export_format, name, position) | {"label": label, "weeks": str(weeks)}
        lines.append(f"  {name}: {{{', '.join(f'{key}: {value}' for key, value in fields.items())}}}\n")
    return "".join(lines)


def study_yaml(export_format: str, instrument_ids: list[str], waves: int) -> str:
    """The demo's study.yaml: the two-wave demo pilot's, or with ``waves - 2`` follow-ups the demo follow-up's."""
    id_column = WAVES_YAML[export_format][0]
    instruments = ", ".join(instrument_ids)
    if waves == 2:
        return STUDY_YAML.format(instruments=instruments, id_column=id_column, waves=WAVES_YAML[export_format][1])
    names = wave_names(waves)
    later = wave_timing(2)[0] if waves == 3 else f"{waves - 2} follow-ups, 6 months apart"
    kept = f"at {wave_timing(2)[0].removesuffix(' after')}" if waves == 3 else "at every follow-up"
    return FOLLOW_UP_STUDY_YAML.format(
        count=waves, later=later, kept=kept, id_column=id_column, instruments=instruments,
        waves=follow_up_waves_yaml(export_format, names),
    )  # fmt: skip


def trial_study_yaml(export_format: str, instrument_ids: list[str], waves: int) -> str:
    """The demo trial's study.yaml: the waves as the demo follow-up declares them, the ``groups:`` block, post primary."""
    names = wave_names(waves)
    if waves == 2:
        later, kept = "", ""
    elif waves == 3:
        later, kept = f" and {wave_timing(2)[0]}", f" (kept at {wave_timing(2)[0].removesuffix(' after')})"
    else:
        later, kept = f" and at {waves - 2} follow-ups, 6 months apart", " (kept at every follow-up)"
    return TRIAL_STUDY_YAML.format(
        waves_option="" if waves == TRIAL_WAVES else f" --waves {waves}", later=later, kept=kept,
        id_column=WAVES_YAML[export_format][0], instruments=", ".join(instrument_ids),
        waves=follow_up_waves_yaml(export_format, names),
    )  # fmt: skip


def qualtrics_export(wave: pd.DataFrame, prefix: str, instruments: list[Instrument]) -> str:
    """A wave as a Qualtrics CSV: 3 header rows, metadata columns, items tagged ``<prefix><item>``,
    the participant id (and, at baseline, the cohort and a trial's arm) as embedded data, one preview response first and
    one unfinished response last.

    The question-text row holds the items' content labels, never wording.
    """
    labels = {item.id: item.label for instrument in instruments for item in instrument.items}
    items = [column for column in wave.columns if column in labels]
    n = len(wave)
    metadata = pd.DataFrame(
        {
            "StartDate": "2026-01-12 09:00:00", "EndDate": "2026-01-12 09:14:00", "Status": "0",
            "IPAddress": [f"192.0.2.{i % 250 + 1}" for i in range(n)], "Progress": "100", "Duration (in seconds)": "840",
            "Finished": "1", "RecordedDate": "2026-01-12 09:14:00", "ResponseId": [f"R_{i:08d}" for i in range(n)],
            "RecipientLastName": "", "RecipientFirstName": "", "RecipientEmail": "", "ExternalReference": "",
            "LocationLatitude": "", "LocationLongitude": "", "DistributionChannel": "anonymous", "UserLanguage": "EN",
        },
        index=wave.index,
    )  # fmt: skip
    answers = wave[items].astype("Int64").astype("string").fillna("").rename(columns=lambda c: prefix + c)
    embedded = [column for column in (ID_COLUMN, COHORT_COLUMN, ARM_COLUMN) if column in wave.columns]
    body = pd.concat([metadata, answers, wave[embedded]], axis=1)
    preview = body.iloc[[0]].assign(Status="1", ResponseId="R_preview", **{ID_COLUMN: ""})
    unfinished = body.iloc[[-1]].assign(Finished="0", Progress="40", ResponseId="R_partial")
    body = pd.concat([preview, body, unfinished], ignore_index=True)
    question = [c for c in metadata.columns] + [labels[c] for c in items] + embedded
    import_ids = [f'{{"ImportId":"{c}"}}' for c in metadata.columns] + [
        f'{{"ImportId":"QID{position + 1}"}}' for position in range(len(items))
    ] + [f'{{"ImportId":"{c}"}}' for c in embedded]
    header = pd.DataFrame([question, import_ids], columns=body.columns)
    return pd.concat([header, body], ignore_index=True).to_csv(index=False, lineterminator="\n")


def redcap_export(waves: list[pd.DataFrame], instruments: list[Instrument]) -> str:
    """Every wave as one REDCap longitudinal records export, one event per wave (:func:`redcap_event`):
    ``record_id``, ``redcap_event_name``, the cohort (and a trial's arm; baseline fields: blank on later rows), items,
    ``<form>_complete``."""
    rows = []
    for position, frame in enumerate(waves):
        part = frame.rename(columns={ID_COLUMN: "record_id"})
        part.insert(1, "redcap_event_name", redcap_event(position))
        for instrument in instruments:
            part[f"{instrument.id}_complete"] = 2
        rows.append(part)
    return pd.concat(rows, ignore_index=True).to_csv(index=False, lineterminator="\n")


#: The metadata columns of an ODK Central CSV export, before and after the form's fields (central-backend lib/data/briefcase.js).
ODK_BEFORE = ["SubmissionDate", "meta-instanceID"]
ODK_AFTER = [
    "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState",
    "DeviceID", "Edits", "FormVersion",
]  # fmt: skip


def odk_export(wave: pd.DataFrame, position: int, version: str = "2026010101") -> str:
    """One wave as ODK Central's CSV export of the fielded XLSForm (``impact field --format xlsform``): the
    submission date and instance id first, the fields by their XML names (flat form: no group paths), then
    Central's own columns. Blank answers stay blank, as Central writes an unanswered question. A first
    submission for the first participant, answered all 1s, was rejected by a reviewer (``ReviewState``)."""
    rows = len(wave)
    day = pd.Timestamp("2026-01-05", tz="UTC") + pd.Timedelta(weeks=WAVE_WEEKS * position)
    uuids = [f"uuid:{position:04x}{row:04x}-0000-4000-8000-{position:04x}{row:08x}" for row in range(rows)]
    items = [c for c in wave.columns if c not in (ID_COLUMN, COHORT_COLUMN, ARM_COLUMN)]
    body = wave.astype({item: "Int64" for item in items})
    before = pd.DataFrame(
        {"SubmissionDate": [(day + pd.Timedelta(minutes=7 * row)).strftime("%Y-%m-%dT%H:%M:%S.000Z") for row in range(rows)],
         "meta-instanceID": uuids}, index=body.index,
    )  # fmt: skip
    after = pd.DataFrame(
        {"KEY": uuids, "SubmitterID": 5, "SubmitterName": "field-tablet-1", "AttachmentsPresent": 0, "AttachmentsExpected": 0,
         "Status": "", "ReviewState": "", "DeviceID": "collect:demo", "Edits": 0, "FormVersion": version}, index=body.index,
    )  # fmt: skip
    export = pd.concat([before, body, after], axis=1)
    # A reviewer rejected a field worker's first, mistyped submission for the first participant: excluded as rejected.
    rejected = export.iloc[[0]].assign(ReviewState="rejected", **{"meta-instanceID": "uuid:rejected-0", "KEY": "uuid:rejected-0"})
    rejected[items] = rejected[items].apply(lambda column: column.map(lambda value: value if pd.isna(value) else 1))
    return pd.concat([rejected, export], ignore_index=True).to_csv(index=False, lineterminator="\n")


def write_spss(frame: pd.DataFrame, path: Path, instruments: list[Instrument]) -> None:
    """A wave as an SPSS .sav file: value labels from the instruments, missing answers stored as a user-missing 99,
    the cohort (at baseline) as a labelled code 1, 2, 3 as SPSS users store categories; a trial's arm stays text."""
    import pyreadstat

    items = [item.id for instrument in instruments for item in instrument.items]
    data = frame.copy()
    data[items] = data[items].astype(float).fillna(SPSS_REFUSED)
    value_labels = {
        item.id: {float(k): v for k, v in (instrument.response.labels or {}).items()} | {float(SPSS_REFUSED): "refused"}
        for instrument in instruments
        for item in instrument.items
    }
    if COHORT_COLUMN in data.columns:
        codes = {cohort: float(code) for code, cohort in enumerate(COHORTS, start=1)}
        data[COHORT_COLUMN] = data[COHORT_COLUMN].map(codes).astype(float)
        value_labels[COHORT_COLUMN] = {code: cohort for cohort, code in codes.items()}
    pyreadstat.write_sav(
        data, str(path), variable_value_labels=value_labels, missing_ranges={item: [SPSS_REFUSED] for item in items}
    )


def with_slips(wave: pd.DataFrame, id_column: str, test_row: bool) -> pd.DataFrame:
    """``wave`` plus the slips a real export has, so that the demo's ledger and flow show exclusions.

    The first participant (and at baseline the second) also left an abandoned first attempt that
    answers only the first half of the items (a ``duplicate``: the complete answer is kept), and at
    baseline a staff test submission has answers but no participant id (``missing_id``). Neither
    changes any score.
    """
    items = [column for column in wave.columns if column not in (id_column, COHORT_COLUMN, ARM_COLUMN)]
    wave = wave.astype({item: "Int64" for item in items})  # blanks stay blank, whole numbers stay whole
    attempts = wave.iloc[: 2 if test_row else 1].copy()
    attempts[items[len(items) // 2 :]] = pd.NA
    extra = [attempts]
    if test_row:
        extra.append(wave.iloc[[2]].assign(**{id_column: ""}))
    return pd.concat([wave, *extra], ignore_index=True)


def write_demo_study(
    folder: Path,
    participants: int | None = None,
    seed: int = 2026,
    instrument_ids: list[str] | None = None,
    library_dir: Path = LIBRARY_DIR,
    export_format: str = "csv",
    waves: int | None = None,
    groups: bool = False,
) -> Path:
    """Write ``study.yaml`` and the ``waves`` waves of a simulated study into ``folder``, as ``export_format``
    exports (one file per wave, or one REDCap file with an event per wave; names from :func:`wave_names`).

    Without ``groups`` the one-group demo (default 150 enrolled, 2 waves: :func:`simulate_study`); with it the
    waitlist-controlled trial (default ``TRIAL_PARTICIPANTS`` enrolled, ``TRIAL_WAVES`` waves: :func:`simulate_trial`).

    Every format holds the same answers, so every format scores the same (the tests check this);
    the CSV export adds abandoned repeat attempts and a test row (:func:`with_slips`), the Qualtrics
    export a preview and an unfinished response per wave, all excluded and counted.
    """
    instrument_ids = instrument_ids or DEMO_INSTRUMENTS
    if export_format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {export_format!r}; one of {', '.join(EXPORT_FORMATS)}")
    if participants is None:
        participants = TRIAL_PARTICIPANTS if groups else 150
    if waves is None:
        waves = TRIAL_WAVES if groups else 2
    names = wave_names(waves)
    instruments = [load_instrument(find_instrument(i, [library_dir])) for i in instrument_ids]
    simulate = simulate_trial if groups else simulate_study
    exports = simulate(instruments, participants=participants, seed=seed, waves=waves)
    folder.mkdir(parents=True, exist_ok=True)
    id_column = WAVES_YAML[export_format][0]
    text = (trial_study_yaml if groups else study_yaml)(export_format, instrument_ids, waves)
    (folder / "study.yaml").write_text(text, encoding="utf-8")
    if export_format == "redcap":
        (folder / "redcap.csv").write_text(redcap_export(list(exports), instruments), encoding="utf-8")
        return folder
    for position, (name, frame) in enumerate(zip(names, exports)):
        if export_format == "csv":
            slipped = with_slips(frame, id_column, test_row=position == 0)
            slipped.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
        elif export_format == "excel":
            frame.to_excel(folder / f"{name}.xlsx", index=False, engine="openpyxl")
        elif export_format == "spss":
            write_spss(frame, folder / f"{name}.sav", instruments)
        elif export_format == "odk":
            (folder / f"{name}.csv").write_text(odk_export(frame, position), encoding="utf-8")
        else:
            text = qualtrics_export(frame, f"T{position + 1}_", instruments)
            (folder / f"{name}-qualtrics.csv").write_text(text, encoding="utf-8")
    return folder
