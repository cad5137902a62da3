#!/usr/bin/env bash
# Set up .venv if needed, then start the explorer (extra arguments go to streamlit run;
# explorer/serve.py says why it starts Streamlit itself rather than `streamlit run app.py`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m explorer.serve "$@"
