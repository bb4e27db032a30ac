# Two entry points for a fresh machine with Python 3.11 and pip: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_LOGGING_LEVEL ?= WARNING
export MPLBACKEND := Agg

.PHONY: demo test test-fast test-slow lint bench accuracy clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hinge demo --out demo_out

# CI runs this: every test, the slow ones (fuzzing, kill -9 loops, large batches) included.
test: $(STAMP)
	$(BIN)/ruff check hinge_analytics pipelines tests bench
	$(BIN)/pytest -n 2 -m 'slow or not slow'

# The quick subset for editing loops (pytest's default, see pyproject.toml).
test-fast: $(STAMP)
	$(BIN)/pytest -n 2

test-slow: $(STAMP)
	$(BIN)/pytest -n 2 -m slow

bench: $(STAMP)
	$(BIN)/python bench/pipeline.py

accuracy: $(STAMP)
	$(BIN)/python bench/accuracy.py

clean:
	rm -rf demo_out .prefect .pytest_cache
