#!/usr/bin/env bash
# Set up .venv with the development extras if needed (the lab and the test tools on top of the app), then
# run lint and the test suite (the README's test command; CI runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q "$@"
