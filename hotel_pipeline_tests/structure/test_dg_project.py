"""The project is a ``dg`` project: ``dg check defs`` loads the code location of a clean clone.

The clone holds only what is committed (no data/dagster_home, no warehouse, no .venv); the check runs with this
environment's tools, the clone's own code on the path, and none of the tests' HOTEL_* variables.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hotel_pipeline.core import settings

BIN = Path(sys.executable).parent


def clean_clone(dest: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(settings.REPO_ROOT), str(dest)], check=True, timeout=120)
    return dest


def dg_check_defs(project: Path, dagster_home: Path) -> subprocess.CompletedProcess[str]:
    dagster_home.mkdir(exist_ok=True)
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "VIRTUAL_ENV": str(BIN.parent), "PYTHONPATH": str(project),
           "DAGSTER_HOME": str(dagster_home), "HOME": os.environ.get("HOME", str(dagster_home))}
    return subprocess.run([str(BIN / "dg"), "check", "defs"], cwd=project, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_dg_check_defs_passes_on_a_clean_clone(tmp_path: Path) -> None:
    project = clean_clone(tmp_path / "clone")
    result = dg_check_defs(project, tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All definitions loaded successfully" in result.stdout + result.stderr


def test_dg_check_defs_fails_on_a_broken_code_location(tmp_path: Path) -> None:
    project = clean_clone(tmp_path / "clone")
    with (project / "hotel_pipeline" / "definitions.py").open("a", encoding="utf-8") as fh:
        fh.write("\nimport dagster as _dg\n\ndefs = _dg.Definitions.merge(defs, _dg.Definitions(assets=[\n"
                 "    _dg.AssetSpec('hotels')]))  # a second definition of an asset\n")
    result = dg_check_defs(project, tmp_path / "home")
    assert result.returncode != 0
    assert "hotels" in result.stdout + result.stderr
