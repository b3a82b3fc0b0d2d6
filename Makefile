# The README's two commands: `make demo` (whole flow on the embedded synthetic default) and `make test`.
# Both create the virtual environment from the project's own files on a fresh machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.munet-installed
export TF_CPP_MIN_LOG_LEVEL ?= 2
export TF_ENABLE_ONEDNN_OPTS ?= 0

.PHONY: setup demo test lint test-aarch64

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[train,edge,dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/munet-bench flow --out report

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python .ci/lint_imports.py

test: lint
	$(BIN)/python -m pytest -q --durations=15

test-aarch64:
	bash .ci/aarch64.sh
