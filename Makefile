# Two commands a new user needs:  make run   |   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench clean

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
