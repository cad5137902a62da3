"""What each run's latent space puts together: for every test sentence, the words and length it shares with
its k nearest codes (μ), against chance. One line per run.

    python -m experiments.neighbour_overlap checkpoints/ptb-lstm-vae checkpoints/ptb-lstm-bc3 … [--k 5] [--metric cosine]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from explorer.latent_map import corpus_for
from explorer.neighbours import METRICS, code_bank, corpus_neighbourhoods
from textvae_core.cli import CLIError, parse_dataclass, positional, run_main
from textvae_core.inference import TextVAE
from textvae_core.rundir import read_config


@dataclass
class Options:
    runs: list[str] = positional("+")  # run folders, one table line each
    k: int = 5  # neighbours per sentence
    metric: str = "cosine"  # distance between codes: cosine | euclidean


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m experiments.neighbour_overlap", __doc__)
    if args.metric not in METRICS:
        raise CLIError(f"--metric: {args.metric!r} is not one of {', '.join(METRICS)}")
    print(f"| run | C | test sentences | shared words, {args.k} nearest (chance) | length gap in words (chance) |")
    print("|---|---|---|---|---|")
    for run in map(Path, args.runs):
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
    run_main(main)
