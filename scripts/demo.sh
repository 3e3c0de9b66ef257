#!/usr/bin/env bash
# The demo: the sample dbt project on DuckDB, synced to a local Intacct emulator over HTTP.
#   1. start the emulator on a free port     2. dbt build     3. dbt-intacct plan, then sync
#   4. show what arrived in "Intacct"         5. sync again: nothing changed, so no API call
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.venv/bin"
cd "$root/sample_project"
export DBT_PROFILES_DIR="$PWD"
rm -rf target logs .emulator intacct_demo.duckdb intacct_demo.duckdb.wal

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Starting the local Intacct emulator"
log="$(mktemp)"
"$bin/dbt-intacct" emulator --port 0 --data-dir .emulator >"$log" 2>&1 &
emulator_pid=$!
trap 'kill $emulator_pid 2>/dev/null || true; wait $emulator_pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$log" && break
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
cat "$log"
INTACCT_ENDPOINT="$(grep -o 'http://[^ ]*/ia/xml/xmlgw.phtml' "$log" | head -n 1)"
export INTACCT_ENDPOINT

step "dbt build (seeds and models on DuckDB)"
"$bin/dbt" build --quiet

step "dbt-intacct plan (what would be sent; sends nothing)"
"$bin/dbt-intacct" plan --samples 0

step "dbt-intacct sync"
"$bin/dbt-intacct" sync

step "What arrived in Intacct (read back from the emulator)"
"$bin/python" "$root/scripts/show_emulator.py" "${INTACCT_ENDPOINT%/ia/xml/xmlgw.phtml}/_emulator"

step "dbt-intacct sync again: nothing changed, so nothing is sent"
"$bin/dbt-intacct" sync
"$bin/python" "$root/scripts/show_emulator.py" "${INTACCT_ENDPOINT%/ia/xml/xmlgw.phtml}/_emulator" --stats-only

step "Done. The state and run history are in sample_project/intacct_demo.duckdb (schema main_intacct)."
