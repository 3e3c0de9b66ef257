#!/usr/bin/env bash
# Create .venv and install dbt-intacct with everything the demo and the tests need.
# Idempotent: a second run only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  echo "==> installing dbt-intacct and its dependencies (dbt-core pinned by constraints.txt)"
  .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v WARNING || true
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev,spark]" 2>&1 | grep -v "WARNING: Location" || true
  .venv/bin/python -c "import dbt_intacct, dbt.adapters.duckdb, dbt.adapters.postgres, dbt.adapters.spark, pyspark" 
  touch "$stamp"
fi
