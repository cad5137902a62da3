"""Evaluate runs: ``python -m textvae_core.evaluate RUN … [--profile grid] [--k 100] …`` writes RUN/eval.json.

Everything is per sentence unless its key says per token; ``eval.json`` records how each figure was
obtained (profile, split, k, decoding, number of samples, FCE vocabulary) next to the figure, and
how long each stage took (``timings_s``).
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar

import torch

from .checkpoint import CheckpointError, LoadedRun, load_run
from .cli import CLIError, OptionParser
from .corpus import verbatim_overlap
from .data import Corpus, CorpusError, read_corpus
from .decoding import DecodeConfig
from .device import pick_device
from .inference import TextVAE
from .lm import LMConfig
from .metrics import (
    AU_THRESHOLD,
    active_units,
    aggregated_posterior,
    forward_cross_entropy,
    generation_stats,
    homotopy_repeats,
    kl_share,
    likelihood_pass,
    mutual_information,
    reconstruction_scores,
    self_bleu,
    syntactic_test,
    vocab_fingerprint,
)
from .metrics.likelihood import encode_corpus
from .models import LatentPart, family_name
from .paths import repo_path
from .rundir import EVAL, read_eval, write_eval

T = TypeVar("T")


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
    profile: str = "full"  # named defaults the fields started from (build with for_profile); recorded in eval.json
    split: str = "test"  # which corpus of the run's data config to evaluate on
    k: int = 10  # importance samples per sentence for the NLL, and for D (cost grows linearly; 100+ on a GPU)
    max_sentences: int = 0  # evaluate on the first N sentences only (0 = all)
    recon_decoding: str = "greedy"  # decoding of reconstructions: greedy | beam
    prior_samples: int = 1000  # sentences generated from p(z) per decoding scheme
    self_bleu_n: int = 300  # generated sentences self-BLEU is computed on (the figure depends on it: keep fixed)
    homotopy_pairs: int = 20  # pairs of prior samples for the homotopy repeat count
    homotopy_steps: int = 7  # points per path, endpoints included (the paper: 2 + 5)
    fce_schemes: str = "nucleus0.9,greedy"  # comma-separated schemes whose prior samples train an FCE LM; "" = no FCE
    fce_sentences: int = 10000  # generated sentences per FCE corpus (Prokhorov et al.: 10k)
    fce_lm_emb: int = 128  # FCE language model: word embedding size
    fce_lm_hidden: int = 256  # FCE language model: LSTM units
    fce_lm_epochs: float = 2.0  # FCE language model: passes over the generated corpus
    syntax_dir: str = "data/marvin_linzen_2018/emnlp2018"  # Marvin & Linzen TSV folder (repo-relative); "" = skip
    syntax_pairs: int = 1000  # pairs per category, evenly spaced through its file (0 = all 163k: hours on a CPU)
    train_sentences: int = 5000  # training sentences (seeded sample) R and D are measured on too, one z each; 0 = skip
    max_len: int = 0  # tokens decoded at most per sentence; 0 = 50 words, or 150 characters for a char-level run
    seed: int = 0  # seeds every draw: importance samples, prior samples, sentences, the FCE language model
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda | cuda:N
    threads: int = 0  # torch CPU threads (0 = torch's default); 1 each is best when runs are evaluated side by side

    @classmethod
    def for_profile(cls, name: str = "full", **overrides: Any) -> EvalConfig:
        """The profile's defaults, then any explicit overrides."""
        if name not in PROFILES:
            raise ValueError(f"unknown evaluation profile {name!r}; choose from {sorted(PROFILES)}")
        return cls(**{**PROFILES[name], **overrides, "profile": name})

    def validate(self) -> None:
        if self.recon_decoding not in {"greedy", "beam"}:
            raise ValueError(f"recon_decoding must be greedy or beam, not {self.recon_decoding!r}")
        unknown = [s for s in self.fce_list if s not in GENERATION_SCHEMES]
        if unknown:
            raise ValueError(f"unknown FCE decoding scheme(s) {unknown}; choose from {sorted(GENERATION_SCHEMES)}")
        if self.k < 1 or self.prior_samples < 1:
            raise ValueError("k and prior_samples must be ≥ 1")
        if self.train_sentences < 0:
            raise ValueError("train_sentences must be ≥ 0 (0 skips the training-data figures)")

    @property
    def measures_train_fit(self) -> bool:
        """Whether evaluation measures the train_fit section: asked for, and the split is not the training data."""
        return self.train_sentences > 0 and self.split != "train"

    @property
    def fce_list(self) -> list[str]:
        return [s.strip() for s in self.fce_schemes.split(",") if s.strip()] if self.fce_sentences else []


