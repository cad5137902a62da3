"""Finding runs on disk and summarising them from their JSON files alone (no weights loaded): the model
family and its latent's parts come from config.json through ``textvae_core.layout`` (no torch)."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from textvae_core.config import ModelConfig, ObjectiveConfig, RunConfig
from textvae_core.layout import family_name, fixed_width, latent_parts
from textvae_core.recipe import derived, resolve
from textvae_core.rundir import (
    CONFIG,
    KEPT_FIGURES,
    WEIGHTS,
    CheckpointError,
    averaged_weights,
    has_weights,
    kept_weights,
    last_validation,
    read_config,
    read_eval,
    weights_meta,
)


@dataclass
class RunSummary:
    path: Path
    config: RunConfig
    last_valid: dict[str, float] | None  # the newest validation record of metrics.jsonl, if any
    has_weights: bool

    def __post_init__(self) -> None:
        # a run folder's config.json is resolved already (a no-op); a config built in memory gets its recipe's
        # knobs, so every table, family and diff reads the settings the run trains with
        self.config = resolve(self.config)

    @property
    def name(self) -> str:
        return self.path.name

    def row(self) -> dict[str, object]:
        """One table row: architecture, objective knobs, size and headline held-out figures."""
        m, o = self.config.model, self.config.objective
        v = self.last_valid or {}
        return {  # keys: explorer.labels (the screen's names)
            "run": self.name,
            "family": family_name(m),
            "latent": latent_label(m),
            "encoder": m.encoder,
            "decoder": m.decoder,
            "objective": o.name,
            "m": o.m,
            "beta": o.beta,
            "schedule": o.schedule,
            "C": o.C,
            "C_schedule": capacity_label(o),
            "alpha": o.alpha,
            "rate_recipe": recipe_label(self.config),
            "sizes": f"{m.emb_dim}/{m.hidden}/{m.z_dim}",
            "vocab": self.config.vocab_size,
            "valid_kl": v.get("kl"),
            "valid_rec": v.get("rec"),
            "valid_nll_bound": v.get("nll_bound"),
            "step": v.get("step"),
        }


def weights_label(run_dir: Path) -> str:
    """How a run's weights are stored, from the file's header alone: "int8 · 11.2 MB" for a shipped run,
    "float32 · …" while it trains, "none" before its first checkpoint, "unreadable" for a broken file;
    weights kept by a validation (train.keep_best) add where from: "· best valid D, step 3948"; a weight
    average (train.average_from) says of how many samples."""
    path = Path(run_dir) / WEIGHTS
    if not path.exists():
        return "none"
    meta = weights_meta(run_dir)
    if not meta:
        return "unreadable"
    label = f"{meta.get('dtype', 'float32')} · {path.stat().st_size / 1e6:.1f} MB"
    kept = kept_weights(run_dir)
    if kept:
        label += f" · best {KEPT_FIGURES.get(kept.get('by'), kept.get('by'))}, step {kept.get('step')}"
    averaged = averaged_weights(run_dir)
    if averaged:
        label += f" · mean of {averaged.get('count')} steps' weights"
    return label


def latent_label(m: ModelConfig) -> str:
    """The latent's shape in words: "dense 32", "FMP 4 × 8" (positions × size), "ladder 16/12/8" (z₁ first)."""
    parts = latent_parts(m)
    if m.latent == "ladder":
        return "ladder " + "/".join(str(p.size) for p in parts)
    if m.latent == "fmp":
        return f"FMP {len(parts)} × {m.z_dim}"
    return f"dense {m.z_dim}"


def structure(m: ModelConfig) -> tuple:
    """Everything of a model's shape a slider must not change: family, latent parts, widths and layers (the
    rate recipe is compared beside it: ``recipe_label``)."""
    conv = tuple(m.conv_channels) if fixed_width(m) else ()
    ladder = tuple(m.ladder_hidden) if m.latent == "ladder" and not conv else ()
    return (
        m.encoder, m.decoder, m.emb_dim, m.hidden, m.z_mode, m.latent,
        tuple(p.size for p in latent_parts(m)), m.seq_len if fixed_width(m) else 0, conv, ladder,
    )  # fmt: skip


def capacity_label(o: ObjectiveConfig) -> str | None:
    """How C reached its value: "constant", or "linear over N epochs" (or steps: the β_C paper's ramp), and
    whether a learned multiplier held the KL there."""
    if o.C is None:
        return None
    held = ", held by a multiplier" if o.C_control == "dual" else ""
    if o.C_schedule in (None, "constant"):
        return "constant" + held
    length = f"{o.C_warmup_steps} steps" if o.C_warmup_steps else f"{o.C_warmup_epochs or 0:g} epochs"
    return f"{o.C_schedule} over {length}{held}"


