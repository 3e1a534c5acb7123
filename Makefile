# Rapport: every entry point a newcomer, CI or a developer needs.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1

.PHONY: setup browser demo serve test lint protos bench clean

setup: $(STAMP)

# torch first, from the CPU wheel pip finds on disk; then the project with its dev tools;
# then obp for the Open Bandit Dataset sample `rapport eval content` reads (its CSVs only:
# its code declares Python < 3.11 and old pins, so it comes without code dependencies).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==25.3"
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python "obp==0.5.7"
	touch $(STAMP)

# Debian's chromium, for the tests that open the HTML reports in a real browser: installed
# when missing on a Debian machine run as root; elsewhere those tests skip and say why
# (CI sets CI_REQUIRE_BROWSER=1, which turns the skip into a failure).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && { apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 \
	       || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null; }; } \
	  || echo "chromium is not installed: the browser tests will skip"; }

demo: setup
	$(BIN)/python scripts/demo.py

serve: setup
	$(BIN)/rapport db upgrade
	$(BIN)/rapport serve

lint: setup
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/lint-imports

test: setup lint browser
	$(BIN)/pytest -n 2 -q

protos: setup
	$(PY) scripts/gen_protos.py

bench: setup
	$(BIN)/python bench/import.py
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/engagement.py
	$(BIN)/python bench/content.py
	$(BIN)/python bench/outreach.py
	$(BIN)/python bench/analytics.py

clean:
	rm -rf $(VENV) .rapport .pytest_cache
