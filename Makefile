# shotsmith: `make demo` then `make test` on a fresh machine.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-slow bench fuzz faults gpu-check check clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# distributed (Ray, for `shotsmith batch --ray`): +354 MB and ~23 s over ~6 GB of torch + neural, and it lets
	# `make test-slow` run the batch on a local Ray.
	$(BIN)/pip install -q -e ".[neural,eval,distributed,viewer,dev]"
	# MoGe v2 (module `moge`) and its utils3d: their declared deps pull gradio and more, so no deps.
	$(BIN)/pip install -q --no-deps dlr-moge==2.0.0 dlr-utils3d==1.3
	# Compile the point renderer's numba kernel once (cached on disk) so the first shot does not wait for it.
	$(BIN)/python -c "from shotsmith.render import warmup; warmup()"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/shotsmith run "an astronaut portrait, slow dolly in then pan left" \
		--image assets/astronaut.png --cam "dolly_in,pan_left" -w shots/demo --force

test: install
	@test -x /usr/bin/chromium || echo "note: no /usr/bin/chromium: the viewer's browser tests are skipped (apt-get update && apt-get install -y chromium)"
	$(BIN)/python -m pytest -q

# pyproject's addopts deselect the slow tests (-m 'not slow'); a -m given here comes later and wins.
test-slow: install
	$(BIN)/python -m pytest -q -m slow

gpu-check: install
	$(BIN)/python bench/gpu_check.py

fuzz: install
	$(BIN)/python tests/fuzzing.py --examples 2000

# kill -9 in every stage, ENOSPC/EIO on every artifact write, read-only workspace, two writers, hand edits, links:
# prints fault, stage, runs, recovered (~3 minutes on 2 cores).
faults: install
	$(BIN)/python tests/faults.py --kills 2

bench: install
	$(BIN)/python bench/run_all.py

check: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache shots
