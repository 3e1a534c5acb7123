# Rapport: every entry point a newcomer, CI or a developer needs.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1

.PHONY: setup demo serve test lint protos bench clean

setup: $(STAMP)

# torch first, from the CPU wheel pip finds on disk; then the project with its dev tools.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==25.3"
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(BIN)/python scripts/demo.py

serve: setup
	$(BIN)/rapport db upgrade
	$(BIN)/rapport serve

lint: setup
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/pytest -n 2 -q

protos: setup
	$(PY) scripts/gen_protos.py

bench: setup
	$(BIN)/python bench/import.py
	$(BIN)/python bench/matching.py

clean:
	rm -rf $(VENV) .rapport .pytest_cache
