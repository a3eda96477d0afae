"""One-way layers: every bench module imports, and only modules of its own layer or below.

suite/config -> adapters/models -> metrics -> rows -> pipeline -> reporting/gate -> api -> cli
(DESIGN.md's flow). Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import bench

BENCH_DIR = Path(bench.__file__).parent

#: layer of each module prefix (the longest matching prefix wins); lower numbers sit lower
LAYERS = {
    "bench": 0, "bench.errors": 0, "bench.procenv": 0, "bench.checksums": 0, "bench.locations": 0,
    "bench.devices": 0, "bench.audio": 0, "bench.stats": 0, "bench.markdown": 0, "bench.resources": 0,
    "bench.figures": 0, "bench.registry": 0, "bench.filenames": 0,
    "bench.config": 1, "bench.suites": 1,
    "bench.adapters": 2, "bench.models": 2, "bench.envvars": 2,
    "bench.metrics": 3,
    "bench.rows": 4,
    "bench.pipeline": 5, "bench.scoring": 5,
    "bench.reporting": 6, "bench.gate": 6, "bench.baseline": 6, "bench.listening": 6, "bench.compare": 6,
    "bench.api": 7,
    "bench.cli": 8, "bench.__main__": 8,
}
#: the run directory's format is read by reporting and the gate: a file format, not the pipeline's machinery
READ_ONLY_FORMATS = {"bench.pipeline.rundir"}


def layer(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 1 if module != "bench" else 0, -1):  # a new top-level module needs a layer
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"{module}: no layer assigned in tests/test_layers.py")


def modules() -> list[str]:
    names = ["bench"]
    for info in pkgutil.walk_packages([str(BENCH_DIR)], prefix="bench."):
        names.append(info.name)
    return sorted(names)


def imports_of(module: str) -> set[str]:
    """bench modules ``module`` imports (at any depth of its code), resolved to module names."""
    spec = importlib.util.find_spec(module)
    tree = ast.parse(Path(spec.origin).read_text(), spec.origin)
    package = module if spec.origin.endswith("__init__.py") else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "bench")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "bench":
                continue
            for a in node.names:  # ``from bench.x import y``: y may be a submodule
                sub = f"{base}.{a.name}"
                found.add(sub if importlib.util.find_spec(base) and _is_module(sub) else base)
    return found


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@pytest.mark.parametrize("module", [m for m in modules() if m != "bench.__main__"])  # that one runs the CLI
def test_every_module_imports(module):
    importlib.import_module(module)


def test_layers_are_one_way():
    upward = []
    for module in modules():
        for dep in imports_of(module):
            if dep in READ_ONLY_FORMATS and layer(module) > layer(dep):
                continue
            if layer(dep) > layer(module):
                upward.append(f"{module} (layer {layer(module)}) imports {dep} (layer {layer(dep)})")
    assert upward == []


def test_reporting_never_runs_codecs_or_executors():
    """Reporting reads run directories; coding (executors, units, adapters) is the pipeline's."""
    bad = []
    for module in modules():
        if module.startswith("bench.reporting"):
            bad += [f"{module} imports {dep}" for dep in imports_of(module)
                    if dep.startswith(("bench.pipeline", "bench.adapters")) and dep not in READ_ONLY_FORMATS]
    assert bad == []


def test_no_import_cycles():
    graph = {m: {d for d in imports_of(m) if d in LAYERS or d.startswith("bench.")} for m in modules()}
    graph = {m: {d for d in deps if d in graph and d != m and not m.startswith(d + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep):] + [dep] if dep in path else [node, dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])
    assert cycles == []
