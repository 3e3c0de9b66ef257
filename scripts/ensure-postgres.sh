#!/usr/bin/env bash
# Make sure PostgreSQL answers on 127.0.0.1:5432 with trust auth and a database named `test`.
# Starts the local cluster if it is stopped; installs PostgreSQL from Debian's packages if it is missing.
set -euo pipefail
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
have_test_db() { psql -h 127.0.0.1 -U postgres -d test -tAc 'select 1' >/dev/null 2>&1; }

if ! command -v pg_isready >/dev/null 2>&1; then
  echo "==> installing PostgreSQL (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq postgresql postgresql-client >/dev/null
fi
if ! ready; then
  echo "==> starting PostgreSQL"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  conf=/etc/postgresql/$version/main
  # Trust auth on loopback, as the test suite expects (this cluster is for tests only).
  if ! grep -q "dbt-intacct" "$conf/pg_hba.conf" 2>/dev/null; then
    $SUDO sh -c "printf '%s\n' '# dbt-intacct tests' 'host all all 127.0.0.1/32 trust' 'host all all ::1/128 trust' 'local all all trust' | cat - $conf/pg_hba.conf > $conf/pg_hba.conf.new && mv $conf/pg_hba.conf.new $conf/pg_hba.conf"
  fi
  $SUDO sed -i "s/^#\?listen_addresses.*/listen_addresses = '127.0.0.1'/" "$conf/postgresql.conf"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || $SUDO pg_ctlcluster "$version" main start
  for _ in $(seq 1 30); do ready && break; sleep 1; done
fi
ready || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
if ! have_test_db; then
  psql -h 127.0.0.1 -U postgres -d postgres -tAc "create database test" >/dev/null 2>&1 \
    || su postgres -c "psql -d postgres -tAc 'create database test'" >/dev/null
fi
have_test_db || { echo "PostgreSQL is up but database 'test' is not reachable as postgres with trust auth" >&2; exit 1; }
echo "==> PostgreSQL ready on 127.0.0.1:5432"
