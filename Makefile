# The two commands of the README, and the checks.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test check lint install bench

$(BIN)/dialcues: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/dialcues

install: $(BIN)/dialcues

# The demo lets webhooks reach local receivers (http, loopback): DIALCUES_WEBHOOKS_ALLOW_PRIVATE.
run: install
	DIALCUES_WEBHOOKS_ALLOW_PRIVATE=$${DIALCUES_WEBHOOKS_ALLOW_PRIVATE:-1} $(BIN)/dialcues serve

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy dialcues_core dialcues_rest dialcues_grpc dialcues_cli
	$(BIN)/lint-imports

check: lint test
