"""What ``hotel-pipeline webhooks serve`` has loaded when uvicorn starts serving: the receiver restarts inside the
window vendors retry in, so it must not import Dagster (seconds of CPU on a busy machine, during which every delivery is
refused) nor keep its start-up heap in the collector's way between two answers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hotel_pipeline.core import settings

#: Runs the real command up to the point uvicorn would take over, then reports what the process holds.
PROBE = """
import gc, json, sys
import uvicorn

def report(app, **options):
    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"dagster", "polars", "duckdb", "sqlalchemy", "pandera"})
    print(json.dumps({"heavy": heavy, "frozen": gc.get_freeze_count(), "routes": len(app.routes)}))

uvicorn.run = report
from hotel_pipeline.cli import main
sys.argv = ["hotel-pipeline", "webhooks", "serve", "--port", "0", "--spool", sys.argv[1]]
try:
    main()
except SystemExit as exc:
    if exc.code:
        raise
"""


def test_serve_reaches_uvicorn_without_dagster_and_with_its_start_up_heap_frozen(tmp_path: Path) -> None:
    env = {"HOTEL_PIPELINE_CONFIG": str(settings.REPO_ROOT / "data" / "portfolio.yaml"),
           "HOTEL_PIPELINE_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "spool")], env=env, capture_output=True,
                         text=True, timeout=120, cwd=settings.REPO_ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    state = json.loads(out.stdout.strip().splitlines()[-1])
    assert state["heavy"] == []
    assert state["frozen"] > 1000  # modules, routes and known keys are out of the collector's generations
    assert state["routes"] >= 2 + 3  # one POST per hotel of the demo portfolio, plus openapi, healthz, status
