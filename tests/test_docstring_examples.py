"""The examples in the docstrings of the statistics, message, validation, privacy, subgroup, suppression, report and chart modules run and give what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import pipeline.charts
import pipeline.report
import pipeline.statistics


def submodules(package) -> list[str]:
    return [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]


MODULES = submodules(pipeline.statistics) + submodules(pipeline.report) + submodules(pipeline.charts) + [
    "pipeline.errors",
    "pipeline.validate",
    "pipeline.privacy",
    "pipeline.subgroups",
    "pipeline.suppression",
    "pipeline.report",
    "pipeline.charts",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
