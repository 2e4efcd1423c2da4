# FlowPilot. `make run` starts the whole product; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
WORKER_CONCURRENCY ?= 2

# Services used by the tests (and by `make bench`); CI sets the same.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/flowpilot
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
TEST_ENV = DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	SECRET_KEY=$${SECRET_KEY:-flowpilot-test-secret-key-not-for-production}

.PHONY: install frontend browser run web worker beat test bench bench-graph loadtest migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

install: $(VENV)/.installed

## The designer (frontend/): npm packages from package-lock.json, built into frontend/dist/ (served at /).
NPM ?= npm
FRONTEND_SOURCES := $(shell find frontend/src frontend/index.html frontend/vite.config.ts frontend/tsconfig.json -type f 2>/dev/null)

frontend/node_modules/.installed: frontend/package-lock.json
	cd frontend && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

frontend/dist/index.html: frontend/node_modules/.installed $(FRONTEND_SOURCES)
	cd frontend && $(NPM) run build --silent

frontend: frontend/dist/index.html

## Debian's chromium for the browser tests (never a downloaded browser); installed when missing.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the browser tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "chromium could not be installed: the browser tests will skip (and fail in CI)"; test -z "$$CI"; }; }

migrate: install
	$(BIN)/python manage.py migrate --noinput

## The whole product on the embedded default (SQLite, no Redis): API, worker, scheduler in one process.
run: install frontend
	PORT=$(PORT) HOST=$(HOST) $(BIN)/python manage.py serve

## Services mode (DATABASE_URL, REDIS_URL, SECRET_KEY set): one command per process.
web: install frontend
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

worker: install
	$(BIN)/celery -A flowpilot worker -Q flowpilot.steps,flowpilot.control -l info \
		--concurrency $(WORKER_CONCURRENCY)

beat: install
	$(BIN)/celery -A flowpilot beat -l info

test: install frontend browser
	cd frontend && $(NPM) test --silent
	$(BIN)/lint-imports --no-cache  # the layers of the code (.importlinter)
	$(TEST_ENV) CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(TEST_ENV) $(BIN)/python -m benchmarks.diamond $(BENCH_ARGS)

# The web tier in services mode over HTTP: N concurrent clients against the real web, workers and beat
# (its own database and Redis db; see benchmarks/loadtest.py). LOADTEST_ARGS="--clients 500".
loadtest: install
	$(TEST_ENV) $(BIN)/python -m benchmarks.loadtest $(LOADTEST_ARGS)

# Does a step cost more in a bigger graph? Save + activate of 100 to 10,000 steps, a 5- vs a 2,000-step run
# (in-process, its own database; see benchmarks/graph_size.py).
bench-graph: install
	$(TEST_ENV) $(BIN)/python -m benchmarks.graph_size $(BENCH_ARGS)

# The metrics endpoints over 1,000,000 task executions in PostgreSQL (its own database; see benchmarks/metrics.py).
bench-metrics: install
	$(TEST_ENV) $(BIN)/python -m benchmarks.metrics $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var frontend/node_modules frontend/dist
