"""``python -m textvae_core.train`` with z = μ (no sampling noise), for torchrun in tests/test_distributed.py.

Data parallelism changes which ranks draw which random numbers, not the mathematics: with the
reparameterisation noise switched off, single-process and data-parallel training must agree to float
precision, which is what the test checks. Everything else is the real CLI.
"""

from __future__ import annotations

import sys

from textvae_core.models.vae import SentenceVAE
from textvae_core.train import main

SentenceVAE.sample_z = staticmethod(lambda mu, logvar: mu)

if __name__ == "__main__":
    sys.exit(main())
