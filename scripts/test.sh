#!/usr/bin/env bash
# Set up .venv if needed, then run lint and the test suite (the README's test command; CI runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q "$@"
