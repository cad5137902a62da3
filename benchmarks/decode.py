"""Decoding speed: batched beam search against one sentence at a time, in sentences per second.

Uses a trained run when given (``--run``, or the first run found under checkpoints/); otherwise a
freshly initialised default-size model on the PTB vocabulary with a fixed output length, which
costs the same per step as a trained one.

    python -m benchmarks.decode [--run RUN_DIR] [--n 200] [--beam 5] [--batch 200] [--device auto]
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import torch

from textvae_core.cli import parse_dataclass, run_main
from textvae_core.config import RunConfig
from textvae_core.data import read_corpus
from textvae_core.decoding import DecodeConfig
from textvae_core.device import pick_device
from textvae_core.inference import TextVAE
from textvae_core.models import build_model
from textvae_core.paths import CHECKPOINTS, repo_path
from textvae_core.rundir import is_run
from textvae_core.vocab import Vocab


@dataclass
class Options:
    run: str = ""  # run folder to decode with ("" = the first run under checkpoints/, else an untrained model)
    n: int = 200  # sentences decoded in batch
    n_single: int = 40  # sentences decoded one at a time
    beam: int = 5  # beam size
    batch: int = 200  # sentences per decoder call
    max_len: int = 30  # tokens per decoded sentence at most
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda | cuda:N


def load(run: str, device: torch.device) -> tuple[TextVAE, str]:
    if not run:
        found = sorted(p for p in CHECKPOINTS.glob("*") if is_run(p))
        run = str(found[0]) if found else ""
    if run:
        return TextVAE.load(run, device=str(device)), run
    cfg = RunConfig()
    vocab = Vocab.build(read_corpus(repo_path(cfg.data.train)), cfg.data.max_vocab)
    torch.manual_seed(0)
    return TextVAE(build_model(cfg.model, len(vocab)).to(device), vocab, cfg), "untrained default model"


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m benchmarks.decode", __doc__)
    device = pick_device(args.device)
    vae, what = load(args.run, device)
    z = vae.prior_z(args.n, seed=0)
    beam = DecodeConfig(method="beam", beam_size=args.beam, max_len=args.max_len)
    print(f"device {device}, {what}, beam {args.beam}, max_len {args.max_len}, torch threads {torch.get_num_threads()}")
    vae.decode(z[:8], beam)  # warm-up
    rates = {}
    single = timed(lambda: [vae.decode(z[i : i + 1], beam) for i in range(args.n_single)])
    rates["beam_one_at_a_time"] = args.n_single / single
    batched = timed(lambda: vae.decode(z, beam, batch_size=args.batch * args.beam))  # decode batches by rows
    rates["beam_batched"] = args.n / batched
    greedy = timed(lambda: vae.decode(z, DecodeConfig(method="greedy", max_len=args.max_len), batch_size=args.batch))
    rates["greedy_batched"] = args.n / greedy
    nucleus = timed(
        lambda: vae.decode(
            z, DecodeConfig(method="sample", top_p=0.9, max_len=args.max_len), seed=0, batch_size=args.batch
        )
    )
    rates["nucleus_batched"] = args.n / nucleus
    for k, v in rates.items():
        print(f"{k:<22} {v:>10,.1f} sentences/s")
    ratio = rates["beam_batched"] / rates["beam_one_at_a_time"]
    print(f"batched beam search speed-up: {ratio:.1f}x")
    print(
        json.dumps(
            {
                "device": str(device),
                "model": what,
                **{k: round(v, 1) for k, v in rates.items()},
                "beam_speedup": round(ratio, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    run_main(main)
