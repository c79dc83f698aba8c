# Two commands set up a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The llm extra builds llama-cpp-python from source once (~6 min on 2 cores); pip's wheel
# cache (~/.cache/pip) keeps the wheel, so later installs take seconds.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2

.PHONY: run test install install-test lint bench clean

$(BIN)/asts: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(BIN)/asts

install: $(BIN)/asts

$(VENV)/.test-extras: $(BIN)/asts
	@echo "installing the test and llm extras (the first time builds llama-cpp-python: ~6 min)"
	$(BIN)/pip install --quiet -e ".[test,llm]"
	touch $(VENV)/.test-extras

install-test: $(VENV)/.test-extras

## run: create the virtualenv, install, start the embedded stack with a demo strategy
run: install
	$(BIN)/asts up --demo

## test: install the test extras, lint, type-check and run the whole suite
PACKAGES := trading exchanges store activities workflows agents api worker bench

test: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy $(PACKAGES)
	$(BIN)/pytest --cov --cov-report=term --cov-fail-under=80

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(PACKAGES)

# bench/backtest.py compares with backtesting.py and vectorbt: only this target installs the
# bench extra (make test and CI never do).
bench: install-test
	$(BIN)/python -m bench.lifecycle
	$(BIN)/python -m bench.killswitch
	$(BIN)/python -m bench.analysis
	$(BIN)/python -m bench.exchange
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python -m bench.backtest

clean:
	rm -rf $(VENV) .asts .coverage .coverage.*
