# The two commands: `make run` and `make test`. Everything else is for developers and operators.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
DATA_DIR ?= data
DEV_KEY ?= dev-key
export TXASSIST_DATA_DIR ?= $(DATA_DIR)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: help run test check unit test-browser browser-setup lint typecheck bench fuzz soak audit docker clean install install-test

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install ## serve on 127.0.0.1:8000 with the demo knowledge base (dev key: dev-key)
	@test -f $(DATA_DIR)/index/CURRENT || $(BIN)/txassist kb ingest examples/kb
	@echo "txassist on http://127.0.0.1:8000  (development API key: $(DEV_KEY))"
	TXASSIST_API_KEYS='{"$(DEV_KEY)": ["agent", "platform", "product", "admin"]}' \
	TXASSIST_LOG_FORMAT=$${TXASSIST_LOG_FORMAT:-console} \
	$(BIN)/txassist serve --host 127.0.0.1 --port 8000

lint: install-test ## ruff check and format check
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install-test ## mypy --strict on src, tests and benchmarks
	$(BIN)/mypy src tests benchmarks

# Debian's Chromium and playwright-core for the console's browser tests. Outside CI a machine that
# cannot install them skips those tests; in CI (CI=true) that fails the build.
browser-setup:
	@tests/browser/setup.sh || { [ "$${CI:-}" != "true" ] && echo "browser-setup failed: browser tests will skip (not CI)"; }

test: lint typecheck browser-setup ## the whole suite: lint, types, every test (SQLite; PostgreSQL when TXASSIST_TEST_DATABASE_URL is set)
	$(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

check: lint typecheck unit ## the quick loop before a commit: lint, types and the unit tests

unit: install-test ## tests that build no app and load no model (marker: not integration)
	$(BIN)/pytest -q -p no:cacheprovider -m 'not integration' $(PYTEST_ARGS)

test-browser: install-test browser-setup ## the console in headless Chromium
	$(BIN)/pytest -q -p no:cacheprovider -m browser tests/browser $(PYTEST_ARGS)

bench: install-test ## every benchmark; writes benchmarks/results and the README section
	$(BIN)/pip install --quiet -e '.[test,bench,train]'
	$(BIN)/python -m benchmarks.run

# Reliability: a long schemathesis run, a 5-minute soak against a server process, and the audit.
fuzz: install-test ## long schemathesis + hostile-body run (FUZZ_EXAMPLES per operation)
	$(BIN)/python -m benchmarks.fuzz --examples $${FUZZ_EXAMPLES:-500}

soak: install-test ## a soak against a server process (SOAK_SECONDS)
	$(BIN)/python -m benchmarks.soak --duration $${SOAK_SECONDS:-300} --backend $${TXASSIST_EMBEDDING_BACKEND:-auto} --trim

audit: install-test ## pip-audit of the installed dependencies
	$(BIN)/python .ci/audit.py

docker: ## build the image
	docker build -t txassist:latest .

clean: ## remove the venv and tool caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
