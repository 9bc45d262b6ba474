# Deep Learning Visual Lab. The README promises two commands, and both work on a fresh clone:
#   make run    start the lab (creates .venv and installs everything the first time)
#   make test   the whole test suite: unit, page (AppTest) and real-browser (Playwright + chromium)
# Also: make bench, make lint, make screenshots.
#
# torch: TORCH_SPEC is what `pip install` gets for it; a laptop without an NVIDIA GPU can use e.g.
#   make run TORCH_SPEC="torch torchvision --index-url https://download.pytorch.org/whl/cpu"

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
CHROMIUM ?= /usr/bin/chromium
PYTEST_ARGS ?=
# apt-get needs root: use sudo only when we are not root and sudo exists.
SUDO := $(shell if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then echo sudo; fi)

.PHONY: help run test bench lint screenshots install chromium clean

help:
	@echo "make run          start the lab in the browser (http://localhost:8501)"
	@echo "make test         run every test (unit, AppTest, browser)"
	@echo "make bench        labcore's training loop vs a bare PyTorch loop"
	@echo "make lint         ruff check (pyflakes, pycodestyle, isort, bugbear, pyupgrade rules)"
	@echo "make screenshots  browser tests that save screenshots to artifacts/"

run: $(STAMP)
	$(PY) -m streamlit run app/main.py

# The 15 slowest tests are listed at the end: the whole suite should stay near 15 minutes on 2 cores.
test: $(STAMP) chromium
	$(PY) -m pytest --durations=15 $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m labcore bench overhead

lint: $(STAMP)
	$(VENV)/bin/ruff check .

screenshots: $(STAMP) chromium
	mkdir -p artifacts
	$(PY) -m pytest tests/e2e -k screenshot $(PYTEST_ARGS)

install: $(STAMP)

# The virtual environment. Debian's python3 needs its python3-venv package for `-m venv`: installed on demand.
$(PY):
	@$(PYTHON) -m venv $(VENV) || { \
	  rm -rf $(VENV); \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "python3 -m venv failed: installing Debian's python3-venv"; \
	    $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv \
	      && $(PYTHON) -m venv $(VENV); \
	  else \
	    echo "python3 -m venv failed: install your system's venv support for $(PYTHON)"; exit 1; \
	  fi; }

# Everything pip installs; redone when pyproject.toml changes. The stamp is written only on success.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install $(TORCH_SPEC)
	$(PY) -m pip install -e '.[test,dev,cluster,serve,tracking]'
	touch $@

# Debian's chromium for the browser tests (never `playwright install`: it downloads a browser build).
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "$(CHROMIUM) is missing: installing Debian's chromium"; \
	    $(SUDO) apt-get update \
	      && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-dejavu-core; \
	  else \
	    echo "warning: $(CHROMIUM) is missing and there is no apt-get; the browser tests will be skipped"; \
	  fi; \
	fi

clean:
	rm -rf .pytest_cache .ruff_cache artifacts
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +
