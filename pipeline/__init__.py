"""Psychosocial-outcomes pipeline: instruments -> ingest -> validate -> score -> analyze -> report.

Each stage lives in its own module and is a set of pure functions from data to data;
file I/O happens in :mod:`pipeline.ingest` (reading) and :mod:`pipeline.run` / :mod:`pipeline.report`
(writing), and the command line in :mod:`pipeline.cli`.
"""

__version__ = "0.1.0"
