# The two commands (README.md): `make dev` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: dev test install node lint typecheck bench screenshots clean

$(STAMP): pyproject.toml setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip uv >/dev/null
	$(BIN)/uv pip install --python $(BIN)/python -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	@touch node_modules/.installed

node: node_modules/.installed

dev: install
	$(BIN)/triggerfish dev examples.jobs:client --db triggerfish-dev.db

# Parallel workers (pytest-xdist): one per core, at most 4; `make test TEST_WORKERS=0` runs
# in this process. Each test module runs whole on one worker (`--dist loadfile`): a module's
# shared fixtures (a server, a built wheel, a browser) are built once and never raced.
TEST_WORKERS ?= auto
test: install node
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --maxprocesses=4 --dist loadfile $(PYTEST_ARGS)

# mypy sees the installed names (triggerfish.core, triggerfish.adapters) through links.
typecheck: install
	@rm -rf build/typecheck && mkdir -p build/typecheck/triggerfish
	@ln -s ../../../core build/typecheck/triggerfish/core
	@ln -s ../../../adapters build/typecheck/triggerfish/adapters
	MYPYPATH=build/typecheck $(BIN)/mypy --strict -p triggerfish.core -p triggerfish.adapters

lint: install
	$(BIN)/ruff check core adapters tests deploy bench

# Figures, printed (docs/performance.md); the peers install into bench/.peers-venv once.
bench: install node
	$(BIN)/python bench/all.py

screenshots: install
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) node_modules build dist *.egg-info .serverless
