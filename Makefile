# Two commands on a fresh machine with Python 3.11+ and make:
#   make demo   - source the bundled example orders (creates .venv on first use)
#   make test   - run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench bench-all examples clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/oms-sourcing demo examples

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks --benchmark-only -s

# one run of every table row of BENCHMARKS.md (about 16 hours on 2 cores; resumable): benchmarks/run_all.sh
bench-all: $(STAMP)
	PYTHON=$(BIN)/python bash benchmarks/run_all.sh $(OUT)

examples: $(STAMP)
	$(BIN)/python examples/generate.py examples

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks build *.egg-info
