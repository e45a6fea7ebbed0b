# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# `make run` installs what running needs; `make test` (and lint, bench) add the test tools.
RUN_STAMP := $(VENV)/.installed-run-$(shell cat requirements.txt | sha1sum | cut -c1-12)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

# `make test` talks to real PostgreSQL and Redis; a value already in the environment wins.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/hat_clinic
TEST_REDIS_URL ?= redis://127.0.0.1:6379/14
# pytest-xdist workers: one per core (the machines have 2). Worker gwN uses its own test database
# (test_hat_clinic_gwN), Redis database REDIS_URL + N and Celery queue <CELERY_QUEUE>_gwN (tests/parallel.py),
# so the Redis database number plus workers must stay below 16. TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2
TEST_DIST ?= --dist load
CHECK_ENV := DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	SECRET_KEY=check-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz ALLOWED_HOSTS=localhost STATIC_MANIFEST=0

.PHONY: run test lint format venv clean bench bench-load

venv: $(DEV_STAMP)

$(RUN_STAMP):
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-run-* && touch $@

$(DEV_STAMP): $(RUN_STAMP)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-dev-* && touch $@

# Serve the demo at http://127.0.0.1:8000/. Without DATABASE_URL/REDIS_URL: SQLite, no broker,
# tasks run in-process and scheduled jobs run every minute beside the server.
run: $(RUN_STAMP)
	@export DEBUG=$${DEBUG:-1}; \
	if [ -z "$$DATABASE_URL" ]; then echo ">> Embedded mode: SQLite file db.sqlite3 (set DATABASE_URL for PostgreSQL)."; fi; \
	echo ">> Preparing the database and the demo clinic (about a minute the first time)..."; \
	$(PY) manage.py migrate --noinput -v 0 && $(PY) manage.py seed_demo --url http://127.0.0.1:8000/ || exit 1; \
	jobs_pid=""; \
	if [ -z "$$REDIS_URL" ]; then \
	  echo ">> No REDIS_URL: no broker. Tasks run in-process; scheduled jobs run every 60 s (log: run-jobs.log)."; \
	  $(PY) manage.py run_scheduled_jobs --every 60 > run-jobs.log 2>&1 & jobs_pid=$$!; \
	else echo ">> REDIS_URL set: start a worker and beat too (see README)."; fi; \
	trap '[ -n "$$jobs_pid" ] && kill $$jobs_pid 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver 127.0.0.1:8000

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(DEV_STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint
	$(CHECK_ENV) $(PY) manage.py makemigrations --check --dry-run
	$(CHECK_ENV) $(PY) manage.py check --fail-level WARNING
	SECRET_KEY=compose-check POSTGRES_PASSWORD=compose-check HAT_OWNER_PASSWORD=compose-check HAT_APP_PASSWORD=compose-check ALLOWED_HOSTS=localhost docker-compose -f docker-compose.yml config -q
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	  $(PY) -m pytest -v -n $(TEST_WORKERS) $(TEST_DIST) --durations=25

# Speed targets of the issues, measured over real HTTP against gunicorn (DEBUG off, STAFF_2FA_REQUIRED=0)
# with the scale data: on BENCH_SCALE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/hat_clinic_scale,
# loaded by seed_scale) when it exists, else on BENCH_DATABASE_URL (default .../hat_clinic_bench), and says so.
# Prints a table and writes bench-results/bench-<timestamp>.json. BENCH_ARGS="--requests 500" etc.
# `make bench-load`: the same plus the concurrent nurses (1, 10, 50 in one clinic; 10 clinics x 5; the trivial
# GET; the database check) and 300 boards polling for 60 s while doses are recorded (issue 13; ~5 minutes more).
bench: $(DEV_STAMP)
	BENCH_DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/hat_clinic_bench} $(PY) -m bench $(BENCH_ARGS)

bench-load: $(DEV_STAMP)
	BENCH_DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/hat_clinic_bench} $(PY) -m bench --load --boards $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache test-artifacts
