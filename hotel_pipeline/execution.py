"""How the code location executes its runs' steps: in the run's own processes, or on Celery workers.

``HOTEL_PIPELINE_EXECUTOR`` chooses: ``multiprocess`` (default: the steps of a run in subprocesses of one machine,
two at a time), ``in_process`` (one process, for debugging) or ``celery`` (dagster-celery: every step is a task on a
broker, run by whichever worker takes it, so the steps of many hotel partitions spread over machines).

Celery settings come from the environment, never from YAML or the UI: ``HOTEL_CELERY_BROKER_URL`` (default the local
RabbitMQ, ``amqp://guest:guest@127.0.0.1:5672//``) and ``HOTEL_CELERY_BACKEND_URL`` (default the local Redis,
``redis://127.0.0.1:6379/0``). They are bound as environment variables, so a password in a broker URL never shows in
the run config. Workers start with ``celery -A hotel_pipeline.celery_worker worker`` and the same environment.

Why acks-late: a worker acknowledges a step's task only when the step has finished. A worker killed mid-step (a
lost machine, an OOM kill) leaves its task unacknowledged, the broker hands it to another worker, and the step runs
again. Every warehouse write is an idempotent transaction, so a repeated step gives the same warehouse.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

EXECUTOR_ENV = "HOTEL_PIPELINE_EXECUTOR"
BROKER_ENV = "HOTEL_CELERY_BROKER_URL"
BACKEND_ENV = "HOTEL_CELERY_BACKEND_URL"
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
DEFAULT_BACKEND = "redis://127.0.0.1:6379/0"

#: Celery app settings shared by the executor (which submits) and the workers (which run): they must agree.
CELERY_APP_CONFIG: dict[str, Any] = {
    "task_acks_late": True,  # acknowledge a step only once it has run: a killed worker's step is redelivered
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,  # a worker holds one step at a time, so a lost worker loses at most one
    "broker_connection_retry_on_startup": True,
    "result_expires": 24 * 3600,
}


def broker_url() -> str:
    return os.environ.get(BROKER_ENV) or DEFAULT_BROKER


def backend_url() -> str:
    return os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND


def celery_executor() -> dg.ExecutorDefinition:
    """dagster-celery's executor with this project's broker, backend and acks-late settings."""
    from dagster_celery import celery_executor as dagster_celery_executor

    os.environ.setdefault(BROKER_ENV, DEFAULT_BROKER)
    os.environ.setdefault(BACKEND_ENV, DEFAULT_BACKEND)
    return dagster_celery_executor.configured({
        "broker": {"env": BROKER_ENV},
        "backend": {"env": BACKEND_ENV},
        "config_source": dict(CELERY_APP_CONFIG),
        # A step that raises is retried as its asset's RetryPolicy says; a step whose worker was lost is redelivered.
        "retries": {"enabled": {}},
    }, name="celery")


def executor_from_env() -> dg.ExecutorDefinition:
    """The executor ``HOTEL_PIPELINE_EXECUTOR`` names (see the module docstring)."""
    choice = (os.environ.get(EXECUTOR_ENV) or "multiprocess").strip().lower()
    if choice == "multiprocess":
        # DuckDB has one writer: warehouse-writing steps share the WAREHOUSE_POOL; the rest may run in parallel.
        return dg.multiprocess_executor.configured({"max_concurrent": 2})
    if choice == "in_process":
        return dg.in_process_executor
    if choice == "celery":
        return celery_executor()
    raise ValueError(f"{EXECUTOR_ENV}={choice!r}: expected multiprocess, in_process or celery")