def _recipe_knobs(cfg: RunConfig) -> list[tuple[str, str]]:
    """The knobs that make z describe the sentence (docs/ABLATION.md): (in words, in a few letters) each."""
    cfg = resolve(cfg)  # a RunSummary's config is resolved already; one built in memory may not be
    m, o = cfg.model, cfg.objective
    knobs = []
    if m.mu_norm == "batchnorm":
        knobs.append(("batch-normalised μ" + (" (learned γ)" if m.mu_scale_learn else ""), "BN-μ"))
    elif m.mu_scale != 1.0:
        knobs.append((f"μ × {m.mu_scale:g}", f"μ×{m.mu_scale:g}"))
    if o.bow:
        knobs.append((f"bag-of-words × {o.bow:g}", "BoW" if o.bow == 1.0 else f"BoW×{o.bow:g}"))
    if o.C_control == "dual" and o.C is not None:
        knobs.append(("KL = C held by a learned multiplier", "dual"))
    if o.free_bits > 0:
        knobs.append((f"free bits {o.free_bits:g} nats/dim", f"FB{o.free_bits:g}"))
    if cfg.train.aggressive:
        knobs.append(("aggressive encoder updates", "aggr"))
    if m.dropout > 0 or m.emb_dropout > 0:  # regularises the decoder: at the paper's size PTB overfits without
        rates = f"{m.dropout:g}" if m.dropout == m.emb_dropout else f"{m.emb_dropout:g} in / {m.dropout:g} out"
        knobs.append((f"decoder dropout {rates}", f"DO{rates.replace(' ', '')}"))
    if m.z_mode == "both":
        knobs.append(("z in the decoder's first state too", "z→h₀"))
    if m.bidirectional:  # an RNN encoder reading both ways (docs/PAPER_SIZE.md): another curve
        knobs.append(("a bidirectional encoder", "bi-enc"))
    if m.tie_embeddings:  # the output layer is the embedding matrix: another decoder, another curve
        knobs.append(("output layer tied to the embeddings", "tied"))
    return knobs


def recipe_label(cfg: RunConfig) -> str:
    """The rate recipe's knobs in words; "—" for none."""
    return ", ".join(long for long, _ in _recipe_knobs(cfg)) or "—"


def recipe_mark(cfg: RunConfig) -> str:
    """The rate recipe's knobs in a few letters for a curve's name (", BN-μ + BoW"): runs trained with and
    without them are different curves, not steps of one."""
    short = [s for _, s in _recipe_knobs(cfg)]
    return f", {' + '.join(short)}" if short else ""


def run_dirs(root: Path) -> list[Path]:
    """Folders under root holding a config.json, following symbolic links (once each: no loops)."""
    found, seen = [], set()
    for here, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(here)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        if CONFIG in files:
            found.append(Path(here))
    return sorted(found)


def find_runs(*roots: str | Path) -> tuple[list[RunSummary], list[str]]:
    """Every run folder (one holding config.json) under the roots, and a warning per broken one."""
    runs, warnings = [], []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for run_dir in run_dirs(root):
            try:
                cfg = read_config(run_dir)
            except CheckpointError as err:
                warnings.append(f"skipped {run_dir}: {err}")
                continue
            weights = has_weights(run_dir)
            if not weights:
                warnings.append(f"{run_dir}: no weights yet (training not checkpointed)")
            runs.append(RunSummary(run_dir, cfg, last_validation(run_dir), weights))
    return runs, warnings


def corpus_label(run: RunSummary) -> str:
    """The corpus a run was trained on, as a reader names it: the training file's folder (``data/ptb`` →
    ptb), with the tokenisation when it is not words. D is comparable only between runs of one corpus."""
    d = run.config.data
    path = Path(d.train)
    name = path.parent.name if path.parent.name not in ("", ".") else path.stem
    return name + (" (characters)" if d.level == "char" else "")


def corpora_first_chosen(rows: list[dict[str, object]], chosen: list[str]) -> list[str]:
    """The corpora of headline rows, the chosen runs' first, then by how many runs each has: the
    rate–distortion plot shows one at a time, opening on the one the reader is looking at."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row["corpus"])] = counts.get(str(row["corpus"]), 0) + 1
    first = [str(row["corpus"]) for row in rows if row["run"] in chosen]
    return sorted(counts, key=lambda c: (c not in first, -counts[c], c))


# what a reader compares runs by comes first; the long model description and provenance after it
HEADLINE_FIRST = (
    "run",
    "objective",
    "m",
    "beta",
    "C",
    "alpha",
    "kl",
    "rec",
    "nll_bound",
    "iw_nll",
    "bleu4",
    "active_units",
    "train_kl",
    "train_rec",
    "model",
)


def headline_order(columns: Iterable[str]) -> list[str]:
    """The Runs table's column order: HEADLINE_FIRST (those present), then the rest as headline() wrote them."""
    present = list(columns)
    return [c for c in HEADLINE_FIRST if c in present] + [c for c in present if c not in HEADLINE_FIRST]


