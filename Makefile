# The README's two commands: `make demo` (whole flow on the embedded synthetic default) and `make test`.
# Both create the virtual environment from the project's own files on a fresh machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.munet-installed
export TF_CPP_MIN_LOG_LEVEL ?= 2
export TF_ENABLE_ONEDNN_OPTS ?= 0

.PHONY: test-slow setup demo test lint test-aarch64 web

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[train,edge,dev]"
	touch $(STAMP)

setup: $(STAMP)

# MediaPipe Tasks (the phone/web runtime) for the tests that run models through its Python ImageSegmenter: a separate
# venv (mediapipe's opencv-contrib-python clashes with opencv-python-headless), from .ci/requirements-mediapipe.txt
# plus munet itself without dependencies. Measured: 15 s with a warm pip cache, 41 s cold (mediapipe is a 43 MB wheel).
MP_VENV ?= .venv-mp
MP_STAMP := $(MP_VENV)/.munet-installed
.PHONY: mediapipe-env

$(MP_STAMP): .ci/requirements-mediapipe.txt pyproject.toml
	test -x $(MP_VENV)/bin/python || $(PY) -m venv $(MP_VENV)
	$(MP_VENV)/bin/python -m pip install -q --upgrade pip
	$(MP_VENV)/bin/python -m pip install -q -r .ci/requirements-mediapipe.txt
	$(MP_VENV)/bin/python -m pip install -q --no-deps -e .
	touch $(MP_STAMP)

mediapipe-env: $(MP_STAMP)

demo: setup
	$(BIN)/munet-bench flow --out report

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python .ci/lint_imports.py

# MUNET_REQUIRE_MEDIAPIPE: the MediaPipe tests fail instead of skipping when that environment is missing.
# `make test` leaves out the tests marked slow (each one a whole training or flow in subprocesses, 20-40 s); CI
# (.ci/run) runs `make test-slow` after it, so nothing goes untested.
test: lint mediapipe-env
	MUNET_MEDIAPIPE_PYTHON=$(abspath $(MP_VENV))/bin/python MUNET_REQUIRE_MEDIAPIPE=1 \
		$(BIN)/python -m pytest -q -m "not slow" --durations=15
	@echo "make test left out the slow tier (pytest -m slow: trainer SIGKILL/SIGINT, flow report, sweep and training resumes," \
		"two workers; about 6 min on 2 cores): run it with make test-slow (CI runs both)"

test-slow: setup
	$(BIN)/python -m pytest -q -m slow --durations=5 || [ $$? -eq 5 ]

test-aarch64:
	bash .ci/aarch64.sh

# The browser page's runtime (munet-run MODEL --web PORT): npm installs @mediapipe/tasks-vision as pinned in
# edge/web/package-lock.json; its bundle and WASM files are copied to edge/web/vendor/ (git-ignored, ~40 MB).
web:
	cd edge/web && npm ci --no-audit --no-fund --loglevel=error
	rm -rf edge/web/vendor && mkdir -p edge/web/vendor/wasm
	cp edge/web/node_modules/@mediapipe/tasks-vision/vision_bundle.mjs edge/web/vendor/
	cp edge/web/node_modules/@mediapipe/tasks-vision/wasm/* edge/web/vendor/wasm/
