# Two commands a new user needs:  make run   |   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench clean bench-peers-setup bench-peers

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "error: MCRAGE needs Python 3.10 or newer; run make with PYTHON=python3.11 (or newer)")'
	@$(PYTHON) -m venv $(VENV) || { echo "error: could not create a virtual environment; on Debian/Ubuntu install it with: sudo apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

## Start the dashboard (SUPPORT2 sample is one click away on the Data page)
run: install
	$(BIN)/streamlit run dashboard/app.py

## Run the whole test suite (unit, CLI, dashboard AppTest, real-browser end-to-end)
test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info

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
