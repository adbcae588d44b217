# The two commands a newcomer needs: `make run` and `make test`. Both install what is missing.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV = python3 -m uv
endif
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test install uv chromium lint format bench worker migrate

uv:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

install: uv
	@$(UV) sync --frozen --quiet

chromium:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: install  ## serve on http://127.0.0.1:$${PORT:-8000} (embedded mode unless DATABASE_URL/REDIS_URL are set)
	@# First start: import the code sets not loaded yet (a missing data set is skipped, a bad
	@# file is reported); the portal serves whatever loaded either way.
	-$(UV) run portal data import --missing
	$(UV) run portal serve

test: install chromium  ## unit, integration (PostgreSQL, Redis, SMTP) and browser tests
	$(UV) run pytest

lint: install
	$(UV) run ruff check . && $(UV) run ruff format --check .

format: install
	$(UV) run ruff format . && $(UV) run ruff check --fix .

bench: install
	$(UV) run python bench/home_vs_bare.py

worker: install
	$(UV) run portal worker

migrate: install
	$(UV) run portal db migrate
