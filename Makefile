# stock-cli — two commands on a fresh machine with Python 3.11+ and make:
#   make demo   set everything up and run the main job on the embedded SQLite default
#   make test   set everything up and run lint, mypy and the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STOCK := $(BIN)/stock
# Offline fallback for the demo: CSV histories to import when providers are unreachable.
DEMO_DATA ?= $(if $(wildcard ../shared/data/bars),../shared/data/bars,)
SOURCES := stock_cli tests migrations benchmarks scripts

.PHONY: install lock demo demo-show test lint format bench clean db-upgrade reliability

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP)

# deploy/constraints.txt: the exact runtime dependencies the image installs (pip -c; the
# daemon and `stock serve`, hence the api extra),
# resolved in a clean virtual environment. Run it after changing the dependencies.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet '.[api]'
	.lock-venv/bin/python -m pip freeze --exclude-editable --all \
		| grep -v -E '^(stock-cli|pip|setuptools|wheel)( @ |==)' > deploy/constraints.txt
	rm -rf .lock-venv

demo: install
	@echo "== database (created and migrated on first use) =="
	$(STOCK) db upgrade
	$(STOCK) db current
	@echo "== watchlist =="
	$(STOCK) watch add AAPL sh600519 --list demo
	$(STOCK) watch ls --list demo
	@echo "== fetch (incremental; falls back to the CSV histories offline) =="
	@if STOCK_HTTP_RETRIES=1 $(STOCK) fetch --list demo --start 2024-01-01 >/dev/null 2>&1; then \
		echo "fetched AAPL and 600519.SS from the providers"; \
	elif [ -n "$(DEMO_DATA)" ]; then \
		echo "providers unreachable: importing the CSV histories in $(DEMO_DATA) instead"; \
		$(STOCK) import $(DEMO_DATA)/*.csv; \
	else echo "providers unreachable and no DEMO_DATA to import: nothing fetched"; fi
	@if $(STOCK) bars AAPL --last 1 >/dev/null 2>&1; then $(MAKE) --no-print-directory demo-show; \
	else echo "No prices stored, so nothing to show: run make demo again online, or with DEMO_DATA=<a folder of Yahoo CSV files>."; fi

demo-show:
	@echo "== what is stored =="
	$(STOCK) symbols
	$(STOCK) bars AAPL --last 5
	-$(STOCK) bars 600519.SS --last 5 2>/dev/null || $(STOCK) bars 002032.SZ --last 5
	$(STOCK) watch ls --list demo
	@echo "== analyze =="
	$(STOCK) analyze AAPL --indicators sma:50,sma:200,rsi:14,macd:12:26:9,bbands:20:2
	$(STOCK) analyze AAPL NVDA SPY ORCL GOOG --indicators rsi:14
	$(STOCK) screen "rsi_14 < 70 and close > sma_200"

# Tests marked `long` (over a minute each) run when CI is set, or with `make test LONG=1`.
test: install lint
	$(if $(LONG),STOCK_TEST_LONG=1 )$(BIN)/python -m pytest

reliability: install
	STOCK_TEST_LONG=1 $(BIN)/python -m pytest tests/reliability

lint: install
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy stock_cli
	$(BIN)/hadolint deploy/Dockerfile
	$(BIN)/shellcheck .ci/run scripts/*.sh deploy/*.sh
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec deploy/docker-compose.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/yamllint --strict deploy .github .yamllint
	@if command -v systemd-analyze >/dev/null; then \
		for unit in deploy/stock-daemon.service deploy/stock-api.service; do \
			systemd-analyze security --offline=true --threshold=40 $$unit >/dev/null || exit 1; done; \
	else echo "systemd-analyze not here: the unit's rating is checked where it is"; fi

format: install
	$(BIN)/ruff format $(SOURCES)
	$(BIN)/ruff check --fix $(SOURCES)

bench: install
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_fetch.py
	$(BIN)/python benchmarks/bench_analyze.py
	$(BIN)/python benchmarks/bench_portfolio.py

db-upgrade: install
	$(STOCK) db upgrade

clean:
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
