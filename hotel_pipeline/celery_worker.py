"""The Celery app Dagster's step tasks run on: start workers with ``celery -A hotel_pipeline.celery_worker worker``.

The worker must use the same broker, backend and settings as the executor that submits the steps
(``hotel_pipeline.execution``); both read them from the same environment variables. A worker needs the code location's
environment too (``HOTEL_PIPELINE_CONFIG``, ``HOTEL_WAREHOUSE_URL``, ``DAGSTER_HOME`` with a Postgres instance, the
credentials), because it loads the job from this package and reports its events to that instance.
"""

from __future__ import annotations

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task, create_task

from hotel_pipeline.execution import CELERY_APP_CONFIG, backend_url, broker_url

app = make_app({"broker": broker_url(), "backend": backend_url(), "include": [],
                "config_source": dict(CELERY_APP_CONFIG)})

execute_plan = create_task(app)
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
