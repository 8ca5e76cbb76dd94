# The two commands of the README, the checks, and the faster loops beside them.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PACKAGES := dialcues_core dialcues_rest dialcues_grpc dialcues_cli

.PHONY: run test test-fast check lint typecheck fmt gen-protos check-protos install bench

$(BIN)/dialcues: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/dialcues

install: $(BIN)/dialcues

# The demo lets webhooks reach local receivers (http, loopback): DIALCUES_WEBHOOKS_ALLOW_PRIVATE.
run: install
	DIALCUES_WEBHOOKS_ALLOW_PRIVATE=$${DIALCUES_WEBHOOKS_ALLOW_PRIVATE:-1} $(BIN)/dialcues serve

# Every test: the README's command, and what CI runs (.ci/run).
test: install
	$(BIN)/python -m pytest -q

# Everything not marked slow (all of tests/e2e and most of the series oracle): about a minute
# and a half on two cores, for the edit-test loop. Three xdist workers (the tests wait on
# sockets as much as they compute); the tests of Vapi's SDK models share one worker, which
# pays the SDK's ~10 s import once. Bytecode is cached even where the environment says not to.
test-fast: install
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -m "not slow" -n 3 --dist loadgroup

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(PACKAGES)
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy $(PACKAGES)

# Apply ruff's safe fixes and format everything.
fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# dialcues_grpc/_pb is generated from proto/ (never edited by hand).
gen-protos: install
	$(BIN)/python scripts/gen_protos.py

check-protos: install
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	$(BIN)/python scripts/gen_protos.py --out "$$out/_pb" && \
	diff -r -q -x __pycache__ "$$out/_pb" dialcues_grpc/_pb && echo "dialcues_grpc/_pb matches proto/"

# The benchmarks of bench/README.md, each with its default arguments (several minutes each).
bench: install
	$(BIN)/python bench/api.py
	$(BIN)/python bench/grpc.py
	$(BIN)/python bench/dispatch.py lateness
	$(BIN)/python bench/listing.py sqlite

check: lint test
