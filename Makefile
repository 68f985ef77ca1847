# `make train` trains the default experiment, `make test` runs the unit tests; both set up .venv on first use,
# each with what it needs (training: [train]; tests: every extra), at the versions pinned in constraints.txt.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP_INSTALL := $(PY) -m pip install --quiet --constraint constraints.txt
LOCK_VENV := .venv-lock
LATEST_VENV := .venv-latest
UNIT_TESTS := -m "not slow and not container and not e2e and not install and not database"

.PHONY: help install install-train data train test test-e2e test-install test-slow test-database test-container test-latest lint lock bench bench-quality clean

install: $(VENV)/.installed-dev  ## everything: training, serving, export, sweeps and the test tools

install-train: $(VENV)/.installed-train  ## training only (pip install -e '.[train]')

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-train: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP_INSTALL) -e '.[train]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP_INSTALL) -e '.[dev]'
	touch $@ $(VENV)/.installed-train

data: install-train  ## fetch MNIST into data/ (offline fallback included)
	$(VENV)/bin/condgan data mnist --data-dir data

train: data  ## the default experiment; extra Hydra overrides via ARGS="trainer.max_epochs=1"
	$(PY) run.py $(ARGS)

test: install  ## the unit tests, every module, offline, in a few minutes, a process per core (CI runs them first)
	$(PY) -m pytest --numprocesses=auto --maxprocesses=4 $(UNIT_TESTS) $(ARGS)

test-e2e: install  ## every documented command run as typed, and the other multi-process runs (CI runs them)
	$(PY) -m pytest -m e2e $(ARGS)

test-install: install  ## the wheel in fresh venvs (serving, training), condgan run from an empty folder (CI)
	$(PY) -m pytest -m install $(ARGS)

test-slow: install  ## minutes-long tests on real data
	$(PY) -m pytest -m slow $(ARGS)

test-database: install  ## sweeps in real SQLite and PostgreSQL databases (Debian's postgresql; CI runs this)
	$(PY) -m pytest -m database $(ARGS)

test-container: install  ## build the serving image with podman and start it (root, podman, mmdebstrap; CI runs this)
	$(PY) -m pytest -m container $(ARGS)

lint: install  ## ruff (lint and format) and import-linter (the package's layers), as pyproject.toml sets them
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

test-latest:  ## the unit tests on the newest Lightning, Hydra, torchmetrics, W&B... pyproject.toml allows (torch as pinned)
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	grep -E '^(torch|torchvision)==' constraints.txt > $(LATEST_VENV)/torch-only.txt
	$(LATEST_VENV)/bin/python -m pip install --quiet --constraint $(LATEST_VENV)/torch-only.txt -e '.[dev]'
	$(LATEST_VENV)/bin/python -m pip list 2>/dev/null | grep -iE '^(lightning|hydra-core|omegaconf|torchmetrics|wandb|fastapi|torch|torchvision) '
	$(LATEST_VENV)/bin/python -m pytest --numprocesses=auto --maxprocesses=4 $(UNIT_TESTS) -p no:cacheprovider $(ARGS)

lock:  ## refresh constraints.txt: newest versions pyproject.toml allows, kept only if the fast tests pass with them
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet -e '.[dev]'
	$(LOCK_VENV)/bin/python -m pytest --numprocesses=auto --maxprocesses=4 $(UNIT_TESTS) -q -p no:cacheprovider
	{ sed -n '/^#/p' constraints.txt; $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable \
		| sed -E 's/\+[A-Za-z0-9.]+$$//'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(LOCK_VENV)

bench: install  ## throughput benchmark → docs/benchmarks.md
	$(PY) -m bench.throughput

bench-quality: install  ## FID, label accuracy, recall of the default and the assignment's MLP at their fixed budgets (~20 min) → docs/benchmarks.md
	$(PY) -m bench.quality

clean:  ## remove the virtual environments and build leftovers
	rm -rf $(VENV) $(LOCK_VENV) $(LATEST_VENV) src/*.egg-info .pytest_cache

help:  ## this list
	@awk -F ':.*## ' '/^[a-z][a-z0-9-]*:.*## / {printf "  make %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
