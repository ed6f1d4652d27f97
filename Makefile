# pledge_lod: the two commands of the quick start are `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
BASE   ?= http://$(HOST):$(PORT)
# Options of `python -m bench` (bench/run.py), e.g. make bench BENCH_ARGS="--sizes 1000 --duration 5"
BENCH_ARGS ?=

.PHONY: setup serve build test test-fast tools lint lock bench clean

# The virtualenv, installed from the lock file so every machine runs the same versions.
$(BIN)/pledge-lod: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

setup: $(BIN)/pledge-lod

build: setup
	$(BIN)/pledge-lod build --base $(BASE)

## Set up, build the bundled data and serve it on $(BASE) (embedded Oxigraph store).
serve: build
	$(BIN)/pledge-lod serve --host $(HOST) --port $(PORT)

tools:
	tests/tools/install.sh

## Set up, install the tools the tests drive, and run the whole suite.
test: setup tools
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -n 2 --dist loadfile -q

## The fast tier only: the app and the CLI in-process on a release built once per session
## (no gunicorn, browser, Virtuoso or load tests; `make test` runs both tiers).
test-fast: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -n 2 --dist loadfile -q -m "not slow"

lint: setup
	$(BIN)/ruff check src tests bench

## Set up, install the tools it drives (wrk, Virtuoso) and rdflib-endpoint, and run the
## benchmark: a new section at the top of bench/RESULTS.md.
bench: setup tools
	$(BIN)/pip install -q -r bench/requirements.txt && $(BIN)/python -m bench $(BENCH_ARGS)

## Refresh the lock file from pyproject.toml (needs PyPI).
lock:
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --extra test --strip-extras --no-emit-index-url \
	  --no-emit-find-links -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) releases .pytest_cache .ruff_cache
