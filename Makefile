# The two commands a newcomer needs: `make experiment` and `make test`.
VENV      ?= .venv
PY        := $(VENV)/bin/python
BIN       := $(VENV)/bin
TOPOLOGY  ?= topologies/quickstart.yml
INVENTORY ?= inventory/local.yml
PYTEST_ARGS ?=

.PHONY: setup experiment cluster-experiment cluster-teardown test lint bench clean

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

# A three-node swarm of Docker engines in containers on this machine, then the cluster topology on it.
# The cluster stays up for more runs (`make experiment INVENTORY=inventory/cluster.yml TOPOLOGY=...`).
cluster-experiment: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(BIN)/ansible-playbook playbooks/cluster.yml -i inventory/cluster.yml
	$(BIN)/wotemu run topologies/cluster.yml -i inventory/cluster.yml

cluster-teardown: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(BIN)/ansible-playbook playbooks/cluster-teardown.yml -i inventory/cluster.yml

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
