# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench install clean docs image-test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/footfall serve --demo

# The suite runs in parallel (pytest-xdist) with one worker more than there are cores: a
# worker often waits on a server it started or on a timer, and the extra one fills that time.
# A worker that runs out of tests takes some from a busy one (worksteal), so that the run does
# not end with one worker alone on a long tail. Tests that start servers pick free ports.
WORKERS := $(shell $(PYTHON) -c "import os; print(len(os.sched_getaffinity(0)) + 1)")
test: $(STAMP)
	$(BIN)/python -m pytest -n $(WORKERS) --dist worksteal --cov=footfall --cov-report=term -q

# The deployment files (Dockerfile, compose, Kubernetes, workflows, Prometheus rules, systemd
# units) are validated offline by deploy/tools/lint, with the validators of the dev extra.
lint: $(STAMP)
	$(BIN)/ruff check footfall tests bench
	$(BIN)/ruff format --check footfall tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/bandit -q -c pyproject.toml -r footfall
	deploy/tools/fetch-promtool $(VENV)/tools
	deploy/tools/lint

# Builds the container image from a debootstrapped base and runs it (root, docker.io, debootstrap).
image-test: $(STAMP)
	FOOTFALL_IMAGE_TEST=1 $(BIN)/python -m pytest -q -s tests/deploy/test_image.py

# Benchmarks write their tables to stdout; copy them into docs/benchmarks.md with the command.
bench: $(STAMP)
	$(BIN)/python bench/ingest_http.py --duration 10 --runs 3
	$(BIN)/python bench/import_and_storage.py --events 1000000 --runs 3
	$(BIN)/python bench/import_and_storage.py --events 10000000 --runs 1
	$(BIN)/python bench/stats_queries.py --events 10000000 --runs 30
	$(BIN)/python bench/gc_pressure.py
	$(BIN)/python bench/pool_reuse.py --duration 30
	$(BIN)/python bench/dashboard_load.py --events 10000000 --users 100 --duration 60 --runs 3
	$(BIN)/python bench/dashboard_cpu.py --events 1000000 --dashboards 40
	$(BIN)/python bench/soak.py --minutes 30 --rate 200
	$(BIN)/python bench/lifecycle.py --events 100000 1000000 10000000 --runs 1

docs: $(STAMP)
	$(BIN)/footfall settings --markdown > docs/settings.md.tmp
	mv docs/settings.md.tmp docs/settings.md

clean:
	rm -rf $(VENV) .coverage .mypy_cache .ruff_cache .pytest_cache
