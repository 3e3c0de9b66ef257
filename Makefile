# The two commands the README starts with. Both work on a fresh machine with Python 3.11.
.PHONY: demo test lint typecheck unit bench

demo:
	./scripts/bootstrap.sh
	./scripts/demo.sh

test:
	./scripts/bootstrap.sh
	./scripts/ensure-postgres.sh
	./scripts/ensure-chromium.sh
	./scripts/ensure-java.sh
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/lint-imports --no-logo
	.venv/bin/python -m pytest -n auto --dist loadgroup -q

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports --no-logo

typecheck:
	.venv/bin/mypy

unit:
	.venv/bin/python -m pytest -q tests/unit
