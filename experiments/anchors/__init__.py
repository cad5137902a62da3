"""Anchors: other projects' code run unmodified, and our Trainer at their settings, for ``benchmarks/``.

- ``sentence_vae``: timbmg/Sentence-VAE driven from a scratch folder under its own interpreter (no torch
  imported here): its preprocessing, timed training, per-epoch checkpoints measured on the test split;
- ``sentence_vae_eval``: the program that measures those checkpoints with the anchor's own model.py and
  ptb.py (run by the anchor's python, never imported by the package);
- ``matched``: our Trainer at the anchor's defaults, on the same sentences, timed the same way.

The anchor's source is given by path at run time (a checkout or ``git archive`` of it outside the
repository); nothing of it is copied here.
"""
