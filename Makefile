# The two commands at the top of the README. Both create .venv on first use and reuse it after.
#   make lab    set everything up and start JupyterLab on the course
#   make test   set everything up and run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# In this repository's CI the MNIST files lie beside the clone; elsewhere course_lib downloads them.
SHARED_DATA := $(wildcard ../shared/data)
ifneq ($(SHARED_DATA),)
export COURSE_DATA_DIR ?= $(abspath $(SHARED_DATA))
endif

.PHONY: setup system-deps lab test test-lib bench clean

setup: $(STAMP)

# Reinstalls only when the dependency lists change.
$(STAMP): pyproject.toml course_grader/pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]' -e ./course_grader
	touch $(STAMP)

# JupyterLab on the whole repository, opening lesson 1. The root's nbgrader_config.py points the
# formgrader at exercises/; the formgrader runs `alembic` from PATH to create the gradebook, so the
# environment's bin/ goes first on PATH even when it was never activated.
# LAB_ARGS: more options for jupyter lab, e.g. make lab LAB_ARGS=--port=9999
lab: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab --notebook-dir=. notebooks/01_neurons.ipynb \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# Debian's Chromium (browser test), PostgreSQL (gradebook test), the cgroup v2 guest and fonts-noto-cjk
# (Chinese figures); nothing to do when they are there.
system-deps:
	bash scripts/install_system_deps.sh

# The library, the exercises and the browser in tests/; every lesson under nbval, outputs compared.
test: $(STAMP) system-deps
	$(BIN)/python -m pytest tests --durations=30
	$(BIN)/python -m pytest --nbval --nbval-cell-timeout=300 notebooks

test-lib: $(STAMP)
	$(BIN)/python -m pytest tests -m "not slow"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_course_lib.py
	$(BIN)/python benchmarks/bench_lessons.py
	$(BIN)/python benchmarks/bench_autograde.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