# Named settings. "full" follows the papers where the CPU allows (10k generated sentences for the
# FCE, the paper's LM size); "grid" keeps every figure of the 38-run grid, on the whole test set, but
# pays for fewer samples: k = 5 importance samples (the likelihood pass is half of its cost, and its
# cost is linear in k), 300 prior samples per scheme (self-BLEU is on 300 in both profiles, so it stays
# comparable), a 1k-sentence FCE corpus and a smaller LM (FCE comparable only within a profile), and
# 50 syntax pairs per category.
PROFILES: dict[str, dict[str, Any]] = {
    "full": {},
    "grid": {
        "k": 5,
        "prior_samples": 300,
        "fce_schemes": "nucleus0.9",
        "fce_sentences": 1000,
        "fce_lm_emb": 64,
        "fce_lm_hidden": 128,
        "syntax_pairs": 50,
    },
    # what an ablation row needs: R, D, the latent statistics and reconstructions on the whole test set;
    # one z per sentence, few prior samples, no FCE and no syntactic test
    "probe": {
        "k": 1,
        "prior_samples": 100,
        "self_bleu_n": 100,
        "homotopy_pairs": 5,
        "fce_schemes": "",
        "syntax_dir": "",
    },
}


def evaluate(run_dir: str | Path, cfg: EvalConfig | None = None, progress: bool = True) -> dict[str, Any]:
    """Compute every figure for one run and write it to RUN/eval.json (atomically)."""
    cfg = cfg or EvalConfig()
    cfg.validate()
    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _evaluate(Path(run_dir), cfg, progress)
    finally:
        torch.set_num_threads(threads)  # the caller's setting, whatever this run used


