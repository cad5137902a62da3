"""Screen labels of the app's tables and plots, in one place. Rows of data (``runs.headline``, a run's
summary, the published figures, the survey tables) are keyed by ASCII names, those eval.json and
metrics.jsonl use where they exist (``nll_bound``, ``kl``, ``mean_sq_norm``); a label ("−ELBO", "β",
"‖μ‖²") is what a page shows for a key, never a key itself (tests/test_architecture.py holds that)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

LABELS = {  # data key → screen label; every key a table or plot may show
    # a run: what it is
    "run": "run",
    "path": "path",
    "corpus": "corpus",
    "family": "family",
    "latent": "latent",
    "encoder": "encoder",
    "decoder": "decoder",
    "model": "model",
    "sizes": "emb/hidden/z",
    "vocab": "vocab",
    "rate_recipe": "rate recipe",
    "objective": "objective",
    "m": "m",
    "beta": "β",
    "schedule": "schedule",
    "C": "C",
    "C_schedule": "C(t)",
    "alpha": "α",
    "step": "step",
    "source": "source",
    "has_weights": "has weights",
    "weights": "weights",
    # held-out figures, nats per sentence or scores (eval.json's names)
    "kl": "R",
    "rec": "D",
    "nll_bound": "−ELBO",
    "valid_kl": "valid KL",
    "valid_rec": "valid D",
    "valid_nll_bound": "valid −ELBO",
    "train_kl": "R on train",
    "train_rec": "D on train",
    "iw_nll": "IW-NLL",
    "active_units": "AU",
    "log_det_cov": "log det Cov",
    "mean_sq_norm": "‖μ‖²",
    "mutual_information": "MI",
    "bleu2": "BLEU-2",
    "bleu4": "BLEU-4",
    "rouge2": "ROUGE-2",
    "rouge4": "ROUGE-4",
    "homotopy_repeats": "homotopy repeats",
    # "makes sense" answers by sentence length (explorer.survey.stats: short is ≤ SHORT words)
    "pct_yes_short": "% yes (≤ 10)",
    "n_short": "n (≤ 10)",
    "pct_yes_long": "% yes (> 10)",
    "n_long": "n (> 10)",
    "pct_yes_all": "% yes (all)",
    "n_all": "n (all)",
    "ci_low_pct_all": "CI low % (all)",
    "ci_high_pct_all": "CI high % (all)",
}
FIGURES = (  # held-out figures: two decimals in every table, whatever the JSON holds
    "kl", "rec", "nll_bound", "valid_kl", "valid_rec", "valid_nll_bound", "train_kl", "train_rec", "iw_nll",
    "log_det_cov", "mean_sq_norm", "mutual_information", "bleu2", "bleu4", "rouge2", "rouge4", "homotopy_repeats",
)  # fmt: skip
PERCENTS = ("pct_yes_short", "pct_yes_long", "pct_yes_all", "ci_low_pct_all", "ci_high_pct_all")  # one decimal
DECIMALS = {key: 2 for key in FIGURES} | {key: 1 for key in PERCENTS}  # numbers shown to a fixed precision
HELP = {  # a column's tooltip, where its label needs one
    "C": "capacity in nats; —: K = KL (no capacity)",
    "C_schedule": "capacity schedule: constant from step 0, or ramped from 0",
    "family": "the report's model families: RNN, CNN, Hybrid VAE, LVAE, LCNNVAE",
    "alpha": "Hybrid VAE: weight of the deconvolution's own reconstruction",
}
MISSING = "—"  # a value a run does not have (no capacity, not evaluated yet)


def label(key: str) -> str:
    """The screen label of a data key; a name that is no data key (a label, a typo) is an error, not a blank."""
    try:
        return LABELS[key]
    except KeyError:
        raise KeyError(
            f"{key!r} is not a data key of explorer.labels.LABELS (labels are shown, not looked up)"
        ) from None


def present(columns: Iterable[str], keys: Iterable[str]) -> list[str]:
    """The ``keys`` a table has, in the order given: a key no run has yet is left out, but one that is no data
    key at all raises, so a label or a typo cannot drop its column without a word."""
    have = set(columns)
    return [key for key in keys if label(key) and key in have]


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """The table as a page shows it: a missing value is MISSING. Streamlit draws a missing number as a grey
    "None" (fixed in its grid), so a column with gaps becomes text: to DECIMALS where the key has them, other
    numbers as written (3, 0.5, 100)."""
    out = table.copy()
    out.attrs["number_text"] = []  # numbers turned into text: drawn right-aligned (explorer.ui.widgets)
    for key in out.columns:
        gaps = out[key].isna()
        if not gaps.any():
            continue
        if pd.api.types.is_numeric_dtype(out[key]):
            fmt = f"{{:.{DECIMALS[key]}f}}" if key in DECIMALS else "{:g}"
            out[key] = [MISSING if gap else fmt.format(value) for value, gap in zip(out[key], gaps, strict=True)]
            out.attrs["number_text"].append(key)
        else:
            out[key] = out[key].astype(object).where(~gaps, MISSING)
    return out
