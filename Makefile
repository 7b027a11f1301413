# The two commands of the README, and the steps they are made of.
#   make up     install everything, then run the local stack with the simulator feeding it
#   make test   install everything, then lint, type-check and run the whole test suite
# Everything is fetched from the package registries; nothing is installed by hand.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FRAUD_REAL_DATA ?= $(abspath ../shared/data/sparkov-real/sparkov_real.csv)

.PHONY: up test install system-deps lint typecheck pytest bench clean

up: install
	$(BIN)/fraudstream up

test: install lint typecheck pytest

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check "uv>=0.5"
	$(PYTHON) -m uv venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(PYTHON) -m uv pip install --quiet --python $(BIN)/python -c constraints.txt -e '.[dev]'
	$(BIN)/fraudstream local fetch
	touch $@

# Debian packages that tests and the dashboard screenshots use (root only; CI runs as root).
system-deps:
	./scripts/system-deps.sh

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

pytest: install system-deps
	$(BIN)/pytest -p no:cacheprovider --durations=15

bench: install
	for b in bench/*.py; do case $$b in */_*) ;; *) $(BIN)/python $$b || exit 1;; esac; done

clean:
	rm -rf $(VENV) .fraudstream .mypy_cache .ruff_cache .pytest_cache
