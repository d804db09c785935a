# Two set-up commands: `make demo` and `make test`. Both create or reuse .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test test-slow lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/symnoether demo

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/symnoether demo --smoke

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow
	$(BIN)/python -m pytest -q -m fuzz --hypothesis-profile=long

lint: $(STAMP)
	$(BIN)/ruff check symnoether tests benchmarks examples

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_symbolic.py
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_integrate.py

clean:
	rm -rf runs out .pytest_cache
