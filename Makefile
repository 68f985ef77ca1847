# `make train` trains the default experiment, `make test` runs the tests; both set up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install data train test test-slow bench bench-quality clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

data: install  ## fetch MNIST into data/ (offline fallback included)
	$(PY) -m condgan.data mnist --data-dir data

train: data  ## the default experiment; extra Hydra overrides via ARGS="trainer.max_epochs=1"
	$(PY) run.py $(ARGS)

test: install  ## fast offline tests (CI runs this)
	$(PY) -m pytest -m "not slow" $(ARGS)

test-slow: install  ## minutes-long tests on real data
	$(PY) -m pytest -m slow $(ARGS)

bench: install  ## throughput benchmark → docs/benchmarks.md
	$(PY) bench/throughput.py

bench-quality: install  ## FID / label accuracy of the MNIST experiments in 300 s each (~25 min) → docs/benchmarks.md
	$(PY) bench/quality.py

clean:
	rm -rf $(VENV) src/*.egg-info .pytest_cache