def _evaluate(run_dir: Path, cfg: EvalConfig, progress: bool) -> dict[str, Any]:
    device = pick_device(cfg.device)
    run = load_run(run_dir, device=device)
    sentences = _split_sentences(run, cfg)
    corpus = Corpus(sentences, run.vocab, cfg.split)
    vae = TextVAE(run.model, run.vocab, run.config)
    timings: dict[str, float] = {}  # wall-clock seconds per stage
    cpu: dict[str, float] = {}  # CPU seconds of this process per stage: steadier than wall time on a busy machine
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    t_start, cpu_start = time.perf_counter(), time.process_time()

    def timed(name: str, fn: Callable[[], T]) -> T:
        t0, c0 = time.perf_counter(), time.process_time()
        say(f"[{run_dir.name}] {name} …")
        value = fn()
        timings[name] = round(time.perf_counter() - t0, 2)
        cpu[name] = round(time.process_time() - c0, 2)
        return value

    o = run.config.objective
    result: dict[str, Any] = {
        "run": str(run_dir),
        "step": run.step,
        "split": cfg.split,
        "profile": cfg.profile,
        "config": asdict(cfg),
        "family": family_name(run.config.model),
    }
    if "kept" in run.meta:  # train.keep_best: the weights measured are a validation's pick, not the last step's
        result["kept"] = json.loads(run.meta["kept"])
    per_call = max(1, 640 // cfg.k)  # sentences per decoder call: k × this ≈ 640 rows whatever k is
    lik = timed(
        "likelihood", lambda: likelihood_pass(run.model, corpus, device, k=cfg.k, batch_size=per_call, seed=cfg.seed)
    )
    bounds = lik.bounds
    share = kl_share(bounds["rec"], bounds["kl"], o.m, o.beta, o.C, o.alpha, bounds.get("aux_rec", 0.0))
    result["bounds"] = {**bounds, "kl_share": share}
    result["iw_nll"] = lik.iw_nll
    if cfg.measures_train_fit:
        result["train_fit"] = timed("train fit", lambda: train_fit(run, cfg, device))
    mu, logvar = lik.mu, lik.logvar
    result["latent"] = timed(
        "latent", lambda: latent_stats(mu, logvar, cfg.seed, run.model.parts, lik.kl_dims, run.model.hierarchical)
    )
    inputs = [run.vocab.detokenize(s) for s in sentences]
    recon_cfg = decoding(DecodeConfig(method="beam" if cfg.recon_decoding == "beam" else "greedy"), cfg, vae)
    outputs = timed("reconstruct", lambda: vae.decode(mu.to(device), recon_cfg))
    result["reconstruction"] = {
        "decoding": cfg.recon_decoding,
        "z": "mean",
        "scores": timed("reconstruction scores", lambda: reconstruction_scores(inputs, outputs)),
        "examples": [{"input": i, "output": r} for i, r in list(zip(inputs, outputs, strict=True))[:10]],
    }
    if cfg.split != "train":
        result["overlap"] = timed("overlap", lambda: overlap(run, sentences, inputs, outputs))
    generation, corpora = {}, {}
    for name, dcfg in GENERATION_SCHEMES.items():
        # an FCE scheme decodes its whole FCE corpus once; the statistics use its first prior_samples
        n_z = _fce_n_z(cfg) if name in cfg.fce_list else cfg.prior_samples
        z = vae.prior_z(n_z, seed=cfg.seed)
        dcfg = decoding(dcfg, cfg, vae)
        texts = timed(f"generate {name}", lambda z=z, d=dcfg: vae.decode(z, d, seed=cfg.seed))
        if name in cfg.fce_list:
            corpora[name] = texts[: cfg.fce_sentences]
        texts = texts[: cfg.prior_samples]
        sb = timed(f"self-BLEU {name}", lambda t=texts: self_bleu(t, max_sentences=cfg.self_bleu_n, seed=cfg.seed))
        generation[name] = {**generation_stats(texts), "self_bleu4": sb, "examples": texts[:5]}
    result["generation"] = {"n_z": cfg.prior_samples, "self_bleu_n": cfg.self_bleu_n, "schemes": generation}
    if corpora:
        result["fce"] = fce(run, corpora, inputs, cfg, device, timed)
    result["homotopy"] = timed("homotopy", lambda: homotopy(vae, cfg))
    if cfg.syntax_dir:
        result["syntax"] = timed("syntax", lambda: syntax(run, cfg, device))
    timings["total"] = round(time.perf_counter() - t_start, 2)
    cpu["total"] = round(time.process_time() - cpu_start, 2)
    result["timings_s"] = timings
    result["cpu_s"] = cpu
    result["torch_threads"] = torch.get_num_threads()
    write_eval(run_dir, result, default=_json_default)
    return result


def _split_sentences(run: LoadedRun, cfg: EvalConfig) -> list[list[str]]:
    """The sentences of the evaluated split (the first ``max_sentences``)."""
    sentences = _read_split(run, cfg.split)
    return sentences[: cfg.max_sentences] if cfg.max_sentences else sentences


def _read_split(run: LoadedRun, split: str) -> list[list[str]]:
    """One split's sentences as the run's data config reads them (a fixed-width model: those it can read,
    at most ``max_tokens``)."""
    path = getattr(run.config.data, split, "")
    if not path:
        raise CorpusError(f"the run's data config has no {split!r} split")
    d = run.config.data
    return read_corpus(path, d.level, d.lowercase, max_len=run.model.max_tokens or 0, fmt=d.format)


def train_fit(run: LoadedRun, cfg: EvalConfig, device: torch.device) -> dict[str, Any]:
    """R and D of the evaluated weights on a seeded sample of the training sentences (eval mode, one z each).

    Why: beside the split's figures they tell where a miss arises. A test KL off the capacity C while the
    training sentences sit on it is the encoder's generalisation gap; off on the training sentences too, it
    is the weights' own (the penalty |KL − C| is met on average over updates, not by every update's
    weights); a test D far above the training D is overfitting. One encoder pass and one decoder pass
    over ``train_sentences`` sentences: 4 CPU s for a sweep run, under a minute at the paper's size."""
    try:
        sentences = _read_split(run, "train")
    except (CorpusError, OSError) as err:  # the training file moved or was never there: say so, measure the rest
        return {"skipped": str(err)}
    n = min(cfg.train_sentences, len(sentences))
    if not n:
        return {"skipped": f"{run.config.data.train}: no training sentence this model can read"}
    picked = sorted(random.Random(cfg.seed).sample(range(len(sentences)), n))
    corpus = Corpus([sentences[i] for i in picked], run.vocab, "train")
    b = likelihood_pass(run.model, corpus, device, k=1, batch_size=640, seed=cfg.seed).bounds
    return {"split": "train", "n_sentences": n, "k": 1, "rec": b["rec"], "kl": b["kl"], "nll_bound": b["nll_bound"]}


def overlap(run: LoadedRun, sentences: list[list[str]], inputs: list[str], outputs: list[str]) -> dict[str, Any]:
    """How many evaluated sentences occur verbatim in the training file, and the reconstruction scores
    without them: a sentence seen in training scores what the model remembers (PTB's test split repeats 64
    of its training sentences), so the headline BLEU is given both ways."""
    try:
        seen = set(verbatim_overlap(sentences, _read_split(run, "train")))
    except (CorpusError, OSError) as err:
        return {"skipped": str(err)}
    unseen = [i for i in range(len(sentences)) if i not in seen]
    out: dict[str, Any] = {"n_sentences": len(sentences), "in_train": len(seen)}
    if unseen and seen:
        out["unseen"] = reconstruction_scores([inputs[i] for i in unseen], [outputs[i] for i in unseen])["all"]
    return out


def decoding(scheme: DecodeConfig, cfg: EvalConfig, vae: TextVAE) -> DecodeConfig:
    """A decoding scheme with the evaluation's length limit: characters need about three times a word budget."""
    limit = cfg.max_len or (150 if vae.vocab.level == "char" else scheme.max_len)
    return replace(scheme, max_len=limit)


def _fce_n_z(cfg: EvalConfig) -> int:
    """Prior samples an FCE scheme decodes: its FCE corpus and its statistics come from one draw."""
    return max(cfg.prior_samples, cfg.fce_sentences)


REFRESHABLE = (
    "syntax",
    "homotopy",
    "fce",
    "train_fit",
    "overlap",
)  # sections that need only the model and the recorded settings


def refresh(run_dir: str | Path, sections: list[str], fce_schemes: str | None = None) -> dict[str, Any]:
    """Recompute some sections of an existing eval.json with the settings recorded in it, and keep
    the rest: a metric extended after the grid was evaluated does not cost a whole evaluation.

    ``fce_schemes`` (with the ``fce`` section) changes the recorded list of FCE schemes: schemes
    already measured are kept as they are, the others are computed, so adding one costs one scheme."""
    run_dir = Path(run_dir)
    unknown = [s for s in sections if s not in REFRESHABLE]
    if unknown:
        raise ValueError(f"cannot refresh {unknown}; refreshable sections: {', '.join(REFRESHABLE)}")
    if fce_schemes is not None and "fce" not in sections:
        raise ValueError("--fce-schemes with --only needs the fce section: --only fce")
    result = read_eval(run_dir)
    if result is None:
        raise CorpusError(f"{run_dir}: no readable {EVAL} to refresh; evaluate the run first")
    known = {f.name for f in fields(EvalConfig)}
    cfg = EvalConfig(**{k: v for k, v in result.get("config", {}).items() if k in known})
    if fce_schemes is not None:
        cfg = replace(cfg, fce_schemes=fce_schemes)
        cfg.validate()
        result["config"] = asdict(cfg)
    device = pick_device(cfg.device)
    run = load_run(run_dir, device=device)
    if run.step != result.get("step"):
        raise CorpusError(f"{run_dir}: eval.json is for step {result.get('step')}, the weights are at {run.step}")
    for name in sections:
        if name == "syntax" and not cfg.syntax_dir:
            continue  # switched off when the run was evaluated: nothing to refresh
        t0 = time.perf_counter()
        if name == "syntax":
            result["syntax"] = syntax(run, cfg, device)
        elif name == "homotopy":
            result["homotopy"] = homotopy(TextVAE(run.model, run.vocab, run.config), cfg)
        elif name == "overlap":
            result["overlap"] = _refresh_overlap(run, cfg, device)
        elif name == "train_fit":
            if not cfg.measures_train_fit:
                continue  # switched off, or the evaluated split is the training data itself
            result["train_fit"] = train_fit(run, cfg, device)
            result["config"] = asdict(cfg)  # the sample size it was measured with, for eval.json's from before it
        elif cfg.fce_list:
            result["fce"] = _refresh_fce(run, cfg, result.get("fce"), device)
        else:
            result.pop("fce", None)  # no scheme left to measure
        result.setdefault("timings_s", {})[name] = round(time.perf_counter() - t0, 2)
        result.setdefault("refreshed", {})[name] = time.strftime("%Y-%m-%d")
    write_eval(run_dir, result, default=_json_default)
    return result


def _refresh_overlap(run: LoadedRun, cfg: EvalConfig, device: torch.device) -> dict[str, Any]:
    """The overlap section: the split's reconstructions decoded again as evaluate decodes them (greedy or beam
    from μ, the recorded length limit), scored without the sentences the training file holds."""
    sentences = _split_sentences(run, cfg)
    vae = TextVAE(run.model, run.vocab, run.config)
    mu = encode_corpus(run.model, Corpus(sentences, run.vocab, cfg.split))[0]
    recon = decoding(DecodeConfig(method="beam" if cfg.recon_decoding == "beam" else "greedy"), cfg, vae)
    inputs = [run.vocab.detokenize(s) for s in sentences]
    return overlap(run, sentences, inputs, vae.decode(mu.to(device), recon))


def _refresh_fce(run: LoadedRun, cfg: EvalConfig, old: dict[str, Any] | None, device: torch.device) -> dict[str, Any]:
    """The FCE section for ``cfg.fce_list``, reusing the schemes ``old`` measured. They share its setup by
    construction: ``cfg`` is the recorded one (only the scheme list may change) and the weights are checked."""
    vae = TextVAE(run.model, run.vocab, run.config)
    kept = (old or {}).get("schemes", {})
    z = vae.prior_z(_fce_n_z(cfg), seed=cfg.seed)  # the draw evaluate decodes for every FCE scheme
    corpora = {
        name: vae.decode(z, decoding(GENERATION_SCHEMES[name], cfg, vae), seed=cfg.seed)[: cfg.fce_sentences]
        for name in cfg.fce_list
        if name not in kept
    }
    test = [run.vocab.detokenize(s) for s in _split_sentences(run, cfg)]
    section = fce(run, corpora, test, cfg, device, lambda _name, fn: fn())
    section["schemes"] = {name: kept.get(name) or section["schemes"][name] for name in cfg.fce_list}
    return section


def latent_stats(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    seed: int,
    parts: list[LatentPart] | None = None,
    kl_dims: torch.Tensor | None = None,
    hierarchical: bool = False,
) -> dict[str, Any]:
    """Active units, aggregated-posterior statistics and I(x; z) from the encoder outputs of the corpus.

    A latent made of parts (FMP positions, ladder layers) is measured flat, as one vector, and each part
    also gets its own active units and mean KL (``parts``). For a ladder the flat statistics read its
    mean path against N(0, I): exact for the top layer, a description for the layers under it, whose
    prior is conditional (``prior`` says which).
    """
    au, variances = active_units(mu)
    stats: dict[str, Any] = {
        "active_units": au,
        "z_dim": mu.size(1),
        "au_variances": [round(v, 5) for v in variances.tolist()],
        **aggregated_posterior(mu, logvar, seed=seed),
        "mutual_information": mutual_information(mu, logvar, seed=seed),
        "prior": "hierarchical: p(z_L) = N(0, I), p(z_i | z_i+1) learned" if hierarchical else "N(0, I)",
    }
    if parts and len(parts) > 1:
        stats["parts"] = {
            p.name: {
                "size": p.size,
                "active_units": int((variances[p.start : p.stop] > AU_THRESHOLD).sum()),
                **({"kl": float(kl_dims[:, p.start : p.stop].sum(-1).mean())} if kl_dims is not None else {}),
            }
            for p in parts
        }
    return stats


def fce(
    run: LoadedRun,
    corpora: dict[str, list[str]],
    test: list[str],
    cfg: EvalConfig,
    device: torch.device,
    timed: Callable[[str, Callable[[], Any]], Any],
) -> dict[str, Any]:
    """Forward cross-entropy of each FCE scheme's generated corpus, under the run's own vocabulary.

    That vocabulary is built from the run's training corpus (data.train, max_vocab, min_count), so
    every run trained on the same corpus with the same limits shares it, as the β_C paper's fixed
    vocabulary requires; the fingerprint says which one was used, and the report compares only
    figures with equal fingerprints.
    """
    lm = LMConfig(emb_dim=cfg.fce_lm_emb, hidden=cfg.fce_lm_hidden, epochs=cfg.fce_lm_epochs, seed=cfg.seed)
    d = run.config.data
    schemes = {
        name: timed(f"fce {name}", lambda t=texts: forward_cross_entropy(t, test, run.vocab, device, lm))
        for name, texts in corpora.items()
    }
    return {
        "vocab": f"run vocabulary: {d.train} (max_vocab {d.max_vocab}, min_count {d.min_count}, level {d.level})",
        "vocab_size": len(run.vocab),
        "vocab_fingerprint": vocab_fingerprint(run.vocab),
        "test": f"{cfg.split} ({len(test)} sentences)",
        "lm": asdict(lm),
        "n_sentences": cfg.fce_sentences,  # generated sentences each LM trains on
        "normalisation": "fce: NLL per test sentence (words + end of sentence); fce_per_token: per target token",
        "schemes": schemes,
    }


def syntax(run: LoadedRun, cfg: EvalConfig, device: torch.device) -> dict[str, Any]:
    """The Marvin & Linzen test on the configured folder, or why it was skipped."""
    folder = repo_path(cfg.syntax_dir)  # data paths are repository-relative; evaluate may run elsewhere
    if not folder.is_dir() or not any(folder.glob("*.tsv")):
        return {"skipped": f"no Marvin & Linzen TSV files in {cfg.syntax_dir}"}
    res = syntactic_test(run.model, run.vocab, folder, device, max_pairs=cfg.syntax_pairs)
    return {"data": cfg.syntax_dir, "z": "mean", **res}


def homotopy(vae: TextVAE, cfg: EvalConfig) -> dict[str, Any]:
    """Mean consecutive repeats on greedy paths between pairs of prior samples (Prokhorov Table 2)."""
    ends = vae.prior_z(2 * cfg.homotopy_pairs, seed=cfg.seed + 1)
    paths = torch.cat(
        [vae.interpolate(ends[2 * i], ends[2 * i + 1], cfg.homotopy_steps) for i in range(cfg.homotopy_pairs)]
    )
    texts = vae.decode(paths, decoding(DecodeConfig(method="greedy"), cfg, vae))
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
    parser = OptionParser("python -m textvae_core.evaluate", __doc__)
    parser.add_positional("runs", "run directories", nargs="+")
    parser.add(
        "profile",
        "profile",
        "named defaults the other settings start from: full (the papers' sample counts where the CPU allows) "
        "or grid (fewer samples; what every shipped eval.json uses) (default: full)",
        choices=sorted(PROFILES),
    )
    parser.add(
        "only",
        "only",
        f"recompute only these sections of an existing eval.json, with the settings it records "
        f"(comma-separated: {', '.join(REFRESHABLE)}; --fce-schemes may add FCE schemes)",
    )
    parser.add_dataclass(EvalConfig, title="settings (defaults: the full profile)", dashes=True, skip=("profile",))
    try:
        given = parser.parse(argv)
    except CLIError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    runs, profile, only = given.pop("runs"), given.pop("profile", "full"), given.pop("only", "")
    if only:
        ignored = sorted(set(given) - {"fce_schemes"})
        if ignored:  # a refresh uses the settings eval.json recorded; say so rather than drop the flags
            flags = ", ".join("--" + k.replace("_", "-") for k in ignored)
            print(
                f"error: --only reuses the settings recorded in eval.json; {flags} cannot change them", file=sys.stderr
            )
            return 2
        try:
            for run_dir in runs:
                refresh(run_dir, [s.strip() for s in only.split(",") if s.strip()], given.get("fce_schemes"))
                print(f"{run_dir}: refreshed {only}")
        except (ValueError, CorpusError, CheckpointError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0
    try:
        cfg = EvalConfig.for_profile(profile, **given)
        cfg.validate()
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    status = 0
    for run_dir in runs:
        try:
            t0 = time.perf_counter()
            res = evaluate(run_dir, cfg)
            b, iw, lat = res["bounds"], res["iw_nll"], res["latent"]
            print(
                f"{run_dir}: R {b['kl']:.2f}  D {b['rec']:.2f}  -ELBO {b['nll_bound']:.2f}  "
                f"IW-NLL(k={iw['k']}) {iw['nll']:.2f}  PPL {iw['ppl']:.1f}  AU {lat['active_units']}/{lat['z_dim']}  "
                f"[{cfg.profile}] ({time.perf_counter() - t0:.1f} s)"
            )
        except (CheckpointError, CorpusError) as err:
            print(f"error: {err}", file=sys.stderr)
            status = 2
    return status


if __name__ == "__main__":
    raise SystemExit(main())
