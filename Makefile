# pledge_lod: the two commands of the quick start are `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
BASE   ?= http://$(HOST):$(PORT)
# Options of `python -m bench` (bench/run.py), e.g. make bench BENCH_ARGS="--sizes 1000 --duration 5"
BENCH_ARGS ?=

.PHONY: help setup serve build test test-fast tools lint lock bench clean

## List these targets and what each does (the `##` comments above them).
help:
	@awk -v base='$(BASE)' '/^## /{text = text (text ? " " : "") substr($$0, 4); next} \
	  /^[a-z-]+:/ && text {gsub(/\$$\(BASE\)/, base, text)} \
	  /^[a-z-]+:/ && text {split($$0, t, ":"); printf "make %-9s %s\n", t[1], text} \
	  {text = ""}' $(firstword $(MAKEFILE_LIST))

# The virtualenv, installed from the lock file so every machine runs the same versions.
$(BIN)/pledge-lod: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

## Create .venv from requirements.lock and install pledge_lod into it (once).
setup: $(BIN)/pledge-lod

## Set up and build the bundled data into releases/, minted on $(BASE).
build: setup
	$(BIN)/pledge-lod build --base $(BASE)

## Set up, build the bundled data and serve it on $(BASE) (embedded Oxigraph store).
serve: build
	$(BIN)/pledge-lod serve --host $(HOST) --port $(PORT)

## Install the tools the tests drive (rapper, Chromium, Virtuoso, wrk, OpenRefine, jsonld.js).
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

## Check the code with ruff.
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

## Remove .venv, releases/ and the caches.
clean:
	rm -rf $(VENV) releases .pytest_cache .ruff_cache
