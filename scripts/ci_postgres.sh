#!/usr/bin/env bash
# Make PostgreSQL's server programs available to the survey tests (Debian's `postgresql` package).
# The tests start a throwaway cluster of their own (initdb + pg_ctl in a temp dir, as user postgres when run
# as root; tests/survey_fixtures.py) and drop it afterwards, so nothing is started here. Safe to run again.
# Without PostgreSQL those tests skip, saying why; with TEXTVAE_TEST_PG_URL set they use that server instead.
set -euo pipefail

found() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }

if found; then
  echo "ci_postgres: PostgreSQL found ($(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1))"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ci_postgres: PostgreSQL is not installed and this is not a root Debian shell; its tests will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
# Debian may start a default cluster on port 5432; the tests do not use it (they pick a free port).
found && echo "ci_postgres: installed $(ls -d /usr/lib/postgresql/*/bin | tail -1)"
