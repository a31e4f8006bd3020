# Psychosocial-outcomes pipeline. `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV    := .venv
PYTHON  := $(VENV)/bin/python
IMPACT  := $(VENV)/bin/impact
STAMP   := $(VENV)/.installed
DEMO    := surveys/demo-pilot
DEMO_FOLLOW_UP := surveys/demo-followup
DEMO_TRIAL := surveys/demo-trial
STUDY   ?= $(DEMO)
FORMAT  ?= redcap

.PHONY: help setup report run field test check catalogue instrument bench demo lock clean

help: ## Show this list of targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-11s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMP) ## Create .venv with the pipeline (console script .venv/bin/impact) and test tools

$(STAMP): pyproject.toml requirements.lock scripts/ensure-system-deps.sh
	@bash scripts/ensure-system-deps.sh
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	@touch $(STAMP)

report: setup ## Run the demo study: reports/demo-pilot/ impact-report.pdf, technical-report.pdf, their HTML twins, tables
	$(IMPACT) run $(DEMO)

run: setup ## Run any study: make run STUDY=surveys/<study> (writes reports/<study>/)
	$(IMPACT) run $(STUDY)

field: setup ## Write the survey that collects a study's data: make field STUDY=surveys/<study> [FORMAT=redcap|xlsform] (writes reports/<study>/fielding/<format>/)
	$(IMPACT) field $(STUDY) --format $(FORMAT)

test: setup ## Check the instrument library strictly, then run the test suite
	$(IMPACT) instruments check --strict
	$(PYTHON) -m pytest

check: setup ## Check instrument definitions (library; add PATHS=<files or study folders>)
	$(IMPACT) instruments check --strict $(PATHS)

catalogue: setup ## Write the library's codebook: reports/catalogue/instrument-catalogue.{html,pdf}
	$(IMPACT) instruments catalogue

instrument: setup ## Start a new instrument from the template: make instrument ID=<id>
	@test -n "$(ID)" || { echo "usage: make instrument ID=<id>   (letters, digits, underscores)"; exit 2; }
	$(IMPACT) instruments new $(ID)

bench: setup ## Wall time and peak memory in one table: the demo (both PDFs, tables only) beside the naive script with the ratio, 10k and 100k enrolled; BENCH_FULL=1 adds 1M and DuckDB at 1M and 10M; not a test
	$(PYTHON) benchmarks/bench.py

demo: setup ## Regenerate the demo studies' data from the seeded generator: demo-pilot (2 waves), demo-followup (3 waves), demo-trial (program vs waitlist)
	$(IMPACT) demo $(DEMO) --force
	$(IMPACT) demo $(DEMO_FOLLOW_UP) --waves 3 --force
	$(IMPACT) demo $(DEMO_TRIAL) --groups --force

lock: setup ## Re-pin requirements.lock to the versions installed in .venv
	$(VENV)/bin/pip freeze --exclude-editable --disable-pip-version-check > requirements.lock

clean: ## Remove generated reports and caches (keeps .venv)
	rm -rf reports/*/ .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
