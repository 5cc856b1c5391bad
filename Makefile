# hotel-pipeline: every target bootstraps its own environment (uv, .venv) on a fresh machine.
SHELL := /bin/bash
PY ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
# Where `pip install --user uv` puts it: on PATH for every recipe, so tools that look uv up (the bench's dbt) find it.
export PATH := $(HOME)/.local/bin:$(PATH)
VENV := .venv
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: demo test dev bench bench-scale lint env

$(UV):
	@command -v uv >/dev/null 2>&1 || $(PY) -m pip install --quiet --user uv || $(PY) -m pip install --quiet uv

# --compile-bytecode: the libraries' .pyc files are written once here, not compiled again by every process that
# imports Dagster (about 5 s of CPU each where PYTHONDONTWRITEBYTECODE is set or site-packages is read-only).
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	@$$(command -v uv || echo $(UV)) sync --frozen --quiet --compile-bytecode
	@touch $@

env: $(VENV)/.synced

$(DAGSTER_HOME)/dagster.yaml:
	@mkdir -p $(DAGSTER_HOME)
	@cp data/dagster_instance.yaml $(DAGSTER_HOME)/dagster.yaml

demo: env $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/hotel-pipeline demo

test: env
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider -n 2 --dist load

# The UI over the demo's warehouse and runs, the PMS sandbox beside it on a free port, the clock at the demo's last
# night; Ctrl-C or SIGTERM stops everything (see hotel_pipeline/workshop/dev.py).
dev: env $(DAGSTER_HOME)/dagster.yaml
	@exec $(VENV)/bin/hotel-pipeline dev

bench: env
	$(VENV)/bin/hotel-pipeline bench

# Growth with the number of hotels (1, 10, 100, 1000; Postgres up to 100): SCALE_HOTELS=1,10 make bench-scale for less.
bench-scale: env
	$(VENV)/bin/python -W ignore -m hotel_pipeline.workshop.scale_bench

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-logo
