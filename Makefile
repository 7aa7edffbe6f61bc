# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: nginx run serve cluster install browser test check test-postgres check-postgres lint format bench load screenshots clean

# The virtualenv is rebuilt whenever pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,prod]"
	touch $@

install: $(BIN)/.installed

# A local .env with a random SECRET_KEY, so the app runs in production mode without a
# published secret. Never committed (.gitignore).
.env:
	@echo "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(32))')" > .env
	@echo "Wrote .env with a new random SECRET_KEY"

run: install .env
	$(FLASK) db upgrade
	PUBLIC_BASE_URL=http://$(HOST):$(PORT) $(FLASK) demo
	@echo "DeltaCrown Leaderboards: http://$(HOST):$(PORT)/  (make run PORT=8000 for another port; Ctrl+C stops)"
	@echo "A delivery worker runs alongside and sends what the Notifications line above says is on."
	PUBLIC_BASE_URL=http://$(HOST):$(PORT) ALLOWED_HOSTS=$${ALLOWED_HOSTS:-127.0.0.1,localhost} WEBHOOK_ALLOW_PRIVATE_NETWORKS=$${WEBHOOK_ALLOW_PRIVATE_NETWORKS:-true} \
	  sh -c '$(FLASK) worker & worker=$$!; trap "kill $$worker 2>/dev/null; wait $$worker" EXIT INT TERM; \
	         $(FLASK) run --host $(HOST) --port $(PORT)'

# Production-style serving (see README): gunicorn with several workers.
serve: install .env
	$(FLASK) db upgrade
	$(BIN)/gunicorn -c deploy/gunicorn.conf.py --bind $(HOST):$(PORT)

# The production topology on this machine (README, "Production"): nginx with its 1 s micro-cache
# on CLUSTER_PORT, two gunicorn instances, two delivery workers, PostgreSQL (CLUSTER_DATABASE_URL,
# created if missing) and Redis. Ctrl+C stops everything.
CLUSTER_PORT ?= 8080
CLUSTER_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/deltacrown_cluster
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx)

cluster: install nginx
	$(BIN)/python deploy/cluster.py --port $(CLUSTER_PORT) --database-url $(CLUSTER_DATABASE_URL) --demo

# Load test of the topology (bench/load.py): wrk viewers polling through nginx and directly.
load: install nginx
	$(BIN)/python bench/load.py

# Browser tests drive Debian's Chromium through Playwright (only the driver: no browser download).
browser: install
	@command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)
	@$(BIN)/python -c 'import playwright' 2>/dev/null || $(BIN)/python -m pip install --quiet "playwright>=1.45"

# The suite in two passes (README, "Tests"): everything but the browser and cluster tests spread
# over the cores (pytest-xdist), then those two folders alone, since they start servers and
# Chromium and time what they see. Both passes run even when the first fails.
PYTEST_WORKERS ?= auto
PYTEST_ARGS ?=
FAST := not browser and not cluster and not slow
define run_suite
	status=0; \
	$(1) $(BIN)/pytest -n $(PYTEST_WORKERS) -m "not browser and not cluster" $(PYTEST_ARGS) || status=$$?; \
	$(1) $(BIN)/pytest -m "browser or cluster" $(PYTEST_ARGS) || status=$$?; \
	exit $$status
endef

test: install browser nginx
	@$(call run_suite,)

test-postgres: install browser nginx
	@$(call run_suite,DATABASE_URL=$(PG_URL))

# The fast tier: no browser, cluster or slow (process-starting) tests; a few minutes.
check: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "$(FAST)" $(PYTEST_ARGS)

check-postgres: install
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -n $(PYTEST_WORKERS) -m "$(FAST)" $(PYTEST_ARGS)

# Every page (every role, 1280 and 390 px) as PNGs in screenshots/, from the browser check that
# tests/browser/test_every_page.py runs anyway; it still reports what it finds wrong.
screenshots: install browser
	rm -rf screenshots
	SCREENSHOTS_DIR=$(CURDIR)/screenshots $(BIN)/pytest tests/browser/test_every_page.py
	@echo "Screenshots in screenshots/ ($$(ls screenshots | wc -l) files)"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every benchmark, in about two minutes on a 2-core machine (standings ~25 s, import ~15 s, webhooks
# ~30 s, HTTP ~40 s with these rounds, proof uploads ~15 s); each script's own defaults measure longer (bench/README.md).
BENCH_HTTP_ARGS ?= --rounds 2 --duration 4
bench: install
	$(BIN)/python bench/standings.py
	$(BIN)/python bench/import_file.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/http_load.py $(BENCH_HTTP_ARGS)
	$(BIN)/python bench/proof_upload.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
