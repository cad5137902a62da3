"""Evaluate a run: ``python -m textvae_core.evaluate RUN [--split test] [--k 100] …`` writes RUN/eval.json.

Everything is per sentence unless its key says per token; ``eval.json`` records how each figure was
obtained (split, k, decoding, number of samples) next to the figure.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from .checkpoint import CheckpointError, load_run
from .data import Corpus, CorpusError, read_corpus
from .decoding import DecodeConfig
from .device import pick_device
from .inference import TextVAE
from .io import atomic_write_text
from .metrics import (
    active_units,
    aggregated_posterior,
    encode_corpus,
    generation_stats,
    heldout_bounds,
    homotopy_repeats,
    importance_sampled_nll,
    kl_share,
    mutual_information,
    reconstruction_scores,
    self_bleu,
)

EVAL = "eval.json"

# Prior-sample decoding schemes of Prokhorov et al. §3.3.
GENERATION_SCHEMES: dict[str, DecodeConfig] = {
    "greedy": DecodeConfig(method="greedy"),
    "beam5": DecodeConfig(method="beam", beam_size=5),
    "top5": DecodeConfig(method="sample", top_k=5),
    "top15": DecodeConfig(method="sample", top_k=15),
    "nucleus0.5": DecodeConfig(method="sample", top_p=0.5),
    "nucleus0.9": DecodeConfig(method="sample", top_p=0.9),
}


@dataclass
class EvalConfig:
    split: str = "test"  # which corpus of the run's data config to evaluate on
    k: int = 10  # importance samples per sentence for the NLL (cost grows linearly; 100+ on a GPU)
    max_sentences: int = 0  # evaluate on the first N sentences only (0 = all)
    recon_decoding: str = "greedy"  # decoding of reconstructions: greedy | beam
    prior_samples: int = 1000  # sentences generated from p(z) per decoding scheme
    self_bleu_n: int = 300  # generated sentences self-BLEU is computed on (O(n²); keep fixed to compare)
    homotopy_pairs: int = 20  # pairs of prior samples for the homotopy repeat count
    homotopy_steps: int = 7  # points per path, endpoints included (the paper: 2 + 5)
    seed: int = 0
    device: str = "auto"


def evaluate(run_dir: str | Path, cfg: EvalConfig | None = None, progress: bool = True) -> dict[str, Any]:
    """Compute every figure for one run and write it to RUN/eval.json (atomically)."""
    cfg = cfg or EvalConfig()
    device = pick_device(cfg.device)
    run = load_run(run_dir, device=device)
    path = getattr(run.config.data, cfg.split, "")
    if not path:
        raise CorpusError(f"the run's data config has no {cfg.split!r} split")
    sentences = read_corpus(path, run.config.data.level, run.config.data.lowercase)
    if cfg.max_sentences:
        sentences = sentences[: cfg.max_sentences]
    corpus = Corpus(sentences, run.vocab, cfg.split)
    vae = TextVAE(run.model, run.vocab, run.config)
    timings: dict[str, float] = {}
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)

    def timed(name: str, fn):  # noqa: ANN001
        t0 = time.perf_counter()
        say(f"[{Path(run_dir).name}] {name} …")
        value = fn()
        timings[name] = round(time.perf_counter() - t0, 2)
        return value

    o = run.config.objective
    result: dict[str, Any] = {"run": str(run_dir), "step": run.step, "split": cfg.split, "config": asdict(cfg)}
    bounds = timed("bounds", lambda: heldout_bounds(run.model, corpus, device, seed=cfg.seed))
    result["bounds"] = {**bounds, "kl_share": kl_share(bounds["rec"], bounds["kl"], o.m, o.beta, o.C)}
    result["iw_nll"] = timed(
        "iw_nll", lambda: importance_sampled_nll(run.model, corpus, device, k=cfg.k, seed=cfg.seed)
    )
    mu, logvar = timed("encode", lambda: encode_corpus(run.model, corpus, device))
    au, variances = active_units(mu)
    result["latent"] = {
        "active_units": au,
        "z_dim": mu.size(1),
        "au_variances": [round(v, 5) for v in variances.tolist()],
        **aggregated_posterior(mu, logvar, seed=cfg.seed),
        "mutual_information": mutual_information(mu, logvar, seed=cfg.seed),
    }
    inputs = [run.vocab.detokenize(s) for s in sentences]
    recon_cfg = DecodeConfig(method="beam" if cfg.recon_decoding == "beam" else "greedy")
    outputs = timed("reconstruct", lambda: vae.decode(mu.to(device), recon_cfg))
    result["reconstruction"] = {
        "decoding": cfg.recon_decoding,
        "z": "mean",
        "scores": reconstruction_scores(inputs, outputs),
        "examples": [{"input": i, "output": r} for i, r in list(zip(inputs, outputs, strict=True))[:10]],
    }
    z = vae.prior_z(cfg.prior_samples, seed=cfg.seed)
    generation = {}
    for name, dcfg in GENERATION_SCHEMES.items():
        texts = timed(f"generate {name}", lambda d=dcfg: vae.decode(z, d, seed=cfg.seed))
        sb = timed(f"self-BLEU {name}", lambda t=texts: self_bleu(t, max_sentences=cfg.self_bleu_n, seed=cfg.seed))
        generation[name] = {**generation_stats(texts), "self_bleu4": sb, "examples": texts[:5]}
    result["generation"] = {"n_z": cfg.prior_samples, "self_bleu_n": cfg.self_bleu_n, "schemes": generation}
    result["homotopy"] = timed("homotopy", lambda: homotopy(vae, cfg))
    result["timings_s"] = timings
    atomic_write_text(Path(run_dir) / EVAL, json.dumps(result, indent=2, default=_json_default) + "\n")
    return result


def homotopy(vae: TextVAE, cfg: EvalConfig) -> dict[str, Any]:
    """Mean consecutive repeats on greedy paths between pairs of prior samples (Prokhorov Table 2)."""
    ends = vae.prior_z(2 * cfg.homotopy_pairs, seed=cfg.seed + 1)
    paths = torch.cat(
        [vae.interpolate(ends[2 * i], ends[2 * i + 1], cfg.homotopy_steps) for i in range(cfg.homotopy_pairs)]
    )
    texts = vae.decode(paths, DecodeConfig(method="greedy"))
    per_path = [texts[i * cfg.homotopy_steps : (i + 1) * cfg.homotopy_steps] for i in range(cfg.homotopy_pairs)]
    repeats = [homotopy_repeats(p) for p in per_path]
    return {
        "pairs": cfg.homotopy_pairs,
        "steps": cfg.homotopy_steps,
        "mean_repeats": sum(repeats) / max(1, len(repeats)),
        "max_repeats": cfg.homotopy_steps - 1,
        "example": per_path[0] if per_path else [],
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, torch.Tensor):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m textvae_core.evaluate", description=__doc__)
    ap.add_argument("runs", nargs="+", help="run directories")
    defaults = EvalConfig()
    for name, value in asdict(defaults).items():
        ap.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = ap.parse_args(argv)
    cfg = EvalConfig(**{k: v for k, v in vars(args).items() if k != "runs"})
    status = 0
    for run_dir in args.runs:
        try:
            t0 = time.perf_counter()
            res = evaluate(run_dir, cfg)
            b, iw, lat = res["bounds"], res["iw_nll"], res["latent"]
            print(
                f"{run_dir}: R {b['kl']:.2f}  D {b['rec']:.2f}  -ELBO {b['nll_bound']:.2f}  "
                f"IW-NLL(k={iw['k']}) {iw['nll']:.2f}  PPL {iw['ppl']:.1f}  AU {lat['active_units']}/{lat['z_dim']}  "
                f"({time.perf_counter() - t0:.1f} s)"
            )
        except (CheckpointError, CorpusError) as err:
            print(f"error: {err}", file=sys.stderr)
            status = 2
    return status


if __name__ == "__main__":
    raise SystemExit(main())
