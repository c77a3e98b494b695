# The two commands of the README: `make demo` and `make test`.
# Everything else here is a step they take, or a tool for the people who work on Qalqan.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

DEMO_DIR ?= demo-data

.PHONY: demo test install lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/qalqan demo --out $(DEMO_DIR)

test: $(STAMP)
	$(BIN)/ruff check qalqan research tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check qalqan research tests benchmarks
	$(BIN)/ruff format --check qalqan research tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/exchange_throughput.py --rows 10000000 --keep bench-data
	$(BIN)/python benchmarks/analyze_throughput.py --data bench-data

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
