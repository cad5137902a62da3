#!/usr/bin/env bash
# Create .venv (if missing) and install this repository into it, editable, with the app's extras:
#   bash scripts/setup.sh            # the app and its surveys: pip install -e ".[app,survey]"
#   bash scripts/setup.sh dev        # also the lab and the test tools: pip install -e ".[dev]"
# Every version comes from constraints.txt (one pin per package). Safe to run again. The pinned torch is
# the small CPU build; on a GPU machine set TEXTVAE_ALLOW_CUDA=1 after installing a CUDA build of torch
# 2.13.0 yourself (see docs/GPU.md, "GPU install").
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
case "${1:-app}" in
  app) EXTRAS="app,survey" ;;
  dev) EXTRAS="dev" ;;
  *) echo "usage: bash scripts/setup.sh [app|dev]" >&2; exit 2 ;;
esac
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# pip runs when the extras, pyproject.toml or constraints.txt changed since the last install (the stamp),
# so starting the app again costs no resolve. --no-compile: Python compiles a module when it is first
# imported, so only what runs is compiled (compiling every installed file up front costs install time and
# disk for modules the app never imports).
STAMP=.venv/.setup-stamp
WANT="$EXTRAS $(cat pyproject.toml constraints.txt | cksum)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-compile -c constraints.txt -e ".[$EXTRAS]"
  echo "$WANT" > "$STAMP"
fi
if [ "${TEXTVAE_ALLOW_CUDA:-0}" != "1" ]; then
  .venv/bin/python - <<'PY'
import importlib.metadata as md
import sys

import torch

cuda_pkgs = sorted(d.metadata["Name"] for d in md.distributions() if d.metadata["Name"].lower().startswith("nvidia-"))
if torch.version.cuda is not None or cuda_pkgs:
    sys.exit(
        f"setup: expected the CPU build of torch, found torch {torch.__version__} (CUDA {torch.version.cuda}) "
        f"and {len(cuda_pkgs)} nvidia-* packages. A CUDA wheel crept in: remove .venv and check constraints.txt "
        "pins torch==2.13.0, or set TEXTVAE_ALLOW_CUDA=1 if you meant to install it."
    )
print(f"setup: torch {torch.__version__} (CPU build) ready in .venv")
PY
fi
