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

# Two pytest processes, run side by side (most tests compile on one core, and CI has two);
# each prints its output when it ends (-Otarget), with its slowest tests. Two processes
# also because one process compiling every test's programs crashed once inside XLA's
# compiler (a segfault at about 75% of the suite, not reproducible per file).
PYTEST := $(BIN)/python -m pytest -q --durations=8

# The demo's smoke run is tests/test_demo.py (the default example, end to end).
test: $(STAMP)
	$(MAKE) --no-print-directory -j2 -Otarget test-a test-b
	$(MAKE) docs

# The two halves have about the same CPU time (per-file times measured on the 2-core
# machine, December 2026: 552 s and 565 s side by side); a new test file goes to the
# second half.
TESTS_A := $(addprefix tests/,test_batched.py test_contract.py test_data.py test_docs.py \
	test_dynamics.py test_evaluate_data.py test_exit_codes.py test_forced.py test_forces.py \
	test_forces_module.py test_lagrangian.py test_lattice_cli.py test_mechanics.py \
	test_network.py test_notebooks.py test_periodic.py test_positions.py test_quasi.py \
	test_sources.py test_stream.py test_timed.py test_train.py test_wheel.py)
TESTS_B := $(filter-out $(TESTS_A),$(wildcard tests/test_*.py))

.PHONY: test-a test-b
test-a: $(STAMP)
	$(PYTEST) $(TESTS_A)

test-b: $(STAMP)
	$(PYTEST) $(TESTS_B)

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
