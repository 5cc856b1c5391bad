"""The two wings stay apart: production never imports the workshop, and the layers only point downwards.

The contracts are import-linter's, in pyproject.toml (``make lint`` runs them too). The second test plants a
production -> workshop import in a copy of the package, so a contract that stopped catching it would fail here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from hotel_pipeline.core import settings

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run the project's contracts over the package under ``root`` (its own pyproject.toml), without a cache."""
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache", "--no-logo"],
                          cwd=root, env={"PYTHONPATH": str(root), "PATH": str(LINT_IMPORTS.parent)},
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_import_contracts_hold() -> None:
    result = lint_imports(settings.REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_production_import_of_the_workshop_breaks_the_contracts(tmp_path: Path) -> None:
    shutil.copytree(settings.REPO_ROOT / "hotel_pipeline", tmp_path / "hotel_pipeline",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(settings.REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    planted = tmp_path / "hotel_pipeline" / "core" / "planted.py"
    planted.write_text("from hotel_pipeline.workshop.dining.market import generate_market  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "hotel_pipeline.core.planted -> hotel_pipeline.workshop.dining.market" in result.stdout
    assert "Production never imports the workshop BROKEN" in result.stdout


def unlayered_packages(pyproject: dict, root: Path) -> list[str]:
    """Production packages and top-level modules of ``root`` that no layer of the layers contract names.

    Top-level modules count too: a module in no layer (``execution``, ``celery_worker``) may import anything.
    """
    contract = next(c for c in pyproject["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    named = {m.strip() for layer in contract["layers"] for m in layer.split(":")}
    package = root / "hotel_pipeline"
    packages = {f"hotel_pipeline.{p.parent.name}" for p in package.glob("*/__init__.py")}
    modules = {f"hotel_pipeline.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    return sorted(m for m in packages | modules if m not in named)


def test_every_production_package_is_in_a_layer() -> None:
    """A package in no layer may import anything: privacy imported a PMS module while the PMS imported privacy."""
    pyproject = tomllib.loads((settings.REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert unlayered_packages(pyproject, settings.REPO_ROOT) == []
    contract = next(c for c in pyproject["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    contract["layers"] = [layer for layer in contract["layers"] if layer != "hotel_pipeline.privacy"]
    assert unlayered_packages(pyproject, settings.REPO_ROOT) == ["hotel_pipeline.privacy"]
