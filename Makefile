# Two entry points for a fresh machine with Python 3.11+ and make: `make run` and `make test`.
# Each creates or refreshes .venv by itself (the stamp depends on pyproject.toml).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RECORD_SEED := 20261128

.PHONY: run test lint typecheck unit e2e bench report report-tools record selftest clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The main job on the embedded default: replay the bundled cassettes offline (no network, no key).
run: $(STAMP)
	$(BIN)/conformance run

# Everything: lint, types, unit tests, end-to-end tests (real servers on loopback, the real Allure
# generator, headless Chromium, the selftest against every reference fault).
test: $(STAMP) report-tools lint typecheck
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest -m "not e2e"

e2e: $(STAMP) report-tools
	$(BIN)/pytest -m e2e

lint: $(STAMP)
	$(BIN)/ruff check conformance tests benchmarks
	$(BIN)/ruff format --check conformance tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Allure 3 (pinned, from the npm registry, into tools/) and Debian's chromium for the browser test.
report-tools:
	bash scripts/install-report-tools.sh

# The HTML report of the last run (reports/allure-report), offline; Allure only: no root, no browser.
report: $(STAMP)
	bash scripts/install-report-tools.sh --no-browser
	$(BIN)/conformance report

# Re-record the bundled cassettes from the embedded reference target.
record: $(STAMP)
	$(BIN)/conformance run --target reference --record --seed $(RECORD_SEED)

selftest: $(STAMP)
	$(BIN)/conformance selftest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) tools/node_modules reports/allure-results reports/allure-report reports/*.json \
	    reports/*.xml reports/*.md reports/*.html reports/MANIFEST.sha256
