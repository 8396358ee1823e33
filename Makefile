# E2C toolkit. `make` alone lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export OPENBLAS_NUM_THREADS ?= 1

.DEFAULT_GOAL := help
.PHONY: help reports test lab synth bench clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

reports: $(STAMP) ## Build .venv if needed, then make the funder reports (synthetic data when data/raw/ has no export)
	$(BIN)/e2c reports

test: $(STAMP) ## Build .venv if needed, then lint (ruff) and run the test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lab: $(STAMP) ## Open JupyterLab on notebooks/ with the toolkit importable
	$(BIN)/jupyter lab --notebook-dir=notebooks

synth: $(STAMP) ## Write the synthetic national default export to data/synthetic/
	$(BIN)/e2c synth

bench: $(STAMP) ## Run the benchmarks (prints figures; slow)
	$(BIN)/python benchmarks/run_all.py

clean: ## Remove the virtual environment and generated files
	rm -rf $(VENV) data/synthetic data/processed reports/*/ .pytest_cache
