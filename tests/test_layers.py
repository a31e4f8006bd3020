"""The package's layers point one way: definitions -> ingest -> validate -> score -> analyze -> report,
with file writing and the command line at the edges, and no import cycle (deferred imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Every pipeline module and the pipeline modules it imports, at any depth of its code."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join([*base, node.module] if node.module else base)
                else:
                    target = node.module or ""
                if target.startswith("pipeline"):
                    found.add(target)
                    found.update(f"{target}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("pipeline"))
        graph[name] = found
    modules = set(graph)
    return {name: {t for t in targets if t in modules and t != name} for name, targets in graph.items()}


def test_statistics_import_nothing_from_the_rest_of_the_package():
    for name, targets in imports().items():
        if name.startswith("pipeline.statistics"):
            assert all(t.startswith("pipeline.statistics") for t in targets), (name, targets)


def test_there_is_no_import_cycle():
    graph = imports()
    # a package's __init__ re-exporting its own modules is not a cycle between layers
    edges = {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in graph.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in edges[node]:
            assert state.get(target) != 1, "import cycle: " + " -> ".join([*path, node, target])
            if target not in state:
                visit(target, [*path, node])
        state[node] = 2

    for node in edges:
        if node not in state:
            visit(node, [])


def test_stages_never_import_a_later_stage():
    order = ["pipeline.study", "pipeline.ingest", "pipeline.validate", "pipeline.score", "pipeline.analyze", "pipeline.report"]
    graph = imports()
    for position, stage in enumerate(order):
        later = order[position + 1 :]
        for name, targets in graph.items():
            if name == stage or name.startswith(stage + "."):
                bad = [t for t in targets if any(t == s or t.startswith(s + ".") for s in later)]
                assert not bad, f"{name} (a stage before {later[0]}) imports {bad}"
    for name, targets in graph.items():  # the edges: only the command line imports it
        assert "pipeline.cli" not in targets, name
