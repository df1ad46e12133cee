"""The house rules a newcomer relies on, checked on the source tree.

* ``mcrage_core`` never imports streamlit (nor the dashboard), directly or through a
  dependency of one of its modules;
* packages import only from the layers below them (a lazy import inside a function
  counts too), so the dependency direction shown in docs/ARCHITECTURE.md holds;
* modules stay short enough to read: at most 400 lines (dashboard pages 150), no function
  over 80 lines;
* no private API of fairlearn is used.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "mcrage_core"
DASHBOARD = ROOT / "dashboard"

# Lowest first. A module may import its own package and any package on a lower layer.
LAYERS: list[set[str]] = [
    {"errors", "progress", "util", "__init__"},
    {"tables"},
    {"fidelity", "privacy"},
    {"diffusion"},
    {"rebalance"},
    {"evaluation"},
    {"presentation"},
    {"jobs"},
    {"commands", "cli", "__main__"},
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}

MODULE_LINES = 400
PAGE_LINES = 150
FUNCTION_LINES = 80


def _sources(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _top_package(path: Path) -> str:
    rel = path.relative_to(LIBRARY)
    return rel.parts[0].removesuffix(".py")


def _imported_packages(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "mcrage_core":  # from mcrage_core import tables
                names += [f"mcrage_core.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "mcrage_core" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_every_library_package_has_a_layer() -> None:
    packages = {_top_package(p) for p in _sources(LIBRARY)}
    assert packages <= set(LAYER_OF), f"add these to LAYERS: {sorted(packages - set(LAYER_OF))}"


def test_packages_import_only_lower_layers() -> None:
    wrong = []
    for path in _sources(LIBRARY):
        own = _top_package(path)
        for imported in _imported_packages(ast.parse(path.read_text(encoding="utf-8"))):
            if imported in LAYER_OF and LAYER_OF[imported] > LAYER_OF[own]:
                wrong.append(f"{path.relative_to(ROOT)} imports mcrage_core.{imported}")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_the_library_never_imports_the_dashboard() -> None:
    wrong = [
        str(p.relative_to(ROOT))
        for p in _sources(LIBRARY)
        if {"streamlit", "dashboard"} & _top_level_imports(p)
    ]
    assert not wrong


def _top_level_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.slow
def test_importing_every_library_module_loads_no_streamlit() -> None:
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in _sources(LIBRARY)
        if p.name != "__main__.py"
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'dashboard'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == ""


def _limit(path: Path) -> int:
    return PAGE_LINES if path.parent.name == "app_pages" else MODULE_LINES


def test_modules_are_short() -> None:
    long = [
        f"{p.relative_to(ROOT)}: {n} lines (limit {_limit(p)})"
        for p in _sources(LIBRARY, DASHBOARD)
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > _limit(p)
    ]
    assert not long, "\n".join(long)


def test_functions_are_short() -> None:
    long = []
    for path in _sources(LIBRARY, DASHBOARD):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {n} lines")
    assert not long, "\n".join(long)


def test_no_private_fairlearn_api() -> None:
    wrong = [
        str(p.relative_to(ROOT))
        for p in _sources(LIBRARY, DASHBOARD)
        if "_pmf_predict" in p.read_text(encoding="utf-8")
    ]
    assert not wrong
