# balancewatch — two commands on a fresh clone: `make pipeline` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
DATA_DIR ?= data/sample
WAREHOUSE ?= warehouse/balancewatch.db
SLACK_DEMO_PORT ?= 8765
PRESET ?= full
ENGINES_PRESET ?= small
BENCH_ENGINES ?= sqlite,postgres,spark
BENCH_OUT ?= bench/out
ARGS ?=
SPARK_PORT ?= 10000
SPARK_DIR ?= warehouse/spark
BW := $(VENV)/bin/balancewatch
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark

.PHONY: pipeline test load build monitor lint clean venv system-packages postgres slack-demo bench gx \
	spark spark-stop lock

# Every install takes its versions from $(LOCK) (constraints: exact pins for the default install,
# each extra, pip, uv and the build backend), so a fresh clone gets the tested versions. pip puts
# the locked pip, uv and setuptools into the virtualenv; uv installs the default install and dev
# (in parallel: a few times faster than pip). After changing dependencies in pyproject.toml, run
# `make lock`.
LOCK := requirements/lock.txt
UV_LOCKED = $(VENV)/bin/uv pip install --quiet --python $(VENV)/bin/python \
	--constraint $(LOCK) --build-constraint $(LOCK)
PIP_LOCKED = $(VENV)/bin/pip install --quiet --constraint $(LOCK) --build-constraint $(LOCK)

# The virtualenv is (re)built on first use and whenever pyproject.toml or the lock changes.
$(STAMP): pyproject.toml $(LOCK)
	@echo "setting up $(VENV) (first use, or pyproject.toml or $(LOCK) changed)..."
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --constraint $(LOCK) pip uv setuptools
	$(UV_LOCKED) -e '.[dev]'
	@touch $@

# Data Docs assets (Bootstrap, Font Awesome, ... pinned in monitors/docs/assets.lock.json), fetched
# with npm into the virtualenv so every Data Docs page works offline.
DOCS_ASSETS := $(VENV)/.docs-assets
$(DOCS_ASSETS): $(STAMP) monitors/docs/assets.lock.json
	@bash scripts/ensure-npm.sh
	$(VENV)/bin/python -m monitors.docs.assets
	@touch $@

venv: $(STAMP) $(DOCS_ASSETS)

# The Spark extra (dbt-spark, pyspark, pyarrow): only `make spark` and `make test` install it.
# With pip, not uv: pyspark is a ~455 MB sdist, and pip reuses the wheel it built before from its
# cache, while uv here downloads and builds it again on every fresh virtualenv (over a minute).
$(SPARK_STAMP): $(STAMP) $(LOCK)
	@echo "installing the Spark extra into $(VENV) (pyspark is a large package: up to a minute)..."
	$(PIP_LOCKED) -e '.[dev,spark]'
	@touch $@

# Re-resolve $(LOCK) from pyproject.toml (the default install, every extra) and
# requirements/tools.in (pip, uv, setuptools) with uv in a throwaway virtualenv. Pins that still
# fit are kept; UPGRADE=1 moves every package to its newest allowed version. Run it after changing
# dependencies in pyproject.toml, then `make test`, and commit the lock with pyproject.toml.
LOCK_VENV ?= $(VENV)-lock
lock:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --constraint $(LOCK) uv
	$(LOCK_VENV)/bin/uv pip compile --quiet --python $(LOCK_VENV)/bin/python --all-extras \
		--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade) \
		--output-file $(LOCK) pyproject.toml requirements/tools.in

# A local Spark Thrift Server on 127.0.0.1:$(SPARK_PORT) (metastore and tables in $(SPARK_DIR));
# prints the WAREHOUSE=spark://... setting. `make spark-stop` stops it.
spark: $(SPARK_STAMP)
	$(VENV)/bin/python -m balancewatch.spark_server start --port $(SPARK_PORT) --dir $(SPARK_DIR)

spark-stop:
	@if [ -x $(VENV)/bin/python ]; then \
		$(VENV)/bin/python -m balancewatch.spark_server stop --port $(SPARK_PORT) --dir $(SPARK_DIR); \
	else echo "no virtualenv: no Spark Thrift Server was started from here"; fi

pipeline: $(STAMP) $(DOCS_ASSETS)
	$(BW) run $(DATA_DIR) --warehouse $(WAREHOUSE) $(ARGS)

load: $(STAMP)
	$(BW) load $(DATA_DIR) --warehouse $(WAREHOUSE)

build: $(STAMP)
	$(BW) build --warehouse $(WAREHOUSE)

monitor: $(STAMP) $(DOCS_ASSETS)
	$(BW) monitor --warehouse $(WAREHOUSE)

# Rebuild the committed GX file context (gx/) from monitors/checks/suites.py and the dbt vars.
gx: $(STAMP)
	$(VENV)/bin/python -m monitors.gx_project.setup

system-packages:
	@bash scripts/ensure-system-packages.sh

# The end-to-end tests run on SQLite and PostgreSQL, and those marked `spark` on a local Spark Thrift
# Server the tests start (a JDK 17; BALANCEWATCH_TEST_ENGINES=sqlite: SQLite only).
postgres:
	@bash scripts/ensure-postgres.sh

test: $(STAMP) $(SPARK_STAMP) $(DOCS_ASSETS) system-packages postgres
	$(VENV)/bin/pytest -n 2 --dist loadgroup

# Benchmark: generate a preset's data, run every stage, compare with the sqlite3 floor.
bench: $(STAMP) $(SPARK_STAMP) system-packages postgres
	$(VENV)/bin/python -m bench --preset $(PRESET) --out $(BENCH_OUT) \
		--engines-preset $(ENGINES_PRESET) --engines $(BENCH_ENGINES)

# A local Slack-API-compatible server that prints every digest it receives (for demos).
slack-demo: $(STAMP)
	$(VENV)/bin/python -m tests.slack_demo $(SLACK_DEMO_PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf warehouse dbt/target dbt/logs gx/uncommitted .pytest_cache
