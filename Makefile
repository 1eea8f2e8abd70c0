# Two commands: `make run` (set up, migrate, seed once, serve) and `make test` (set up, lint, whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ATRIUM := $(BIN)/atrium
PYTEST := $(BIN)/python -m pytest
PORT ?= 8000
# Where the admin studio writes the site's own changes as YAML (the overlay is loaded by every command).
SITE_OVERLAY ?= overlays/site
# The interface's words: English msgids in the code, the zh catalog under platform/locale (docs/translating.md).
LOCALE_DIR := platform/locale
CATALOGS := $(wildcard $(LOCALE_DIR)/*/LC_MESSAGES/atrium.po)
# What pybabel reads as a word besides _()/gettext()/ngettext()/pgettext()/N_() (tests/test_translation.py reads this line)
BABEL_KEYWORDS := word pword:1c,2 nword:1,2 NC_:1c,2 bad_request:2
PG_HINT := PostgreSQL pass skipped: set ATRIUM_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test to run the suite on PostgreSQL too.

.PHONY: setup run lint test test-sqlite test-postgres screenshots bench clean translations

setup: $(VENV)/.installed node_modules/.installed $(CATALOGS:.po=.mo)

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Compiled catalogs are built here, never committed (without them the .po is read through Babel).
$(LOCALE_DIR)/%/LC_MESSAGES/atrium.mo: $(LOCALE_DIR)/%/LC_MESSAGES/atrium.po $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -D atrium -d $(LOCALE_DIR) -l $*

# A translator's loop: extract the msgids from code and templates, merge them into each catalog,
# translate the new or fuzzy entries in the .po, then `make setup` compiles.
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg $(addprefix -k ,$(BABEL_KEYWORDS)) --no-wrap --sort-by-file --add-location=file \
		--project Atrium --version 0.1.0 --copyright-holder Atrium -o $(LOCALE_DIR)/atrium.pot .
	$(BIN)/pybabel update -D atrium -i $(LOCALE_DIR)/atrium.pot -d $(LOCALE_DIR) --no-wrap

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

run: setup
	$(ATRIUM) --site-overlay $(SITE_OVERLAY) migrate
	$(ATRIUM) --site-overlay $(SITE_OVERLAY) seed --if-empty
	@echo
	@echo "Demo logins (the password is the user name); admin opens the studio at /studio:"
	@$(ATRIUM) --site-overlay $(SITE_OVERLAY) user list
	@echo
	$(ATRIUM) --site-overlay $(SITE_OVERLAY) serve --port $(PORT) --workers 2

test: setup lint test-sqlite test-postgres

# ruff (pycodestyle, pyflakes, import order, bugbear) and mypy, both configured in pyproject.toml.
lint: setup
	$(BIN)/ruff check
	$(BIN)/mypy

test-sqlite: setup
	$(PYTEST)

test-postgres: setup
	@if [ -n "$$ATRIUM_TEST_PG_URL" ]; then \
		ATRIUM_TEST_DB=postgresql $(PYTEST) -m database; \
	elif [ -n "$$CI" ]; then \
		echo "CI must run the suite on PostgreSQL: ATRIUM_TEST_PG_URL is not set"; exit 1; \
	else \
		echo "$(PG_HINT)"; \
	fi

# Browser tests (tests/browser) run in test-sqlite; they need /usr/bin/chromium and fonts-noto-cjk
# (apt-get install -y chromium fonts-noto-cjk, as .ci/run does). This regenerates docs/screenshots/.
screenshots: setup
	$(PYTEST) tests/browser -k screenshots

bench: setup
	$(BIN)/python bench/bench_core.py

clean:
	rm -rf $(VENV) node_modules *.egg-info atrium.db atrium.db-wal atrium.db-shm $(CATALOGS:.po=.mo)
