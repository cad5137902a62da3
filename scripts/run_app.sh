#!/usr/bin/env bash
# Set up .venv if needed, then start the explorer from the repository root (where .streamlit/config.toml
# is read); extra arguments go to `streamlit run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/streamlit run app.py "$@"
