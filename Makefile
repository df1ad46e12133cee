# Two commands a new user needs:  make run   |   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench clean bench-peers-setup bench-peers torch lock test-min

$(STAMP): requirements.lock pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: MCRAGE needs Python 3.11 or newer; run make with PYTHON=python3.11 (or newer)")'
	@$(PYTHON) -m venv $(VENV) || { echo "error: could not create a virtual environment; on Debian/Ubuntu install it with: sudo apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	# the lock is complete except torch: --no-deps stops a dependency (opacus) from pulling
	# PyPI's CUDA torch and its NVIDIA libraries before the right build is chosen
	$(BIN)/python -m pip install -q --no-deps -r requirements.lock
	$(BIN)/python mcrage_core/util/torch_build.py --install
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

## Start the dashboard (SUPPORT2 sample is one click away on the Data page)
run: install
	$(BIN)/mcrage dashboard

## Run the whole test suite (unit, CLI, dashboard AppTest, real-browser end-to-end)
test: install
	$(BIN)/python -m pytest

## Re-choose the torch build (CPU-only, or the CUDA build the NVIDIA driver runs);
## MCRAGE_TORCH=cpu|cu126|cu128|cu130|pypi forces one
torch: install
	$(BIN)/python -m pip uninstall -q -y torch
	$(BIN)/python mcrage_core/util/torch_build.py --install

## Refresh requirements.lock (exact versions of every dependency, torch excepted:
## make install picks its build per machine). Review the diff, run make test, commit.
lock: install
	$(BIN)/python -m pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra auth --extra ray --universal --python-version 3.11 \
	  --upgrade --no-header --output-file requirements.lock.tmp
	$(BIN)/python .ci/strip_lock.py requirements.lock.tmp requirements.lock
	rm -f requirements.lock.tmp

## The declared minimum versions (requirements-min.txt) with the fast tests
VENV_MIN := .venv-min
test-min:
	$(PYTHON) -m venv $(VENV_MIN)
	$(VENV_MIN)/bin/python -m pip install -q --upgrade pip setuptools wheel
	$(VENV_MIN)/bin/python mcrage_core/util/torch_build.py --install
	$(VENV_MIN)/bin/python -m pip install -q -r requirements-min.txt
	$(VENV_MIN)/bin/python -m pip install -q --no-deps --no-build-isolation -e .
	$(VENV_MIN)/bin/python -m pip check
	$(VENV_MIN)/bin/python -m pytest -q -m "not slow and not e2e" -p no:cacheprovider

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(VENV_MIN) .pytest_cache .ruff_cache *.egg-info

## Peer benchmark (benchmarks/bench_peers.py): MOSTLY AI's engine and SDV, each in its own
## virtual environment under benchmarks/_work/peers (never a dependency of the project)
PEERS := benchmarks/_work/peers
PEER_PIP = -q -c benchmarks/peers/constraints.txt

$(PEERS)/venv-mostlyai/.installed: benchmarks/peers/requirements-mostlyai.txt
	$(PYTHON) -m venv $(PEERS)/venv-mostlyai
	$(PEERS)/venv-mostlyai/bin/pip install -q torch==2.13.0
	$(PEERS)/venv-mostlyai/bin/pip install $(PEER_PIP) --no-deps mostlyai-engine==2.7.3
	grep -v '^mostlyai-engine' benchmarks/peers/requirements-mostlyai.txt > $(PEERS)/req-mostlyai.txt
	$(PEERS)/venv-mostlyai/bin/pip install $(PEER_PIP) -r $(PEERS)/req-mostlyai.txt
	touch $@

$(PEERS)/venv-sdv/.installed: benchmarks/peers/requirements-sdv.txt
	$(PYTHON) -m venv $(PEERS)/venv-sdv
	$(PEERS)/venv-sdv/bin/pip install -q torch==2.13.0
	$(PEERS)/venv-sdv/bin/pip install $(PEER_PIP) -r benchmarks/peers/requirements-sdv.txt
	touch $@

bench-peers-setup: install $(PEERS)/venv-mostlyai/.installed $(PEERS)/venv-sdv/.installed

bench-peers: bench-peers-setup
	$(BIN)/python benchmarks/bench_peers.py
