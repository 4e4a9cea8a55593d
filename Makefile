# The two commands of the README: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-test translations messages chromium lint clean

demo: install  ## Install idp, migrate SQLite, create the demo data and serve on :5000.
	$(BIN)/idp demo

test: install-test chromium  ## Install test dependencies and run lint and the whole suite.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[clients]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed translations

install-test: $(VENV)/.installed-test translations

translations: | $(BIN)/python
	$(BIN)/pybabel compile -d idp/translations -D messages

# After changing any user-facing string: refresh the catalogue, then translate what is new.
messages: install-test
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --project=idp \
	  --copyright-holder="the idp authors" --add-comments=TRANSLATORS: --no-wrap \
	  -o idp/translations/messages.pot .
	$(BIN)/pybabel update -i idp/translations/messages.pot -d idp/translations -D messages --no-wrap

# Browser tests drive Debian's Chromium; Playwright cannot download its own here.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) instance test-output .pytest_cache
