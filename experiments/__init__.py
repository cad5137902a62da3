"""The lab: the experiment grid that trained the shipped runs (``grid.toml``, ``grid.py``), the drivers of
other projects' code for the benchmarks (``anchors/``), the reproduction report (``reproduction/``), the
ablation and model-family reports, and the scripts that train, ship and measure them. Each script is a
module run from the repository root, ``python -m experiments.NAME``.

It imports the library (``textvae_core``) and the app's logic (``explorer``); nothing but its own
scripts and tests imports it (``tests/test_architecture.py``). Needs the ``lab`` extra.
"""

from textvae_core.extras import require

require("lab", "the lab (experiments/)")
