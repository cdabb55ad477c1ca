# Two entry points for a fresh machine with Python 3.11+ and make: `make run` and `make test`.
# Each creates or refreshes .venv by itself from requirements.lock (exact versions, hashes checked);
# pyproject.toml keeps the ranges for people who install the package into their own environment.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
LATEST := .venv-latest
RECORD_SEED := 20261128
# Tests spread over one worker per CPU (pytest-xdist); tests that share an expensive module fixture carry
# one xdist_group mark and stay on one worker. `make test PYTEST_WORKERS=0` runs serially.
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup

.PHONY: run test lint typecheck unit e2e bench report report-tools record selftest clean lock test-latest dist

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Refresh the lock from the ranges in pyproject.toml (newest allowed versions, with hashes).
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --generate-hashes --extra dev --all-build-deps --strip-extras --allow-unsafe \
	    --no-emit-index-url --no-emit-find-links --upgrade -o $(LOCK) pyproject.toml

# Not part of `make test` or CI: the newest versions pyproject.toml allows, in their own venv, to see
# upstream breaks before the lock moves to them.
test-latest:
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[dev]'
	$(LATEST)/bin/python -m pip list --format=freeze | grep -iE '^(hypothesis|vcrpy|httpx|pytest)=='
	$(LATEST)/bin/pytest -m "not e2e"

# The main job on the embedded default: replay the bundled cassettes offline (no network, no key).
run: $(STAMP)
	$(BIN)/conformance run

# Everything: lint, types, unit tests, end-to-end tests (real servers on loopback, the real Allure
# generator, headless Chromium, the selftest against every reference fault).
test: $(STAMP) report-tools lint typecheck
	$(PYTEST)

unit: $(STAMP)
	$(PYTEST) -m "not e2e"

e2e: $(STAMP) report-tools
	$(PYTEST) -m e2e

lint: $(STAMP)
	$(BIN)/ruff check conformance tests benchmarks
	$(BIN)/ruff format --check conformance tests benchmarks
	$(BIN)/lint-imports

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

# The wheel CI installs anywhere (examples/ci/): the suite, its schemas, the demo cassettes, the Allure pin.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist .
	@ls dist/*.whl

selftest: $(STAMP)
	$(BIN)/conformance selftest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(LATEST) tools/node_modules reports/allure-results reports/allure-report reports/*.json \
	    reports/*.xml reports/*.md reports/*.html reports/MANIFEST.sha256
