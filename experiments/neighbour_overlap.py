"""What each run's latent space puts together: for every test sentence, the words and length it shares with
its k nearest codes (μ), against chance. One line per run.

    python scripts/neighbour_overlap.py checkpoints/ptb-lstm-vae checkpoints/ptb-lstm-bc3 … [--k 5] [--metric cosine]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file: the repository's packages

from explorer.latent_map import corpus_for
from explorer.neighbours import METRICS, code_bank, corpus_neighbourhoods
from textvae_core.inference import TextVAE
from textvae_core.rundir import read_config


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--k", type=int, default=5, help="neighbours per sentence")
    ap.add_argument("--metric", choices=METRICS, default="cosine")
    args = ap.parse_args(argv)
    print(f"| run | C | test sentences | shared words, {args.k} nearest (chance) | length gap in words (chance) |")
    print("|---|---|---|---|---|")
    for run in args.runs:
        sentences = corpus_for(run, "test")
        stats = corpus_neighbourhoods(
            code_bank(TextVAE.load(run, device="cpu"), sentences), sentences, args.k, args.metric
        )
        c = read_config(run).objective.C
        print(
            f"| {run.name} | {'—' if c is None else f'{c:g}'} | {len(sentences):,} | {stats.overlap:.3f} "
            f"({stats.chance_overlap:.3f}) | {stats.length_gap:.2f} ({stats.chance_length_gap:.2f}) |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
