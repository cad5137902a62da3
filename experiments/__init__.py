"""The lab: the experiment grid that trained the shipped runs (``grid.toml``, ``grid.py``), the drivers of
other projects' code for the benchmarks (``anchors/``), the reproduction report (``reproduction/``), the
ablation and model-family reports, and the scripts that train, ship and measure them. Each script is a
module run from the repository root, ``python -m experiments.NAME``.

It imports the library (``textvae_core``) and the app's logic (``explorer``); nothing but its own
scripts, the benchmarks and the tests imports it (``tests/test_architecture.py``). The grid's scripts need
the library alone (so a GPU machine trains the grid with it); the reports need the ``lab`` extra, and say so.
"""
