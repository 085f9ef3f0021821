# AgroRisk — one entry point for every job. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_BOOTSTRAP := .tools/bin/uv
# A `uv` that really runs (a pyenv shim may exist for another Python version), else bootstrap one.
UV := $(shell uv --version >/dev/null 2>&1 && echo uv || echo $(UV_BOOTSTRAP))
VENV := .venv
PY := $(VENV)/bin/python
PACKAGES := common minio-storage serving yolov11-train crawler gemini-integration dataset-labeling \
            triton-inference ray-inference backend gradio-web dagster-pipeline devtools
PYPROJECTS := pyproject.toml $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
PYTEST_ARGS ?=

.PHONY: help install test test-deps lint format requirements requirements-check demo run up down restart logs ps \
        bootstrap bench docs clean starter-model

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-20s %s\n", $$1, $$2}'

$(UV_BOOTSTRAP):
	@echo ">> uv not found: bootstrapping it from PyPI into .tools/"
	python3 -m venv .tools && .tools/bin/pip install --quiet uv

$(VENV)/.installed: uv.lock $(PYPROJECTS) | $(filter $(UV_BOOTSTRAP),$(UV))
	$(UV) sync --all-packages --locked
	@touch $@

install: $(VENV)/.installed ## create .venv with every package (bootstraps uv if missing)

test-deps: install ## outside parts the tests start: Label Studio (own venv), chromium, nginx
	bash scripts/install-test-deps.sh

test: test-deps ## run every package's tests from the root (one pytest invocation)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install ## ruff check of the whole tree, and basedpyright over every package's src/ (config: pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/basedpyright

format: install ## ruff format of the whole tree
	$(VENV)/bin/ruff format .

requirements: install ## regenerate every package's requirements.txt from uv.lock
	@for p in $(PACKAGES); do \
	  $(UV) export --frozen --package agrorisk-$$p --no-dev --no-hashes --no-emit-workspace \
	    --no-header --quiet -o $$p/requirements.txt; \
	done; echo "requirements.txt regenerated for $(words $(PACKAGES)) packages"

requirements-check: install ## fail when a requirements.txt is out of date with uv.lock
	@status=0; for p in $(PACKAGES); do \
	  $(UV) export --frozen --package agrorisk-$$p --no-dev --no-hashes --no-emit-workspace \
	    --no-header --quiet -o /tmp/agrorisk-req-$$p.txt; \
	  if ! diff -q /tmp/agrorisk-req-$$p.txt $$p/requirements.txt >/dev/null 2>&1; then \
	    echo "$$p/requirements.txt is out of date: run 'make requirements'"; status=1; fi; \
	done; exit $$status

demo: install ## the Dagster job `training` on real photos: dataset -> fine-tuned YOLO11 -> gate -> served winner; prints the URLs (DEMO_ARGS=...)
	$(PY) scripts/demo.py $(DEMO_ARGS)

COMPOSE ?= docker compose
HAVE_COMPOSE := $(shell $(COMPOSE) version >/dev/null 2>&1 && echo yes)
RUN_PY := $(if $(wildcard $(PY)),$(PY),python3)
NO_COMPOSE = echo "make $@: docker compose is not available here: use make run (local processes)"; exit 1

run: install ## the services as local processes, without Docker (Ctrl-C or make down stops them)
	$(PY) scripts/run_local.py start

up: ## the full stack with Docker Compose behind nginx (needs .env: cp .env.example .env)
	@$(if $(HAVE_COMPOSE),,$(NO_COMPOSE))
	@test -f .env || { echo "make up: no .env: cp .env.example .env, then set the secrets"; exit 1; }
	$(COMPOSE) up -d --build --wait
	@echo "AgroRisk: http://localhost:$${AGRORISK_GATEWAY_PORT:-8080}/ (all services: /services/)"

down: ## stop the stack (data stays in named volumes) and any `make run` processes
	@$(if $(HAVE_COMPOSE),$(COMPOSE) down,true)
	@$(RUN_PY) scripts/run_local.py stop

restart: ## restart one service (SERVICE=name): compose, else the local process of `make run`
	@test -n "$(SERVICE)" || { echo "make restart: say which: make restart SERVICE=backend"; exit 1; }
	@$(if $(HAVE_COMPOSE),$(COMPOSE) restart $(SERVICE),$(RUN_PY) scripts/run_local.py restart $(SERVICE))

logs: ## follow the stack's logs (SERVICE=name for one); without Docker, the local processes' logs
	@$(if $(HAVE_COMPOSE),$(COMPOSE) logs -f --tail=200 $(SERVICE),tail -n 50 -F .agrorisk/run/logs/$(or $(SERVICE),*).log)

ps: ## list the stack's services; without Docker, the local processes
	@$(if $(HAVE_COMPOSE),$(COMPOSE) ps,$(RUN_PY) scripts/run_local.py status || true)

bootstrap: ## create buckets, a Label Studio token, a first model if none (compose stack)
	@$(if $(HAVE_COMPOSE),,echo "make bootstrap is for the compose stack; without Docker, make demo (or agrorisk-train starter) registers the starter model as the first production model"; exit 1)
	$(COMPOSE) run --rm minio-init
	$(COMPOSE) --profile tools run --rm bootstrap
	$(COMPOSE) run --rm triton-repo

STARTER_DIR ?= .agrorisk/starter
STARTER_RISKS := maize-common-rust,maize-gray-leaf-spot,maize-northern-leaf-blight,potato-early-blight,potato-late-blight
PLANTDOC ?= ../shared/datasets/plantdoc-cc-by-4.0

starter-model: install ## retrain the committed starter model (models/starter) from PlantDoc: hours on CPU, minutes on a GPU
	$(VENV)/bin/agrorisk-label import -f yolo --src $(PLANTDOC) --unmapped drop -m $(STARTER_DIR)/pool/manifest.csv
	$(VENV)/bin/agrorisk-label build -m $(STARTER_DIR)/pool/manifest.csv -o $(STARTER_DIR)/dataset \
	  --risks $(STARTER_RISKS) --val 0.15 --test 0.15 --seed 0
	AGRORISK_TRAIN_PATIENCE=0 AGRORISK_TRAIN_PLOTS=false $(VENV)/bin/agrorisk-train fit \
	  --data $(STARTER_DIR)/dataset/data.yaml --model yolo11n.yaml --epochs 60 --imgsz 320 --batch 16 \
	  --project $(STARTER_DIR)/runs --name starter
	@echo "v2 (the committed file) trained 80 more epochs from this run's best.pt on the split's photos with boxes:"
	@echo "  AGRORISK_TRAIN_PATIENCE=0 AGRORISK_TRAIN_PLOTS=false agrorisk-train fit --data <positives>/data.yaml --model <run>/weights/best.pt --epochs 80 --imgsz 320 --batch 16"
	@echo "then: agrorisk-train evaluate on the val and test splits, copy weights/best.pt to models/starter/ and update MODEL_CARD.md"

bench: test-deps ## every package's benchmark, small; writes bench/results.json and bench/results.md
	$(PY) scripts/bench.py $(BENCH)

docs: install ## build the documentation site into site/
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site
	@echo "documentation site: site/index.html"

clean: ## remove caches and build outputs (keeps .venv and data)
	rm -rf .pytest_cache .ruff_cache dist site
