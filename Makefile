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

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	@$$(command -v uv || echo $(UV)) sync --frozen --quiet
	@touch $@

env: $(VENV)/.synced

$(DAGSTER_HOME)/dagster.yaml:
	@mkdir -p $(DAGSTER_HOME)
	@cp data/dagster_instance.yaml $(DAGSTER_HOME)/dagster.yaml

demo: env $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/hotel-pipeline demo

test: env
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider -n 2 --dist load

# The demo portfolio's hotels live in the loopback PMS sandbox: serve it beside the UI, with sandbox-only credentials
# (not secrets: they open nothing but the sandbox) and the clock frozen at the end of the demo.
SANDBOX_ENV = HOTEL_MEWS_CLIENT_TOKEN=$${HOTEL_MEWS_CLIENT_TOKEN:-sandbox-mews-client} \
	HOTEL_MEWS_ACCESS_TOKEN_H1=$${HOTEL_MEWS_ACCESS_TOKEN_H1:-sandbox-mews-access-h1} \
	HOTEL_CLOUDBEDS_API_KEY_H2=$${HOTEL_CLOUDBEDS_API_KEY_H2:-sandbox-cloudbeds-h2} \
	HOTEL_PIPELINE_CLOCK=$${HOTEL_PIPELINE_CLOCK:-2016-07-31T02:00:00+00:00}

dev: env $(DAGSTER_HOME)/dagster.yaml
	@export $(SANDBOX_ENV); \
	$(VENV)/bin/hotel-pipeline sandbox serve --port 8765 --vendors mews,cloudbeds & sandbox=$$!; \
	trap 'kill $$sandbox 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/dagster dev -w workspace.yaml

bench: env
	$(VENV)/bin/hotel-pipeline bench

# Growth with the number of hotels (1, 10, 100, 1000; Postgres up to 100): SCALE_HOTELS=1,10 make bench-scale for less.
bench-scale: env
	$(VENV)/bin/python -W ignore -m hotel_pipeline.workshop.scale_bench

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-logo
