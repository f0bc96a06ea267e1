# Two commands do everything: `make run` and `make test`. The rest are conveniences.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run sandbox test lint types check bench eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files make re-installs happen only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

# Your Slack app when SLACK_BOT_TOKEN is configured, else the sandbox in the browser; its first
# line says which.
run: $(VENV)/.installed
	@$(BIN)/twoway start

sandbox: $(VENV)/.installed
	@$(BIN)/twoway sandbox

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(VENV)/.installed-dev
	$(BIN)/mypy

check: lint types test

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/slack.py
	$(BIN)/python bench/storm.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/classifier.py
	$(BIN)/python bench/classifier.py --agency
	$(BIN)/python bench/learning.py

eval: $(VENV)/.installed-dev
	$(BIN)/twoway eval ../shared/data/mentions-dev.csv

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