# bookkeeping that differs between any two runs and says nothing about how they were trained
NOT_RECIPE = {"train.out", "train.max_minutes", "train.progress", "train.num_threads", "train.device"}


def flatten(tree: dict[str, object], prefix: str = "") -> dict[str, object]:
    """{"model": {"hidden": 512}} → {"model.hidden": 512}; top-level values keep their own names."""
    out: dict[str, object] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def recipe_diff(runs: list[RunSummary]) -> list[dict[str, object]]:
    """The config.json settings (section.key) on which the runs differ, one row each with every run's value:
    what makes two runs of a comparison different, read from their JSON alone."""
    flat = [
        {
            k: "(recipe, from the epochs)" if k in derived(r.config) else v
            for k, v in flatten(r.config.to_dict()).items()
        }
        for r in runs
    ]
    keys = sorted({k for f in flat for k in f} - NOT_RECIPE)
    rows = []
    for key in keys:
        values = [f.get(key) for f in flat]
        if any(v != values[0] for v in values[1:]):
            rows.append(
                {"setting": key, **{r.name: "—" if v is None else str(v) for r, v in zip(runs, values, strict=True)}}
            )
    return rows


def headline(run: RunSummary) -> dict[str, object]:
    """Held-out figures for tables and the rate–distortion plot: test eval.json first, else last validation.
    Keyed by eval.json's names (``kl`` is R, ``rec`` is D); explorer.labels has what a page shows."""
    ev = read_eval(run.path)
    m = run.config.model
    row: dict[str, object] = {
        "run": run.name,
        "path": str(run.path),
        "corpus": corpus_label(run),
        "family": family_name(m),
        "decoder": m.decoder,
    }
    # one rate–distortion curve per architecture, size and training budget: D is not comparable across
    # vocabularies, and a longer-trained run is another point of comparison, not a step of the same curve
    t = run.config.train
    budget = f"{t.max_steps} steps" if t.max_steps else f"{t.epochs:g} epochs"
    arch = f"{m.encoder}→{m.decoder} {m.emb_dim}/{m.hidden}/{m.z_dim}"
    if m.latent != "dense" or fixed_width(m):  # the report's families name themselves; else encoder→decoder e/h/z
        arch = f"{family_name(m)} {m.emb_dim}/{m.hidden}, {latent_label(m)}"
    unit = "characters" if run.config.data.level == "char" else "words"
    row["model"] = f"{arch}, {run.config.vocab_size} {unit}, {budget}{recipe_mark(run.config)}"
    o = run.config.objective
    row |= {"objective": o.name, "m": o.m, "beta": o.beta, "C": o.C, "alpha": o.alpha}
    if ev:
        b, lat, fit = ev.get("bounds", {}), ev.get("latent", {}), ev.get("train_fit", {})
        scores = ev.get("reconstruction", {}).get("scores", {}).get("all", {})
        row |= {
            "source": f"eval.json ({ev.get('split', '?')})",
            "kl": b.get("kl"),
            "rec": b.get("rec"),
            "nll_bound": b.get("nll_bound"),
            "train_kl": fit.get("kl"),  # the same weights on training sentences: the gaps say what generalises
            "train_rec": fit.get("rec"),
            "iw_nll": ev.get("iw_nll", {}).get("nll"),
            "active_units": lat.get("active_units"),
            "log_det_cov": lat.get("log_det_cov"),
            "mean_sq_norm": lat.get("mean_sq_norm"),
            "mutual_information": lat.get("mutual_information"),
            "bleu2": scores.get("bleu2"),
            "bleu4": scores.get("bleu4"),
            "homotopy_repeats": ev.get("homotopy", {}).get("mean_repeats"),
        }
    elif run.last_valid:
        v = run.last_valid
        row |= {
            "source": "metrics.jsonl (valid)",
            "kl": v.get("kl"),
            "rec": v.get("rec"),
            "nll_bound": v.get("nll_bound"),
        }
    else:
        row |= {"source": "none yet"}
    return row


def group_name(names: list[str]) -> str:
    """What a set of run names has in common, as a pattern: the words (split at "-") they share, a word that
    differs only in its number as its stem and "*" (c10, c20 → c*), any other difference as one "*":
    sweep-lstm-c10 … c100 → "sweep-lstm-c*", ptb-lstm-vae and ptb-lstm-autogen-m1 → "ptb-lstm-*"."""
    names = sorted(set(names))
    if len(names) == 1:
        return names[0]
    split = [n.split("-") for n in names]
    words: list[str] = []
    for i in range(max(len(s) for s in split)):
        column = [s[i] if i < len(s) else None for s in split]
        if None not in column and len(set(column)) == 1:
            words.append(column[0])
            continue
        stems = {re.sub(r"[0-9.]+$", "", w) for w in column if w is not None}
        word = f"{stems.pop()}*" if None not in column and len(stems) == 1 and "" not in stems else "*"
        if not (word == "*" and words and words[-1] == "*"):
            words.append(word)
        if word == "*" and None in column:  # names of different lengths: the rest is one difference
            break
    return "-".join(words)


