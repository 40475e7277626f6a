# `make demo` and `make test` work on a fresh machine with only Python 3:
# they create .venv/ here and install the project into it when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	# plot_model (inspect --plot, the docs' pictures) needs Graphviz's dot; a fresh machine may lack the package lists
	command -v dot >/dev/null || apt-get install -y -q graphviz || (apt-get update -q && apt-get install -y -q graphviz)
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m keras_embed_prep.demo

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) lint
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest -n 2 --durations=10 --nbmake tests notebooks
	NO_MKDOCS_2_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/mkdocs build --strict --quiet --site-dir site

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .ruff_cache
