"""Training throughput (target tokens per second) of the default model on Penn Treebank.

Compares textvae_core's training step with the way the usual research code trains the same model
(e.g. Sentence-VAE): random batches padded to their longest sentence, the vocabulary projection and
log-softmax computed at every padded position, NLL with ignore_index, stock Adam. Same model, same
data, same number of sentences; the ratio is what the packing, bucketing and fused loss buy.

    python benchmarks/train_throughput.py [--steps 40] [--device auto] [--batch-size 64]
"""

from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file: the repository's packages

from textvae_core.cli import parse_dataclass, run_main
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


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python benchmarks/train_throughput.py", __doc__)
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
