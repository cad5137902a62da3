"""Generate the report's toy data set: sine waves quantised to tokens, one sequence per line.

    python -m experiments.make_toy_sine [--out data/toy_sine] [--seed 17]

Each sequence samples a length n ~ U{16 … 30}, a number of cycles c ~ U[0.5, 2] over the whole sequence, a
phase φ ~ U[0, 2π) and an amplitude A ~ U[0.4, 1]; token t is the level of A·sin(2π c t / n + φ) on a grid
of 16 equal bins over [−1, 1], written as one letter (a = lowest … p = highest), space-separated, so the
corpus reads at word level. Four continuous factors make every line: a model that encodes them in z
reconstructs well, one that ignores z can only guess them from the first tokens. (The waves are slow on
purpose: with many cycles per line, a small error in the frequency decides late tokens, and z would have
to hold it to many digits.) Deterministic for a seed; writes train / valid / test and a SOURCE.md.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from pathlib import Path

from textvae_core.cli import parse_dataclass, run_main

LEVELS = "abcdefghijklmnop"
SPLITS = {"train": 6000, "valid": 500, "test": 500}
LENGTHS = (16, 30)
CYCLES = (0.5, 2.0)
AMP = (0.4, 1.0)


def sine_line(rng: random.Random) -> str:
    n = rng.randint(*LENGTHS)
    cycles, phase, amp = rng.uniform(*CYCLES), rng.uniform(0, 2 * math.pi), rng.uniform(*AMP)
    q = len(LEVELS)
    wave = [amp * math.sin(2 * math.pi * cycles * t / n + phase) for t in range(n)]
    levels = [min(q - 1, int((v + 1) / 2 * q)) for v in wave]
    return " ".join(LEVELS[v] for v in levels)


@dataclass
class Options:
    out: str = "data/toy_sine"  # folder the splits and SOURCE.md are written to
    seed: int = 17  # seed of the one generator every split is drawn from


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m experiments.make_toy_sine", __doc__)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    rows = []
    for split, n in SPLITS.items():
        text = "".join(sine_line(rng) + "\n" for _ in range(n))
        path = out / f"{split}.txt"
        path.write_text(text, encoding="utf-8")
        tokens = sum(len(line.split()) for line in text.splitlines())
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        rows.append(f"| {path.name} | {n:,} | {tokens:,} | {digest} |")
    (out / "SOURCE.md").write_text(
        f"""# Toy sine waves quantised to tokens (the report's toy data set)

Generated, not downloaded: `python -m experiments.make_toy_sine --out {args.out} --seed {args.seed}` writes these
files byte for byte. Like the report's toy set (§3.1, "sine waves to test the models"), every line is one
sine wave: length n ~ U{{{LENGTHS[0]} … {LENGTHS[1]}}} tokens, c ~ U[{CYCLES[0]}, {CYCLES[1]}] cycles over the
line, phase φ ~ U[0, 2π), amplitude A ~ U[{AMP[0]}, {AMP[1]}]; token t is the bin of A·sin(2π c t / n + φ)
among {len(LEVELS)} equal bins over [−1, 1], written as a letter (a lowest … p highest),
space-separated (word level, {len(LEVELS)} tokens + specials). The splits are consecutive draws of one
seeded generator. License: public domain (synthetic).

| file | sequences | tokens | sha256 |
|---|---|---|---|
"""
        + "\n".join(rows)
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {', '.join(SPLITS)} and SOURCE.md to {out}")
    return 0


if __name__ == "__main__":
    run_main(main)
