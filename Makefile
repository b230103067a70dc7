# The two commands a newcomer needs: `make experiment` and `make test`.
VENV      ?= .venv
PY        := $(VENV)/bin/python
BIN       := $(VENV)/bin
TOPOLOGY  ?= topologies/quickstart.yml
INVENTORY ?= inventory/local.yml
PYTEST_ARGS ?=

.PHONY: setup experiment test lint bench clean

setup: $(VENV)/.installed collections/.installed

$(VENV)/.installed: requirements-runtime.txt requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

collections/.installed: tools/install_collections.py | $(VENV)/.installed
	$(PY) tools/install_collections.py collections
	touch $@

experiment: setup
	$(BIN)/wotemu run $(TOPOLOGY) -i $(INVENTORY)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/yamllint -s .
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(BIN)/ansible-lint

test: setup lint
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(BIN)/pytest $(PYTEST_ARGS)

bench: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m bench

clean:
	rm -rf $(VENV) collections build *.egg-info .pytest_cache .ruff_cache
