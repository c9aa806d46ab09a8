# The two commands of the quick start: `make serve` and `make test`.
VENV ?= .venv
PYTHON ?= python3

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

.PHONY: install serve test schema bench
install: $(VENV)/.installed

serve: $(VENV)/.installed
	$(VENV)/bin/instance-gateway serve --demo

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

schema: $(VENV)/.installed
	$(VENV)/bin/instance-gateway export-schema > schema.graphql

bench: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/bench_instances.py