def curve_names(table: Iterable[dict[str, object]]) -> dict[str, str]:
    """A short legend name for each rate–distortion curve (rows' ``model``): the group name of its runs
    (:func:`group_name`); two curves whose runs give the same name add their architecture, and a name that
    still says nothing ("*", "*-c*") or still names two curves is the curve's full model string (one name, one curve)."""
    runs: dict[str, list[str]] = {}
    for row in table:
        if isinstance(row.get("model"), str):
            runs.setdefault(str(row["model"]), []).append(str(row["run"]))
    names = {model: group_name(members) for model, members in runs.items()}
    taken = list(names.values())
    names = {m: n if taken.count(n) == 1 else f"{n} ({m.split(',')[0]})" for m, n in names.items()}
    taken = list(names.values())

    def says_something(name: str) -> bool:  # "*" or "*-c*" names no group: three letters at least
        return len(name.replace("*", "").strip("-_ ")) >= 3

    return {m: n if taken.count(n) == 1 and says_something(n) else m for m, n in names.items()}


KNOBS = ("C", "m", "beta", "alpha")  # the objective family's knobs a slider walks over


def knob_family(runs: list[RunSummary], anchor: RunSummary, knob: str) -> list[tuple[float, RunSummary]]:
    """Runs that differ from ``anchor`` only in one knob of KNOBS (C, m, beta or alpha), sorted by it: what a
    slider walks over.

    Architecture (family, latent parts, sizes), vocabulary, data, the training budget and the objective's
    other knobs must match, so the slider changes one thing at a time.
    """

    def knobs(r: RunSummary) -> dict[str, float | None]:
        o = r.config.objective
        return {"C": o.C, "m": o.m, "beta": o.beta, "alpha": o.alpha}

    def key(r: RunSummary) -> tuple:
        m, d = r.config.model, r.config.data
        others = {k: v for k, v in knobs(r).items() if k != knob}
        arch = (structure(m), m.z_dim, recipe_label(r.config))
        t = r.config.train
        budget = (t.epochs, t.max_steps, t.batch_size, t.lr, t.word_dropout, t.bucket_chunk)
        o = r.config.objective
        schedules = (o.schedule, o.warmup_steps, o.warmup_epochs, o.C_schedule, o.C_warmup_steps, o.C_warmup_epochs)
        return (arch, r.config.vocab_size, d.train, budget, schedules, tuple(others.items()))

    def value(r: RunSummary) -> float | None:
        return knobs(r)[knob]

    if value(anchor) is None:
        return []  # the anchor has no such knob (no C for a plain VAE): nothing to slide over
    target = key(anchor)
    family = [(value(r), r) for r in runs if r.has_weights and key(r) == target and value(r) is not None]
    return sorted(family, key=lambda vr: vr[0])


def default_choice(runs: list[RunSummary], n: int = 3) -> list[RunSummary]:
    """The runs pages open on when none is chosen: those whose reconstructions a reader recognises best
    (highest reconstruction BLEU-4 on their test set), evaluated runs before the rest, trained on the corpus
    most runs were trained on and with the vocabulary of its best run before any other (BLEU is not comparable
    across corpora: short sentences score higher; a character-level run's BLEU is not a word-level run's; a
    5k-vocabulary run scores the <unk>s it reads in place of rarer words as matches)."""

    def bleu4(run: RunSummary) -> float:
        scores = ((read_eval(run.path) or {}).get("reconstruction") or {}).get("scores") or {}
        value = (scores.get("all") or {}).get("bleu4")
        return float(value) if isinstance(value, int | float) else float("-inf")

    ranked = sorted((r for r in runs if r.has_weights), key=lambda r: (-bleu4(r), r.name))
    if not ranked:
        return []

    # one corpus and tokenisation (the most runs'), one vocabulary (its best run's): the pages then compare runs
    # on the same sentences
    def corpus(r: RunSummary) -> tuple[str, str]:
        return r.config.data.train, r.config.data.level

    main = Counter(corpus(r) for r in ranked).most_common(1)[0][0]  # ties: the first counted, the best run's
    best = next(r for r in ranked if corpus(r) == main)
    same = [r for r in ranked if corpus(r) == main and r.config.vocab_size == best.config.vocab_size]
    return (same + [r for r in ranked if r not in same])[:n]
