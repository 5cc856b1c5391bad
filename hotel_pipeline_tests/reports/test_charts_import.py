"""Loading the code location does not import matplotlib: only a publish run draws, yet every process that loads the
code location (code server, each run's worker, a Celery worker, the CLI) imported it, about 1.5 s of CPU each."""

from __future__ import annotations

import ast
from pathlib import Path

import hotel_pipeline

PACKAGE = Path(hotel_pipeline.__file__).resolve().parent
#: Libraries only a step that draws needs.
DRAWING = ("matplotlib",)


def module_level_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of every import run when the module is imported: top level, and inside top-level if/try/with
    blocks (not in functions or classes)."""
    found: list[tuple[int, str]] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for field in ("body", "orelse", "finalbody", "handlers"):
                pending += getattr(node, field, [])
        elif isinstance(node, ast.ExceptHandler):
            pending += node.body
    return sorted(found)


def drawing_imports_at_load(root: Path) -> list[str]:
    """``path:line module`` of each module-level import of a drawing library in the production wing under ``root``."""
    hits = []
    for path in sorted(root.rglob("*.py")):
        if "workshop" in path.relative_to(root).parts:
            continue
        for line, module in module_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if module.split(".")[0] in DRAWING:
                hits.append(f"{path.relative_to(root)}:{line} {module}")
    return hits


def test_no_production_module_imports_matplotlib_when_loaded() -> None:
    assert drawing_imports_at_load(PACKAGE) == []


def test_the_check_sees_a_module_level_import(tmp_path: Path) -> None:
    (tmp_path / "charts.py").write_text("import io\nimport matplotlib\nif True:\n    import matplotlib.pyplot as plt\n"
                                        "def f():\n    import matplotlib.figure\n")
    assert drawing_imports_at_load(tmp_path) == ["charts.py:2 matplotlib", "charts.py:4 matplotlib.pyplot"]
