"""Training throughput (target tokens per second) of the default model on Penn Treebank.

Compares textvae_core's training step with the way the usual research code trains the same model
(e.g. Sentence-VAE): random batches padded to their longest sentence, the vocabulary projection and
log-softmax computed at every padded position, NLL with ignore_index, stock Adam. Same model, same
data, same number of sentences; the ratio is what the packing, bucketing and fused loss buy.

    python -m benchmarks.train_throughput [--steps 40] [--device auto] [--batch-size 64]

Against the anchor itself (timbmg/Sentence-VAE, run unmodified from a scratch folder under its own
interpreter; experiments/anchors/sentence_vae.py says how it is driven and timed):

    python -m benchmarks.train_throughput --anchor SRC --anchor_python VENV/bin/python \
        [--anchor_iters 200] [--rounds 2] [--threads 2] [--scratch DIR]

trains, in one sitting and in alternating rounds (anchor, ours fp32, ours bf16 matmul, ours bf16 | the
reverse | …, so a drifting machine load hits every side alike), the anchor's defaults for one epoch of a
seeded subset of anchor_iters × 32 PTB sentences, and our Trainer at those defaults (GRU 256, emb 300,
z 16, batch 32, embedding dropout 0.5, logistic KL anneal: experiments/anchors/matched.py) on the same
sentences, in fp32, in fp32 with oneDNN's bf16 matrix products (train.bf16_matmul) and in bf16 autocast.
Each side is timed from the end of its first update to the end of its last; it prints target tokens/s (each side's own
tokenisation), sentences/s (the same sentences on both sides) and our rates over the anchor's per round
and their medians. --steps, --warmup, --batch-size, --size and --device do not apply there (CPU, the
anchor's sizes).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from experiments.anchors import matched
from experiments.anchors import sentence_vae as svae
from textvae_core.cli import CLIError, parse_dataclass, run_main
from textvae_core.config import SIZES, RunConfig
from textvae_core.data import make_batch
from textvae_core.device import pick_device
from textvae_core.models import build_model, gaussian_kl
from textvae_core.paths import repo_path
from textvae_core.train import prepare_data


@dataclass
class Options:
    steps: int = 40  # timed optimizer steps per method
    warmup: int = 5  # untimed steps first (allocator, caches)
    batch_size: int = 64  # sentences per batch
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda | cuda:N
    size: str = "small"  # model size preset: small | paper | autogen
    anchor: str = ""  # a timbmg/Sentence-VAE checkout (scratch folder): compare with it instead (see above)
    anchor_python: str = ""  # with --anchor: the python of a venv with torch, numpy, nltk and tensorboardX
    anchor_iters: int = 200  # with --anchor: iterations per run (batch 32; all but the first are timed)
    rounds: int = 2  # with --anchor: rounds of (anchor, ours in each precision), order reversed every other round
    threads: int = 2  # with --anchor: CPU threads of every side (OMP_NUM_THREADS for the anchor, torch threads for us)
    scratch: str = ""  # with --anchor: folder for the anchor's data and runs, kept and reused ("": temporary)


def reference_step(model, batch, optimizer) -> None:
    """The common research-code step: full [B, T, V] logits, log_softmax, NLLLoss(ignore_index=pad)."""
    mu, logvar = model.encode(batch.src, batch.lengths)
    z = model.sample_z(mu, logvar)
    hidden = model.decoder(model.embedding(batch.dec_in), z)
    logp = F.log_softmax(model.logits(hidden), dim=-1)
    nll = F.nll_loss(logp.view(-1, logp.size(-1)), batch.target.view(-1), ignore_index=0, reduction="sum")
    loss = (nll + gaussian_kl(mu, logvar).sum()) / batch.src.size(0)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()


def ours_step(model, batch, optimizer) -> None:
    out = model(batch)
    loss = out.rec.mean() + out.kl.mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()


def measure(name: str, batches: list, step, model, optimizer, device, warmup: int) -> float:
    for b in batches[:warmup]:
        step(model, b.to(device), optimizer)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    tokens = 0
    for b in batches[warmup:]:
        step(model, b.to(device), optimizer)
        tokens += b.n_target_tokens
    if device.type == "cuda":
        torch.cuda.synchronize()
    rate = tokens / (time.perf_counter() - t0)
    print(f"{name:<42} {rate:>10,.0f} target tokens/s")
    return rate


def against_anchor(args: Options, work: Path) -> dict:
    """Alternating rounds of the anchor and our Trainer at its defaults on the same sentences; prints and returns the rates."""
    from textvae_core.device import cpu_has_bf16

    anchor = svae.Anchor.at(args.anchor, args.anchor_python, args.threads)
    print(
        f"preparing the anchor's data in {work / 'prep'} (its train.py with 0 epochs; reused when unchanged) …",
        flush=True,
    )
    data = svae.prepare(anchor, repo_path("data/ptb"), work)
    sub = svae.make_subset(data, work / f"subset-{args.anchor_iters}", args.anchor_iters * svae.BATCH_SIZE, n_valid=64)
    print(f"subset: {len(sub.train_lines)} sentences (seed 0), {sub.train_tokens:,} target tokens on the anchor's "
          f"tokenisation; {args.threads} threads per side; bf16 native on this CPU: {cpu_has_bf16()}", flush=True)  # fmt: skip
    sides = ["anchor", "ours fp32", "ours bf16 matmul", "ours bf16"]
    rates: dict[str, list[svae.Rate]] = {s: [] for s in sides}
    for r in range(args.rounds):
        for side in sides if r % 2 == 0 else sides[::-1]:
            if side == "anchor":
                run = svae.train(
                    anchor,
                    sub.data_dir,
                    work / f"runs/throughput-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{r}",
                    epochs=1,
                )
                rate = svae.iteration_rate(run.log, sub.train_tokens, args.anchor_iters)
            else:
                with tempfile.TemporaryDirectory() as out:
                    cfg = matched.sentence_vae_config(f"{out}/run", amp=side == "ours bf16", threads=args.threads)
                    cfg.train.bf16_matmul = side == "ours bf16 matmul"  # fp32, oneDNN's bf16 products
                    rate = matched.time_steps(cfg, sub.train_lines)
            rates[side].append(rate)
            print(f"round {r + 1}  {side:<16} {rate.tokens_per_s:>9,.0f} target tokens/s  {rate.sentences_per_s:>7.1f} "
                  f"sentences/s  ({rate.steps} steps in {rate.seconds:.1f} s)", flush=True)  # fmt: skip
    summary: dict = {s: [x.to_dict() for x in v] for s, v in rates.items()}
    print("\n| ours / anchor | " + " | ".join(f"round {r + 1}" for r in range(args.rounds)) + " | median |")
    print("|---|" + "---|" * (args.rounds + 1))
    for side in sides[1:]:
        for unit, key in (("tokens/s", "tokens_per_s"), ("sentences/s", "sentences_per_s")):
            ratios = [getattr(o, key) / getattr(a, key) for o, a in zip(rates[side], rates["anchor"], strict=True)]
            summary[f"{side} / anchor, {unit}"] = {
                "per_round": [round(x, 3) for x in ratios],
                "median": round(statistics.median(ratios), 3),
            }
            print(
                f"| {side}, {unit} | "
                + " | ".join(f"{x:.2f}×" for x in ratios)
                + f" | **{statistics.median(ratios):.2f}×** |"
            )
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m benchmarks.train_throughput", __doc__)
    if args.anchor or args.anchor_python:
        if not (args.anchor and args.anchor_python):
            raise CLIError("--anchor and --anchor_python go together")
        try:
            if args.scratch:
                Path(args.scratch).mkdir(parents=True, exist_ok=True)
                summary = against_anchor(args, Path(args.scratch).resolve())
            else:
                with tempfile.TemporaryDirectory(prefix="svae-") as work:
                    summary = against_anchor(args, Path(work))
        except svae.AnchorError as err:
            raise CLIError(str(err)) from None
        print(json.dumps(summary))
        return 0
    device = pick_device(args.device)
    cfg = RunConfig()
    cfg.data.train, cfg.data.valid = str(repo_path(cfg.data.train)), ""
    for k, v in SIZES[args.size].items():
        setattr(cfg.model, k, v)
    vocab, train_set, _ = prepare_data(cfg)
    n = args.steps + args.warmup
    bucketed = [
        make_batch([train_set.ids[i] for i in idx], vocab)
        for idx in train_set.batches(args.batch_size, shuffle=True, seed=0)[:n]
    ]
    order = list(range(len(train_set)))
    random.Random(0).shuffle(order)
    plain = [
        make_batch([train_set.ids[i] for i in order[j : j + args.batch_size]], vocab)
        for j in range(0, n * args.batch_size, args.batch_size)
    ]
    print(f"device {device}, model {args.size} ({cfg.model.emb_dim}/{cfg.model.hidden}/{cfg.model.z_dim}), vocab {len(vocab)}, "
          f"batch {args.batch_size}, {args.steps} timed steps, torch threads {torch.get_num_threads()}")  # fmt: skip
    pad = lambda bs: 1 - sum(b.n_target_tokens for b in bs) / sum(b.target.numel() for b in bs)  # noqa: E731
    print(f"padding share: bucketed {pad(bucketed):.1%}, random batches {pad(plain):.1%}")
    results = {}
    torch.manual_seed(0)
    model = build_model(cfg.model, len(vocab)).to(device).train()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    results["reference"] = measure(
        "reference (random batches, full logits)", plain, reference_step, model, opt, device, args.warmup
    )
    torch.manual_seed(0)
    model = build_model(cfg.model, len(vocab)).to(device).train()
    opt = torch.optim.Adam(model.parameters(), 1e-3, fused=True)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else None
    if amp:
        with amp:
            results["textvae_core"] = measure(
                "textvae_core (bucketed, packed, bf16 AMP)", bucketed, ours_step, model, opt, device, args.warmup
            )
    else:
        results["textvae_core"] = measure(
            "textvae_core (bucketed, packed, fused CE)", bucketed, ours_step, model, opt, device, args.warmup
        )
    ratio = results["textvae_core"] / results["reference"]
    print(f"speed-up: {ratio:.2f}x")
    print(
        json.dumps(
            {
                "device": str(device),
                "size": args.size,
                **{k: round(v) for k, v in results.items()},
                "ratio": round(ratio, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    run_main(main)
