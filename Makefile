# The two commands a newcomer needs: `make experiment` and `make test`. Each installs what it needs,
# system packages included (tools/system-packages.sh; apt only when something is missing).
VENV      ?= .venv
PYTHON    ?= python3
PY        := $(VENV)/bin/python
BIN       := $(VENV)/bin
LOCK      := constraints.txt
PIP       := $(PY) -m pip install -q --disable-pip-version-check -c $(LOCK)
TOPOLOGY  ?= topologies/quickstart.yml
INVENTORY ?= inventory/local.yml
# More for `wotemu run`, e.g. RUN_ARGS='--repeat 3' or RUN_ARGS='-e experiment_duration=10'.
RUN_ARGS  ?=
PYTEST_ARGS ?=
# The Python the runtime image's wheelhouse is made with (runtime_image_wheel_python): the lock covers it too.
IMAGE_PYTHON ?= /usr/bin/python3
# ansible-runner and ansible-lint start ansible-playbook from PATH: the venv's.
VENV_PATH := PATH=$(CURDIR)/$(VENV)/bin:$$PATH

.PHONY: setup setup-dev system-control system-test experiment cluster-experiment cluster-teardown \
        test lint lock lock-upgrade bench soak clean

# The control machine: the venv with the orchestration and report packages, and the collections.
setup: $(VENV)/.installed collections/.installed

# Besides, the suite's tools and what its tests import.
setup-dev: setup $(VENV)/.installed-dev

# Phony, so that they check on every run (a second of dpkg-query) without forcing a reinstall.
system-control:
	tools/system-packages.sh control
system-test:
	tools/system-packages.sh test

$(VENV)/.installed: pyproject.toml $(LOCK) | system-control
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[control]'
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed | system-test
	$(PIP) -e '.[control,dev]'
	touch $@

collections/.installed: tools/install_collections.py requirements.yml | $(VENV)/.installed
	$(PY) tools/install_collections.py requirements.yml collections
	touch $@

experiment: setup
	$(BIN)/wotemu run $(TOPOLOGY) -i $(INVENTORY) $(RUN_ARGS)

# A three-node swarm of Docker engines in containers on this machine, then the cluster topology on it.
# The cluster stays up for more runs (`make experiment INVENTORY=inventory/cluster.yml TOPOLOGY=...`).
cluster-experiment: setup
	$(VENV_PATH) $(BIN)/ansible-playbook playbooks/cluster.yml -i inventory/cluster.yml
	$(BIN)/wotemu run topologies/cluster.yml -i inventory/cluster.yml

cluster-teardown: setup
	$(VENV_PATH) $(BIN)/ansible-playbook playbooks/cluster-teardown.yml -i inventory/cluster.yml

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/yamllint -s .
	$(VENV_PATH) $(BIN)/ansible-lint

# The suite, the benches and the soak need this machine's Docker engine and one-node swarm: the
# provision phase makes them (and starts dockerd after a reboot).
PROVISION_LOCAL = $(VENV_PATH) $(BIN)/ansible-playbook playbooks/provision.yml -i inventory/local.yml

test: setup-dev lint
	$(PROVISION_LOCAL)
	$(VENV_PATH) $(BIN)/pytest $(PYTEST_ARGS)

# Resolve pyproject.toml's dependencies into the one lock: `lock` keeps the current pins (a new
# dependency moves nothing else), `lock-upgrade` takes the newest versions allowed.
lock: setup
	$(PY) tools/lock.py $(LOCK) $(PY) $(IMAGE_PYTHON)

lock-upgrade: setup
	$(PY) tools/lock.py --upgrade $(LOCK) $(PY) $(IMAGE_PYTHON)

bench: setup-dev
	$(PROVISION_LOCAL)
	$(VENV_PATH) $(PY) -m bench

# Not in CI: a 30-minute run with a replica killed every 30 s (SOAK_MINUTES=5 for a short one).
SOAK_MINUTES ?= 30
soak: setup-dev
	$(PROVISION_LOCAL)
	SOAK_MINUTES=$(SOAK_MINUTES) $(VENV_PATH) $(PY) -m bench soak

clean:
	rm -rf $(VENV) collections build *.egg-info .pytest_cache .ruff_cache
