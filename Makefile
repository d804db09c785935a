# Two set-up commands: `make demo` and `make test`. Both create or reuse .venv.
# `make docs` builds the documentation site into site/ (offline, --strict); `make test`
# builds it too. `make wheel-test` builds the wheel and sdist and tries the wheel in a
# fresh venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: demo test test-slow lint bench docs docs-serve wheel-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(DOCS_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,docs]"
	touch $(DOCS_STAMP)

demo: $(STAMP)
	$(BIN)/symnoether demo

# Two pytest processes: one process compiling every test's programs crashed once inside
# XLA's compiler (a segfault at about 75% of the suite, not reproducible per file).
test: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_[a-m]*.py
	$(BIN)/python -m pytest -q tests/test_[n-z]*.py
	$(BIN)/symnoether demo --smoke
	$(MAKE) docs

# The site needs no network to build (MathJax is loaded by the reader's browser).
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

docs-serve: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

wheel-test: $(STAMP)
	$(BIN)/python benchmarks/wheel_test.py

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
	rm -rf runs out .pytest_cache site dist
