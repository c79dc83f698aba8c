# Two commands set up a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Every install takes its versions from requirements.lock (as constraints, so the project itself
# installs editable): a fresh machine gets what CI tested. `make lock` re-resolves it.
LOCK   := requirements.lock
PIP    := $(BIN)/pip install --quiet -c $(LOCK)
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2

# The llm extra's llama-cpp-python has no Linux wheel on PyPI: it is built from source once
# (~6 min on 2 cores) into a directory keyed by its version and CMake flags, and installed from
# there. pip's own wheel cache is keyed by the sdist alone, so it would hand back a wheel built
# earlier with other flags (a -march=native one dies on a machine whose CPU lacks what the
# builder's had: AVX-512 BF16/FP16, AMX).
# The flags: no -march=native; x86-64-v3 (SSE4.2, AVX, AVX2, FMA, F16C, BMI2), which every x86-64
# machine of the last decade has and which carries ggml's fast CPU kernels; AVX-512, AVX-VNNI and
# AMX off. They are spelled out because GGML_NATIVE=OFF alone turns AVX2 and the rest off too when
# SOURCE_DATE_EPOCH is set. GGML_CPU_ALL_VARIANTS (runtime dispatch, needs GGML_BACKEND_DL) is not
# used: it compiles the CPU backend 14 times, llama-cpp-python 0.3.36 installs none of those
# variant libraries and never loads backends dynamically. LLAVA_BUILD=OFF: the multimodal
# library, loaded only for image chat formats; our models are text-only.
LLAMA_VERSION    := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
	-DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF \
	-DGGML_AVX512_BF16=OFF -DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF \
	-DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF
LLAMA_KEY        := $(shell $(PYTHON) -c \
	'import hashlib, sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest()[:12])' '$(LLAMA_CMAKE_ARGS)')
LLAMA_WHEELS     ?= $(HOME)/.cache/asts-wheels/llama-portable-$(LLAMA_VERSION)-$(LLAMA_KEY)

.PHONY: run test install install-test console lint lock llama-wheel bench clean

$(BIN)/asts: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e .
	touch $(BIN)/asts

# The console (console/, React + TypeScript, built by Vite) is built from its lock file into
# console/dist, which the API serves at /console. Rebuilt when its sources or lock change.
CONSOLE_SRC := $(shell find console/src console/index.html console/vite.config.ts console/tsconfig.json \
	console/package.json console/package-lock.json -type f 2>/dev/null)
console/dist/index.html: $(CONSOLE_SRC)
	cd console && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	touch $@

console: console/dist/index.html

install: $(BIN)/asts console/dist/index.html

# Built into a temporary directory and renamed, so an interrupted build leaves nothing to reuse.
$(LLAMA_WHEELS)/.built: | $(BIN)/asts
	@echo "building llama-cpp-python $(LLAMA_VERSION) for any x86-64-v3 CPU (~6 min on 2 cores)"
	rm -rf $(LLAMA_WHEELS).tmp && mkdir -p $(LLAMA_WHEELS).tmp
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel --quiet --no-deps --no-cache-dir \
		--no-binary llama-cpp-python -w $(LLAMA_WHEELS).tmp "llama-cpp-python==$(LLAMA_VERSION)"
	rm -rf $(LLAMA_WHEELS) && mv $(LLAMA_WHEELS).tmp $(LLAMA_WHEELS)
	touch $@

llama-wheel: $(LLAMA_WHEELS)/.built

# --only-binary: the wheel must come from $(LLAMA_WHEELS), never from a build with other flags.
$(VENV)/.test-extras: $(BIN)/asts $(LLAMA_WHEELS)/.built
	@echo "installing the test and llm extras"
	$(PIP) --find-links $(LLAMA_WHEELS) --only-binary llama-cpp-python -e ".[test,llm]"
	touch $(VENV)/.test-extras

install-test: $(VENV)/.test-extras

## run: create the virtualenv, install, start the embedded stack with a demo strategy
run: install
	$(BIN)/asts up --demo

## test: install the test extras, lint (ruff, with its security rules, and bandit), type-check and
## run the whole suite with coverage on PYTEST_WORKERS pytest-xdist workers (0: in this process).
## --dist loadfile keeps a test file on one worker, so a module-scoped server starts once; each
## worker has its own session-scoped Temporal servers.
PACKAGES := asts trading exchanges store activities workflows agents api worker bench
PYTEST_WORKERS ?= 2

test: install-test console/dist/index.html
	cd console && npm test --silent
	$(BIN)/ruff check .
	$(BIN)/bandit --quiet -c pyproject.toml -r $(PACKAGES)
	$(BIN)/mypy $(PACKAGES)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --cov --cov-report=term --cov-fail-under=80 --durations=25

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit --quiet -c pyproject.toml -r $(PACKAGES)
	$(BIN)/mypy $(PACKAGES)

## lock: re-resolve requirements.lock to the newest versions pyproject.toml allows, for CI's
## Python 3.11 on x86-64 Linux; then run `make test` and commit both. The file's leading comment
## is kept. uv runs from a throwaway virtualenv and reads only PyPI.
UV_VERSION := 0.13.9
lock:
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && $(PYTHON) -m venv "$$tmp" \
	&& "$$tmp/bin/pip" install --quiet uv==$(UV_VERSION) \
	&& { sed -n '/^#/!q;p' $(LOCK) 2>/dev/null; echo; \
	     "$$tmp/bin/uv" pip compile --quiet --no-header --upgrade --extra test --extra llm \
	       --python-version 3.11 --python-platform x86_64-unknown-linux-gnu pyproject.toml; } \
	   > "$$tmp/lock" && mv "$$tmp/lock" $(LOCK)

# bench/backtest.py compares with backtesting.py and vectorbt: only this target installs the
# bench extra (make test and CI never do). It has no lock of its own: the main lock constrains
# what it shares with the project (numpy, scipy, ...), so the bench measures the tested versions.
bench: install-test
	$(BIN)/python -m bench.lifecycle
	$(BIN)/python -m bench.killswitch
	$(BIN)/python -m bench.analysis
	$(BIN)/python -m bench.exchange
	$(BIN)/python -m bench.sdk --out BENCHMARKS.md
	$(BIN)/python -m bench.chaos --faults 100
	$(BIN)/python -m bench.api_speed
	$(BIN)/python -m bench.api_speed --processes 2
	$(PIP) -e ".[bench]"
	$(BIN)/python -m bench.backtest

clean:
	rm -rf $(VENV) .asts .coverage .coverage.* console/node_modules console/dist
