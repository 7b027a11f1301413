"""Every import points down the layers, no files import each other in a circle, and the drawing
in docs/architecture.md is the code's."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "architecture.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("architecture", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["architecture"] = module
    spec.loader.exec_module(module)
    return module


architecture = _script()


def _rank() -> dict[str, tuple[int, int]]:
    """Component → (layer from the top, place in the layer from the left)."""
    return {
        name: (layer, place)
        for layer, (_, members) in enumerate(architecture.LAYERS)
        for place, name in enumerate(members)
    }


def test_every_component_has_a_layer_and_every_layer_lists_components() -> None:
    graph = architecture.import_graph()
    components = {architecture.component(module) for module in graph}
    assert components == set(_rank())


def test_every_import_points_down() -> None:
    rank = _rank()
    upward = sorted(
        f"{module} imports {target}"
        for module, imported in architecture.import_graph().items()
        for target in imported
        if architecture.component(target) != architecture.component(module)
        and rank[architecture.component(target)] <= rank[architecture.component(module)]
    )
    assert upward == []


def test_no_files_import_each_other_in_a_circle() -> None:
    graph = architecture.import_graph()
    modules = set(graph)

    def reaches(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [target for target in graph[start] if target in modules]
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo += [target for target in graph[current] if target in modules]
        return seen

    # A package's __init__ re-exporting its own modules is not a circle between files.
    files = [module for module in graph if not _is_package(module)]
    circles = sorted(module for module in files if module in reaches(module))
    assert circles == []


def _is_package(module: str) -> bool:
    relative = Path(*module.split(".")[1:])
    return (architecture.PACKAGE / relative / "__init__.py").exists()


def test_the_drawing_is_the_code() -> None:
    assert architecture.main(["--check"]) == 0
