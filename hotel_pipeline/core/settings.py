"""Where things live: every path and URL the pipeline uses, each from an environment variable with a working default.

Defaults are relative to the repository root so that a fresh clone works with no configuration at all
(see the contract's configuration table). Nothing here reads ``../shared``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

#: The bundled real data set (Antonio, Almeida, Nunes 2019, CC BY 4.0); see data/ATTRIBUTION.md.
DATASET_PATH = REPO_ROOT / "data" / "hotel_bookings.csv.gz"
SQL_MODELS_DIR = REPO_ROOT / "dbt_like_sql"


def _resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else REPO_ROOT / p


def data_dir() -> Path:
    """Root of raw/, inbox/, exports/ (``HOTEL_PIPELINE_DATA_DIR``, default ``data/``)."""
    return _resolve(os.environ.get("HOTEL_PIPELINE_DATA_DIR", "data"))


def portfolio_path() -> Path:
    """The portfolio YAML (``HOTEL_PIPELINE_CONFIG``, default the demo portfolio under ``data/``)."""
    return _resolve(os.environ.get("HOTEL_PIPELINE_CONFIG", "data/portfolio.yaml"))


#: The variable naming the warehouse (a Postgres URL may carry a password: bound to the resource as ``dg.EnvVar``).
WAREHOUSE_URL_VAR = "HOTEL_WAREHOUSE_URL"


def warehouse_url() -> str:
    """``HOTEL_WAREHOUSE_URL``: ``duckdb:///relative/or/absolute.duckdb`` or ``postgresql://user@host:port/db``."""
    return os.environ.get(WAREHOUSE_URL_VAR, "duckdb:///data/warehouse.duckdb")


def inbox_dir() -> Path:
    return data_dir() / "inbox"


def raw_dir() -> Path:
    return data_dir() / "raw"


def exports_dir() -> Path:
    return data_dir() / "exports"
