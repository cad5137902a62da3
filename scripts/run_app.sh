#!/usr/bin/env bash
# Set up .venv if needed, then start the explorer: `streamlit run app.py` (it reads .streamlit/config.toml
# beside app.py); extra arguments go to `streamlit run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/streamlit run app.py "$@"
