# The two commands of the README, and the few around them.
#   make demo  — set up, generate the +Pet demo world, materialize every asset, print a summary
#   make test  — set up, lint, run the whole test suite
# Needs only python3 (>= 3.11) on the machine: uv is bootstrapped into .tools/, the locked
# dependencies into .venv/. Every target is safe to re-run and does no work twice.

PYTHON      ?= python3
UV_VERSION  := 0.13.9
TOOLS       := .tools
UV          := $(TOOLS)/bin/uv
VENV        := .venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed

export DAGSTER_HOME ?= $(CURDIR)/dagster_home
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy

DEMO_CUSTOMERS ?= 5000
DEMO_MONTHS    ?= 24
DEMO_SEED      ?= 42

.PHONY: install demo test lint format ui doctor bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Re-syncs only when the lock or the project metadata changed.
$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --compile-bytecode
	@touch $@

$(DAGSTER_HOME)/dagster.yaml: | $(STAMP)
	$(BIN)/python -m orchestration.instance

# The dbt manifest is prepared here, at install/build time, so the code location never parses dbt.
DBT_MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES  := $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -print)
$(DBT_MANIFEST): $(STAMP) $(DBT_SOURCES)
	env $$($(BIN)/python -m orchestration.dbt_env) PATH="$(CURDIR)/$(BIN):$$PATH" \
		$(BIN)/dagster-dbt project prepare-and-package --file assets/dbt/project.py

install: $(STAMP) $(DAGSTER_HOME)/dagster.yaml $(DBT_MANIFEST)

demo: install
	$(BIN)/cro demo-data --customers $(DEMO_CUSTOMERS) --months $(DEMO_MONTHS) --seed $(DEMO_SEED)
	$(BIN)/cro materialize '*' --full-refresh
	# dry run (no credentials): the outbox and data/outbox/ show what would be published and sent
	$(BIN)/cro run publish_reports
	$(BIN)/cro run sync_crm
	$(BIN)/cro approve $$($(BIN)/cro approve --list --ids | grep inactive_60d | head -n 1) --by "make demo" --send-now
	$(BIN)/cro doctor

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

ui: install
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# The production topology (docker-compose.yml) as native processes: PostgreSQL, code server, webserver,
# daemon, webhook receiver, docs site. Ports and PostgreSQL: see README "Deployment".
.PHONY: prod-up prod-down
prod-up: install
	$(BIN)/cro demo-data --customers $(DEMO_CUSTOMERS) --months $(DEMO_MONTHS) --seed $(DEMO_SEED)
	$(BIN)/cro prod up

prod-down:
	$(BIN)/cro prod down

doctor: install
	$(BIN)/cro doctor

bench: install
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_metrics.py
	$(BIN)/python benchmarks/bench_forecast.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache dbt_project/target dbt_project/logs
