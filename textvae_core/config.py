"""Run configuration: plain dataclasses that round-trip through JSON.

A run directory's ``config.json`` is ``RunConfig.to_dict()``; the app reads m / β / C / α from it
without touching the weights, so every field here is a JSON scalar, list or nested dataclass.
Each field's one comment is its help on the command line (``textvae_core.cli`` reads it), so keep
the unit and the meaning there. This module imports nothing else of the package but ``io``.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1  # bump when config.json or the weight layout changes incompatibly


class ConfigError(ValueError):
    """A configuration that cannot be used, with a message meant for the user."""


@dataclass
class DataConfig:
    train: str = "data/ptb/ptb.train.txt"  # path of the training corpus, one sentence per line
    valid: str = "data/ptb/ptb.valid.txt"  # held-out corpus for periodic validation ("" to skip)
    test: str = "data/ptb/ptb.test.txt"  # test corpus, used by evaluation only ("" if none)
    format: str = "text"  # text: one sentence per line; labelled: "label<TAB>sentence" per line (labels kept)
    level: str = "word"  # "word": whitespace tokens; "char": characters (spaces kept as tokens)
    lowercase: bool = False  # lowercase every line before tokenising
    min_len: int = 1  # drop sentences shorter than this many tokens (AutoGen keeps 5-30)
    max_len: int = 0  # drop sentences longer than this many tokens; 0 = no upper limit
    max_vocab: int = 20000  # vocabulary size cap, special symbols included
    min_count: int = 1  # a token needs this many training occurrences to enter the vocabulary


@dataclass
class ModelConfig:
    encoder: str = "lstm"  # encoder registry name: lstm | gru | cnn (strided convolutions, fixed width seq_len)
    decoder: str = "lstm"  # decoder registry name: lstm | gru | cnn (causal) | deconv (non-autoregressive) | hybrid
    emb_dim: int = 128  # word embedding size (shared by encoder and decoder)
    hidden: int = 256  # RNN hidden units per direction; CNN decoder: outer channels
    z_dim: int = 32  # latent dimensions (latent=fmp: per position; latent=ladder: see ladder_z)
    enc_layers: int = 1  # stacked encoder RNN layers
    dec_layers: int = 1  # stacked decoder RNN layers (ignored by the CNN decoder)
    bidirectional: bool = False  # bidirectional encoder RNN
    z_mode: str = "concat"  # how z enters an RNN decoder: concat (every step) | init (h0) | both
    mu_norm: str | None = None  # none | batchnorm: μ normalised over the batch (Zhu et al. 2020); unset: recipe
    mu_scale: float | None = None  # batchnorm: γ at the start, each μ_d's std (KL ≥ ½·Σ_d γ_d²); unset: the recipe's 1
    mu_scale_learn: bool | None = None  # batchnorm: γ learned per dimension (unread ones shrink); unset: recipe
    bow_head: bool | None = None  # a head predicting the sentence's words from z (Zhao et al. 2017); unset: recipe
    dropout: float = 0.0  # dropout on decoder outputs before the vocabulary projection
    tie_embeddings: bool = False  # output layer = the embedding matrix (Press & Wolf 2017); hidden ≠ emb: projected
    emb_dropout: float = 0.0  # dropout on the decoder's input embeddings (weakens the decoder, regularises)
    cnn_kernel: int = 3  # CNN decoder: causal kernel width (tokens)
    cnn_dilations: list[int] = field(default_factory=lambda: [1, 2, 4, 8])  # CNN decoder: one gated block per dilation
    cnn_inner: int = 128  # CNN decoder: bottleneck channels inside each block
    latent: str = "dense"  # dense (one z) | fmp (one z per feature-map position, KL summed) | ladder (L layers)
    seq_len: int = 64  # cnn encoder, deconv/hybrid decoders: fixed width in tokens, <eos> included
    conv_channels: list[int] = field(default_factory=lambda: [128, 256])  # cnn: one stride-2 conv each
    conv_kernel: int = 3  # cnn encoder / deconv decoder: kernel width (tokens), every (transposed) conv
    fmp_positions: int = 4  # latent=fmp, RNN encoder: latent vectors (cnn: seq_len / 2^len(conv_channels))
    ladder_z: list[int] = field(default_factory=lambda: [32, 16, 8])  # ladder: layer sizes, z₁ (decoded) first
    ladder_hidden: list[int] = field(default_factory=lambda: [256, 128, 64])  # ladder, RNN encoder: MLP units


# Named model sizes; "small" trains on two CPU cores in minutes, the others are the papers'.
SIZES: dict[str, dict[str, Any]] = {
    "small": {"emb_dim": 128, "hidden": 256, "z_dim": 32},
    "paper": {"emb_dim": 256, "hidden": 512, "z_dim": 64, "cnn_inner": 128},  # β_C-VAE (Prokhorov)
    "autogen": {"emb_dim": 256, "hidden": 500, "z_dim": 50},  # AutoGen (Mansbridge)
    "tiny": {"emb_dim": 16, "hidden": 32, "z_dim": 4, "cnn_inner": 16},  # tests only
}


@dataclass
class ObjectiveConfig:
    """loss = (1 + m) · D + β(t) · K + α · D_aux, K = KL or |KL − C|, per sentence, averaged over the batch."""

    name: str = "beta-c"  # preset the knobs came from (see objectives.PRESETS)
    m: float = 0.0  # AutoGen: number of extra tied reconstructions (real, ≥ 0 in the paper)
    beta: float = 1.0  # β_max: weight of K once any ramp is over
    schedule: str = "constant"  # β(t): constant | linear | logistic | cyclical
    warmup_epochs: float = 0.0  # epochs of the linear/logistic ramp 0 → β_max (cycle length), fractions allowed
    warmup_steps: int = 0  # the same ramp in optimizer steps; when > 0 it is used instead of warmup_epochs
    beta_start: float = 0.0  # β at step 0 for ramps and at the start of each cycle
    cycles: int = 4  # cyclical: number of cycles, each one warm-up long, then β_max for good
    cycle_ramp: float = 0.5  # cyclical: fraction of each cycle spent ramping up
    C: float | None = 15.0  # capacity in nats: none → K = KL; a number → K = |KL − C| (β_C-VAE)
    C_schedule: str | None = None  # C(t): constant | linear (0 → C over the warm-up: the β_C code); unset: recipe
    C_warmup_epochs: float | None = None  # epochs of the linear capacity ramp (fractions allowed); unset: recipe
    C_warmup_steps: int = 0  # the capacity ramp in optimizer steps; when > 0 it is used instead of C_warmup_epochs
    C_control: str | None = None  # fixed: β·|KL − C| | dual: KL = C held by a learned multiplier; unset: recipe
    dual_lr: float = 0.01  # dual: the multiplier's change per step and per nat of batch KL off C
    bow: float | None = None  # bag-of-words loss weight (needs bow_head; not in D or the ELBO); unset: recipe
    alpha: float = 0.0  # Hybrid VAE: weight α of the deconvolution's reconstruction D_aux (Semeniuta: 0.2)
    free_bits: float = 0.0  # λ, nats per latent dimension: K = Σ_d max(λ, batch-mean KL_d) (Kingma 2016); 0 = off


@dataclass
class TrainConfig:
    out: str = "runs/default"  # run directory (created; resumable)
    epochs: float = 8.0  # passes over the training data (fractions allowed)
    max_steps: int = 0  # stop after this many optimizer steps; 0 = use epochs only
    max_minutes: float = 0.0  # wall-clock limit: checkpoint and stop (resumable) after this long; 0 = none
    batch_size: int = 64  # sentences per batch
    lr: float = 1e-3  # Adam learning rate
    grad_clip: float = 5.0  # max global gradient norm; 0 = off
    lr_decay: float = 1.0  # multiply lr by this after lr_patience validations without a new best; 1 = constant lr
    lr_patience: int = 1  # validations without a new best (−ELBO, or keep_best's figure) before a decay
    lr_min_gain: float = 0.0  # nats/sentence below the best that make a new best; 0 = any fall
    lr_schedule: str = "constant"  # constant (or the plateau decay above) | cosine: lr falls on a half cosine to lr_final at the last step
    lr_final: float = 0.0  # cosine: the lr of the run's last step
    lr_hold: float = 0.0  # cosine: epochs at lr before the fall starts (warmup-stable-decay); 0 = falls from step 0
    word_dropout: float = 0.0  # Bowman: probability of replacing a decoder input token by <unk>
    seed: int = 0  # seeds torch, numpy and Python's RNG
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda | cuda:N
    amp: bool = True  # bfloat16 autocast on CUDA and on CPUs with native bf16
    amp_probe: bool = True  # such a CPU, model ≥ 1M weights: time fp32, bf16 matmul and bf16 first, train in the fastest (the pick: setup.json)
    bf16_matmul: bool = False  # CPU, fp32 training: oneDNN computes the matrix products in bf16 (fp32 in and out; AMX)
    log_every: int = 1  # optimizer steps between metrics.jsonl lines (values averaged between)
    val_every: int = 0  # steps between validations; 0 = once per epoch
    ckpt_every: int = 500  # steps between checkpoints (also at every validation and at the end)
    bucket_chunk: int | None = None  # batches per length-sorted chunk (more: less padding; 1: random); unset: recipe
    num_threads: int = 0  # torch CPU threads; 0 = torch's default
    keep_best: str = ""  # keep the weights of the lowest validation figure in best.safetensors (loaded and shipped instead of the last): "" (off) | rec (D) | nll_bound (−ELBO)
    average_from: float = 0.0  # SWA (Izmailov 2018): from this epoch on, an equal-weight mean of the weights is validated, kept and shipped instead of the last step's; 0 = off
    average_every: int = 100  # optimizer steps between the samples of that mean
    init_from: str = ""  # run folder whose embedding and encoder start this run (Li et al. 2019: AE pre-training)
    aggressive: bool = False  # He et al. 2019: encoder-only updates before each step until validation I(x; z) falls
    aggressive_inner: int = 100  # most encoder-only updates before one step of the aggressive phase
    progress: bool = True  # tqdm progress bar on stderr


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    recipe: str = "auto"  # rate: z made to carry the sentence (docs/RECIPE.md) | plain: the papers' setups | auto: rate if C is set
    vocab_size: int = 0  # filled in when the vocabulary is built
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunConfig:
        """Build from JSON data, rejecting unknown keys and other format versions by name."""
        if not isinstance(raw, dict):
            raise ConfigError("config must be a JSON object")
        version = raw.get("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ConfigError(
                f"run format version {version} is not supported (this textvae_core reads version "
                f"{FORMAT_VERSION}); retrain the run or use a matching textvae_core release"
            )
        if raw.get("vocab_size", 0) and "recipe" not in raw:
            raw = _from_before_recipes(raw)
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in raw:
                continue
            value = raw[f.name]
            sub = SECTIONS.get(f.name)
            kwargs[f.name] = _section_from_dict(sub, value, f.name) if sub else value
        unknown = set(raw) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown config keys: {sorted(unknown)}")
        return cls(**kwargs)

    def save(self, path: Path) -> None:
        from .io import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> RunConfig:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no config.json (not a run directory?)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path}: not valid JSON ({err})") from None
        return cls.from_dict(raw)


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "model": ModelConfig,
    "objective": ObjectiveConfig,
    "train": TrainConfig,
}


# what a run trained before the recipe was a setting used where config.json has no value (recipe "plain")
PLAIN_SETTINGS: dict[str, dict[str, Any]] = {
    "model": {"mu_norm": "none", "mu_scale": 1.0, "mu_scale_learn": False, "bow_head": False},
    "objective": {"C_schedule": "constant", "C_warmup_epochs": 0.0, "C_control": "fixed", "bow": 0.0},
    "train": {"bucket_chunk": 50},
}


def _from_before_recipes(raw: dict[str, Any]) -> dict[str, Any]:
    """A run's config.json written before ``recipe`` existed: every knob it lacks had its plain value, and
    its recipe is named by what it used (a batch-normalised μ was the rate recipe's core)."""
    out = dict(raw)
    for section, plain in PLAIN_SETTINGS.items():
        if isinstance(raw.get(section), dict):
            out[section] = {**plain, **{k: v for k, v in raw[section].items() if v is not None or k not in plain}}
    model = out.get("model") if isinstance(out.get("model"), dict) else {}
    out["recipe"] = "rate" if model.get("mu_norm") == "batchnorm" else "plain"
    return out


def _section_from_dict(cls: type, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise ConfigError(f"config section '{where}' must be an object")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(value) - names
    if unknown:
        raise ConfigError(f"unknown keys in '{where}': {sorted(unknown)}")
    return cls(**value)


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON or TOML config file into nested dicts (sections as in RunConfig)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text)
        return json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: cannot parse config ({err})") from None
