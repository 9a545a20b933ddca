# The same commands for everyone, CI included.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres lint bench migrations clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Kizuna needs Python 3.11 or newer as '$(PYTHON)' (make PYTHON=python3.12 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	KIZUNA_AUTO_MIGRATE=1 $(BIN)/kizuna serve

test: test-sqlite test-postgres

# The screenshot tests (tests/render) and the Agents Playground test (tests/playground) drive Chromium through
# Playwright's sync API, which keeps an event loop running in pytest's thread until the session ends: each runs
# in a pytest process of its own, after the rest.
test-sqlite: $(STAMP)
	$(BIN)/python -m pytest -q --ignore=tests/render --ignore=tests/playground --ignore=tests/browser
	$(BIN)/python -m pytest -q tests/render
	$(BIN)/python -m pytest -q tests/playground
	$(BIN)/python -m pytest -q tests/browser

test-postgres: $(STAMP)
	@if [ -n "$$KIZUNA_TEST_POSTGRES_URL" ]; then \
		echo "== PostgreSQL half: $$KIZUNA_TEST_POSTGRES_URL"; \
		KIZUNA_TEST_DATABASE=postgres $(BIN)/python -m pytest -q -m "not sqlite_only" --ignore=tests/render --ignore=tests/playground --ignore=tests/browser; \
	else \
		echo "== PostgreSQL half SKIPPED: set KIZUNA_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run it"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy core cards adapters kizuna
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

# Write a migration for model changes (the migrations are committed).
migrations: $(STAMP)
	KIZUNA_DATABASE_URL=sqlite://$$(mktemp -d)/schema.sqlite3 $(BIN)/tortoise -c core.db.TORTOISE_ORM makemigrations

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
