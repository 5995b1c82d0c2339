"""The package's shape: no import cycle between any two modules, and the stage contract holds."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def _cycle(graph: grimp.ImportGraph) -> list[str] | None:
    """One import cycle among checker's modules, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.find_modules_directly_imported_by(module)):
            if not target.startswith("checker"):
                continue
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph.modules):
        if module.startswith("checker") and module not in state and (found := visit(module)):
            return found
    return None


def test_no_import_cycle() -> None:
    graph = grimp.build_graph("checker")
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_cycle_finder_finds_a_planted_cycle() -> None:
    graph = grimp.ImportGraph()
    for m in ("checker.a", "checker.b", "checker.c"):
        graph.add_module(m)
    graph.add_import(importer="checker.a", imported="checker.b")
    graph.add_import(importer="checker.b", imported="checker.c")
    graph.add_import(importer="checker.c", imported="checker.a")
    assert _cycle(graph) == ["checker.a", "checker.b", "checker.c", "checker.a"]


def test_layer_contract_is_kept() -> None:
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout
