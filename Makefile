# The two commands of the quick start: `make serve` and `make test`.
# `make serve PORT=8080` serves elsewhere than http://127.0.0.1:8000. HOST=0.0.0.0 (every
# interface) also needs GATEWAY_JWT_SECRET: the demo's development secret is published.
VENV ?= .venv
PYTHON ?= python3
HOST ?= 127.0.0.1
# Two test workers a core: much of a test's time is spent waiting on sockets and servers.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))
PORT ?= 8000

# Serving installs the package alone; the tests add their tools. Each stamp is renewed when
# pyproject.toml changes.
SERVE_INSTALLED := $(VENV)/.installed-serve
TEST_INSTALLED := $(VENV)/.installed-test

$(VENV)/bin/pip:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

$(SERVE_INSTALLED): pyproject.toml | $(VENV)/bin/pip
	$(VENV)/bin/pip install --quiet -e .
	touch $@

# What the tests install includes what serving needs, so it renews both stamps.
$(TEST_INSTALLED): pyproject.toml | $(VENV)/bin/pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@ $(SERVE_INSTALLED)

# graphql-http for the GraphQL-over-HTTP audit test, where Node is installed; without it that
# one test is skipped, saying why.
AUDIT_INSTALLED := tests/http_audit/node_modules/.package-lock.json

$(AUDIT_INSTALLED): tests/http_audit/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tests/http_audit --no-audit --no-fund --loglevel=error \
			|| echo "make: graphql-http could not be installed; the audit test will be skipped"; \
	else echo "make: no npm; the GraphQL-over-HTTP audit test will be skipped"; fi

.PHONY: install serve test schema bench fuzz
install: $(SERVE_INSTALLED)

serve: $(SERVE_INSTALLED)
	$(VENV)/bin/instance-gateway serve --demo --host $(HOST) --port $(PORT)

test: $(TEST_INSTALLED) $(AUDIT_INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -n $(TEST_WORKERS)

# A long fuzz campaign, which `make test` does not run: 20,000 generated requests, valid, broken
# and hostile, on the embedded store.
fuzz: $(TEST_INSTALLED)
	FUZZ_EXAMPLES_PER_CALLER=10000 $(VENV)/bin/pytest tests/test_fuzz.py -m "not wire" -p no:cacheprovider

schema: $(SERVE_INSTALLED)
	$(VENV)/bin/instance-gateway export-schema > schema.graphql
	$(VENV)/bin/instance-gateway export-openapi > openapi.json

# `make bench BENCH_ARGS="--scale 0.2"` for a quick look; `.venv/bin/python -m benchmarks --help` says more.
bench: $(TEST_INSTALLED)
	$(VENV)/bin/python -m benchmarks $(BENCH_ARGS)
