#!/usr/bin/env bash
# Set up .venv if needed, then start the explorer: `streamlit run app.py` (it reads .streamlit/config.toml
# beside app.py) on 127.0.0.1, this machine alone, where the Training page is open without a secret; extra
# arguments go to `streamlit run`. Serving it to others (TEXTVAE_ADDRESS=0.0.0.0, or --server.address ADDR)
# needs the admin secret: explorer/serve.py, docs/DEPLOYMENT.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m explorer.serve "$@"
