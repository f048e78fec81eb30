# Agora — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export AGORA_DATA_DIR ?= var

.PHONY: install dev run test lint bench messages screenshots clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

dev: $(VENV)/.dev-installed

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

## make run: install, migrate the SQLite database in ./var, load the demo once, serve on :8000
run: install
	$(BIN)/agora migrate
	$(BIN)/agora demo
	$(BIN)/agora serve --host 127.0.0.1 --port 8000

## make test: lint, then the whole suite (also on PostgreSQL when AGORA_TEST_POSTGRES_URL is set)
test: dev
	$(BIN)/ruff check agora tests bench scripts
	$(BIN)/pytest

lint: dev
	$(BIN)/ruff check agora tests bench scripts

## make bench: the benchmarks in bench/ (figures go to docs/bench/)
bench: dev
	$(BIN)/python bench/timeline.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/chat.py
	$(BIN)/python bench/payments.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/train.py
	$(BIN)/python bench/assistant.py
	$(BIN)/python bench/search_ranking.py

## make messages: extract the web app's interface text and merge it into the de and zh_Hans catalogs
messages: dev
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location -o agora/web/locale/messages.pot .
	$(BIN)/pybabel update -i agora/web/locale/messages.pot -d agora/web/locale --ignore-obsolete

## make screenshots: the main pages at phone and desktop widths, in docs/screenshots/
screenshots: dev
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
