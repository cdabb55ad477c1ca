# Two entry points for a fresh machine with Python 3.11+ and make: `make run` and `make test`.
# Each creates or refreshes .venv by itself (the stamp depends on pyproject.toml).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit e2e bench report clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/conformance run --target reference

lint: $(STAMP)
	$(BIN)/ruff check conformance tests benchmarks
	$(BIN)/ruff format --check conformance tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) reports/allure-results reports/*.json reports/*.xml
