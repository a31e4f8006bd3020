"""The tables a run publishes, defined once: every column's name, kind and group.

``results.csv``, ``changes.csv``, ``trajectory.csv``, ``attrition.csv`` and, in a study with a
comparison group, ``comparison.csv`` and ``retention.csv`` take their columns from
here (:mod:`pipeline.analyze` reindexes to them), the technical report lays out its tables by
these groups and formats cells by these kinds, and a test checks that the README's data
dictionary lists exactly these columns. Adding a statistic means adding it here first.

Kinds say how a value is shown: ``text``; ``count`` (a whole number of people); ``df``
(degrees of freedom: whole when they are); ``p`` (a p-value: 4 significant digits, scientific
below 0.0001); ``number`` (anything else, 4 decimals in the technical report).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "count", "df", "p", "number"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "number"
    group: str | None = None  # the technical report's table; None: a row label or note, shown elsewhere


@dataclass(frozen=True)
class Table:
    """One output table: its file name and columns, in order."""

    file: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def kind(self, name: str) -> Kind:
        return next(column.kind for column in self.columns if column.name == name)

    def by_group(self) -> Table:
        """The table as a two-group study writes it: a ``group`` column (``program`` or
        ``comparison``) after the row labels (``variable`` and ``name``, or ``variable`` alone)."""
        names = self.names
        at = names.index("name") + 1 if "name" in names else names.index("variable") + 1
        return Table(self.file, (*self.columns[:at], Column("group", "text"), *self.columns[at:]))

    def grouped(self) -> dict[str, list[str]]:
        """Column names by group, groups in the order they first appear."""
        groups: dict[str, list[str]] = {}
        for column in self.columns:
            if column.group is not None:
                groups.setdefault(column.group, []).append(column.name)
        return groups


def _columns(group: str | None, kind: Kind, *names: str) -> tuple[Column, ...]:
    return tuple(Column(name, kind, group) for name in names)


#: The mixed model's figures for one contrast, as lmerTest reports them (Satterthwaite df).
MIXED_MODEL = (
    *_columns("mixed_model", "number", "lmm_estimate", "lmm_se"),
    Column("lmm_df", "df", "mixed_model"),
    Column("lmm_t", "number", "mixed_model"),
    Column("lmm_p", "p", "mixed_model"),
    Column("lmm_n", "count", "mixed_model"),
)

RESULTS = Table(
    "results.csv",
    (
        *_columns(None, "text", "variable", "name"),
        *_columns("descriptives", "text", "instrument", "domain", "higher_is"),
        *_columns("descriptives", "count", "n_pre", "n_post", "n_pairs"),
        *_columns("descriptives", "number", "mean_pre", "sd_pre", "mean_post", "sd_post"),
        *_columns("paired", "number", "mean_diff", "sd_diff", "ci_low", "ci_high", "t"),
        Column("df", "df", "paired"),
        Column("p", "p", "paired"),
        *_columns("effect_sizes", "number", "d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "g_av"),
        Column("wilcoxon_v", "number", "assumptions"),
        Column("wilcoxon_n", "count", "assumptions"),
        Column("wilcoxon_method", "text", "assumptions"),
        Column("p_wilcoxon", "p", "assumptions"),
        Column("r_rb", "number", "assumptions"),
        *_columns("paired", "p", "p_holm", "p_fdr"),
        Column("alpha_pre", "number", "reliability"),
        Column("alpha_n_pre", "count", "reliability"),
        Column("alpha_post", "number", "reliability"),
        Column("alpha_n_post", "count", "reliability"),
        *_columns("reliability", "number", "omega_pre", "omega_post"),
        Column("shapiro_p", "p", "assumptions"),
        *_columns("effect_sizes", "number", "bf10", "log_bf10", "mde_dz"),
        Column("rci_basis", "text", "reliable_change"),
        *_columns("reliable_change", "number", "rci_sd", "rci_reliability", "rci_threshold"),
        *_columns("reliable_change", "number", "rci_improved_pct", "rci_unchanged_pct", "rci_deteriorated_pct"),
        Column("recovery_cutoff", "text", "reliable_change"),
        Column("n_cases_pre", "count", "reliable_change"),
        Column("recovered_pct", "number", "reliable_change"),
        *MIXED_MODEL,
        Column("outcome", "text", "paired"),
        Column("note", "text"),
    ),
)

#: The paired statistics of ``results.csv`` that ``changes.csv`` repeats per contrast, with
#: ``_from``/``_to`` in place of ``_pre``/``_post``.
CHANGE_STATISTICS = (
    "n_pairs", "mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff", "sd_diff", "ci_low", "ci_high",
    "t", "df", "p", "d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "wilcoxon_v", "p_wilcoxon", "r_rb",
)  # fmt: skip


def from_to(name: str) -> str:
    """A results.csv column name as changes.csv names it: ``mean_pre`` -> ``mean_from``."""
    return name.replace("_pre", "_from").replace("_post", "_to")


def _change_column(name: str) -> Column:
    column = next(c for c in RESULTS.columns if c.name == name)
    group = "change_descriptives" if column.group == "descriptives" else "change_tests"
    return Column(from_to(name), column.kind, group)


CHANGES = Table(
    "changes.csv",
    (
        *_columns(None, "text", "variable", "name"),
        *_columns("change_descriptives", "text", "from_wave", "to_wave", "contrast"),
        *(_change_column(name) for name in CHANGE_STATISTICS),
        *_columns("change_tests", "p", "p_holm", "p_fdr"),
        *(Column(c.name, c.kind, "change_model") for c in MIXED_MODEL),
        *_columns("change_model", "number", "tost_low", "tost_high"),
        Column("p_tost", "p", "change_model"),
        Column("outcome", "text", "change_tests"),
        Column("note", "text"),
    ),
)

TRAJECTORY = Table(
    "trajectory.csv",
    (
        *_columns(None, "text", "variable", "name"),
        Column("wave", "text", "trajectory"),
        Column("n", "count", "trajectory"),
        *_columns("trajectory", "number", "mean", "sd", "lmm_mean", "lmm_se"),
        Column("lmm_df", "df", "trajectory"),
        *_columns("trajectory", "number", "lmm_ci_low", "lmm_ci_high"),
    ),
)

ATTRITION_STATISTICS = (
    Column("n_completers", "count", "attrition"),
    *_columns("attrition", "number", "mean_completers", "sd_completers"),
    Column("n_noncompleters", "count", "attrition"),
    *_columns("attrition", "number", "mean_noncompleters", "sd_noncompleters", "std_diff"),
    Column("p", "p", "attrition"),
)

ATTRITION = Table(
    "attrition.csv",
    (
        Column("variable", "text"),
        Column("wave", "text", "attrition"),
        *_columns(None, "text", "name", "instrument"),
        *ATTRITION_STATISTICS,
        Column("note", "text"),
    ),
)

#: The between-group analysis of a two-group study (``groups:`` in study.yaml): one row per variable
#: and later wave, program against comparison (pipeline.statistics.comparison, pipeline.analyze).
COMPARISON = Table(
    "comparison.csv",
    (
        *_columns(None, "text", "variable", "name"),
        Column("wave", "text", "comparison_descriptives"),
        *_columns("comparison_descriptives", "text", "instrument", "domain", "higher_is"),
        *_columns("comparison_descriptives", "count", "n_program", "n_comparison"),
        *_columns(
            "comparison_descriptives", "number",
            "mean_from_program", "sd_from_program", "mean_to_program", "sd_to_program",
            "mean_from_comparison", "sd_from_comparison", "mean_to_comparison", "sd_to_comparison",
            "r_program", "r_comparison",
        ),  # fmt: skip
        *_columns("baseline_balance", "count", "n_baseline_program", "n_baseline_comparison"),
        *_columns(
            "baseline_balance", "number", "mean_baseline_program", "sd_baseline_program",
            "mean_baseline_comparison", "sd_baseline_comparison", "baseline_smd",
        ),  # fmt: skip
        Column("baseline_equivalence", "text", "baseline_balance"),
        *_columns("ancova", "number", "ancova_diff", "ancova_se", "ancova_ci_low", "ancova_ci_high", "ancova_t"),
        Column("ancova_df", "df", "ancova"),
        Column("ancova_p", "p", "ancova"),
        *_columns("ancova", "number", "adj_mean_program", "adj_mean_comparison", "ancova_slope"),
        *_columns("difference_in_differences", "number", "did_diff", "did_se", "did_t"),
        Column("did_df", "df", "difference_in_differences"),
        Column("did_p", "p", "difference_in_differences"),
        *_columns("effect_size", "number", "d_ppc2", "d_ppc2_ci_low", "d_ppc2_ci_high", "d_ppc2_rho"),
        *_columns("comparison_model", "number", "lmm_diff", "lmm_se"),
        Column("lmm_df", "df", "comparison_model"),
        Column("lmm_t", "number", "comparison_model"),
        Column("lmm_p", "p", "comparison_model"),
        Column("lmm_n", "count", "comparison_model"),
        *_columns("multiplicity", "p", "p_holm", "p_fdr", "did_p_holm", "did_p_fdr"),
        Column("outcome", "text", "multiplicity"),
        Column("note", "text"),
    ),
)

#: Attrition by group per later wave (a two-group study), with the What Works Clearinghouse reading.
RETENTION = Table(
    "retention.csv",
    (
        Column("wave", "text"),
        *_columns("retention", "count", "allocated_program", "followed_program", "allocated_comparison", "followed_comparison"),
        *_columns("retention", "number", "attrition_program_pct", "attrition_comparison_pct", "overall_attrition_pct", "differential_attrition_pct"),
        *_columns("retention", "text", "boundary", "attrition_level"),
        Column("note", "text"),
    ),
)

#: Every table of this module, by file name.
TABLES = {table.file: table for table in (RESULTS, CHANGES, TRAJECTORY, ATTRITION, COMPARISON, RETENTION)}
