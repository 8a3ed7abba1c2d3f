# One entry point for set-up and checks, the same locally and in CI.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck fix bench demo clean lock

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when the project definition changes.
$(STAMP): pyproject.toml requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install -q -c requirements-dev.lock -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/earful db upgrade
	$(BIN)/earful run

demo: $(STAMP)
	$(BIN)/earful demo

lint: $(STAMP)
	$(BIN)/ruff format --check src workers tests
	$(BIN)/ruff check src workers tests

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	bash tests/setup_system.sh
	$(BIN)/pytest -q

fix: $(STAMP)
	$(BIN)/ruff format src workers tests
	$(BIN)/ruff check --fix src workers tests

bench: $(STAMP)
	$(BIN)/earful bench --out benchmarks/latest.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Re-pin the dev environment after a dependency change in pyproject.toml.
lock: $(STAMP)
	{ sed -n 1,2p requirements-dev.lock; $(BIN)/pip freeze --exclude-editable | grep -v '^earful'; } > requirements-dev.lock.new
	mv requirements-dev.lock.new requirements-dev.lock
