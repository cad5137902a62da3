"""Why a claim does not hold on our runs, said from the runs' own figures (the claims that need more than a
fixed sentence). Each takes the claim's runs, in the claim's order."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from textvae_core.metrics import AU_THRESHOLD

from .engine import RunData, capacity, fmt, fmt_apart, monotone


def kl(r: RunData) -> float:
    return r.eval["bounds"]["kl"]


def train_kl(r: RunData) -> float | None:
    """The evaluated weights' KL on a sample of training sentences (eval.json's train_fit), if measured."""
    return ((r.eval or {}).get("train_fit") or {}).get("kl")


def dist(r: RunData) -> float:
    return r.eval["bounds"]["rec"]


def elbo(r: RunData) -> float:
    return -r.eval["bounds"]["nll_bound"]


def informative(r: RunData) -> float:
    """The part of the rate that can tell the decoder about x: I(x; z) ≤ R − KL of the moment-matched q(z)."""
    return kl(r) - r.eval["latent"]["kl_moment_matched"]


def valid_elbos(r: RunData) -> list[float]:
    return [rec["elbo"] for rec in r.curve if rec.get("split") == "valid" and "elbo" in rec]


def train_elbo_windows(r: RunData, width: int = 200) -> list[float]:
    """Training-batch ELBO averaged over windows of ``width`` steps (finer than one point per epoch)."""
    sums: dict[int, list[float]] = {}  # window → [weighted ELBO sum, steps]; shipped logs average 10 steps a line
    for rec in r.curve:
        if rec.get("split") == "train" and "elbo" in rec:
            w = float(rec.get("steps_averaged", 1))
            acc = sums.setdefault((int(rec["step"]) - 1) // width, [0.0, 0.0])
            acc[0], acc[1] = acc[0] + w * rec["elbo"], acc[1] + w
    return [s / n for _, (s, n) in sorted(sums.items())]


def last_epoch_mean(r: RunData, key: str) -> float | None:
    """Mean of a training-log figure over the last epoch the measured weights trained (e.g. the KL the
    penalty |KL − C| saw): the log's last, or the kept weights' under train.keep_best."""
    kept = ((r.eval or {}).get("kept") or {}).get("step")
    train = [rec for rec in train_records(r, key) if kept is None or int(rec["step"]) <= int(kept)]
    return epoch_mean(train, key, max(int(rec.get("epoch", 0)) for rec in train)) if train else None


def train_records(r: RunData, key: str) -> list[dict[str, Any]]:
    return [rec for rec in r.curve if rec.get("split") == "train" and key in rec]


def epoch_mean(train: list[dict[str, Any]], key: str, epoch: int) -> float | None:
    """Mean of ``key`` over the training records of one epoch (0-based), each weighted by the steps it
    stands for (shipped logs average 10 steps a line); None when the log has none."""
    recs = [rec for rec in train if int(rec.get("epoch", 0)) == epoch]
    weights = [float(rec.get("steps_averaged", 1)) for rec in recs]
    return sum(w * rec[key] for w, rec in zip(weights, recs, strict=True)) / sum(weights) if recs else None


def batchnorm_mu(runs: list[RunData]) -> bool:
    """Every run trained with the rate recipe's batch-normalised μ."""
    return all(r.config is not None and r.config.model.mu_norm == "batchnorm" for r in runs)


def constraint(runs: list[RunData], tol: float = 1.0) -> str:
    """Why a run's test KL misses C ± 1: already on the training batches (the penalty's slope lost to the
    other terms), for the kept weights only (on C on average over the last epoch's updates, not at its
    last), or only on test sentences (the encoder's generalisation gap). The kept weights' KL on training
    sentences (eval.json's train_fit) tells the last two apart; without it a miss the log does not show
    is put down to the test sentences."""
    above, below, kept_off, on_test, unlogged = [], [], [], [], []
    for r in (r for r in runs if abs(kl(r) - capacity(r)) > tol):
        seen, c, test, fit = last_epoch_mean(r, "kl"), capacity(r), kl(r), train_kl(r)
        on_train = f", training sentences {fmt(fit)}" if fit is not None else ""
        text = f"C = {c:g}: test {fmt_apart(test, c - tol, c + tol)}{on_train}, training batches {fmt(seen)}"
        if seen is None:
            unlogged.append(f"C = {c:g}")
        elif abs(seen - c) > tol:
            (above if seen > c else below).append((r, text))
        elif fit is not None and abs(fit - c) > tol:
            kept_off.append(text)
        else:
            on_test.append(text)
    parts = []
    if above:
        objectives = [r.config.objective for r, _ in above if r.config]
        bows = _values(o.bow for o in objectives if o.bow > 0)
        terms = f"D and the bag-of-words loss (weight {bows}) gain" if bows else "D gains"
        parts.append(
            f"above C on the training batches of the weights' last epoch already ({'; '.join(t for _, t in above)}): "
            f"what {terms} from more rate outweighs the penalty's slope β = {_values(o.beta for o in objectives) or '?'}"
        )
    if below:
        parts.append(
            f"below C on the training batches of the weights' last epoch already ({'; '.join(t for _, t in below)}): "
            "the run ends before its KL has caught up with C"
        )
    if kept_off:
        parts.append(
            f"off C on training sentences too, though within C ± 1 on the last epoch's training batches "
            f"({'; '.join(kept_off)}): the penalty holds the KL at C on average over the last epoch's updates, "
            "not in the weights kept"
        )
    if on_test:
        parts.append(f"within C ± 1 on training data, off on test ({'; '.join(on_test)}): the generalisation gap")
    if unlogged:
        parts.append(f"no training-batch KL in the log of {', '.join(unlogged)}")
    return "; ".join(parts) + " (|KL − C| is a penalty, not a hard limit; a larger β holds it tighter)"


def _values(xs: Iterable[float]) -> str:
    """The distinct values of a knob across runs, as the text names them ("1", or "0.5 / 1")."""
    return " / ".join(f"{x:g}" for x in sorted(set(xs)))


DISTORTION = (
    "at our budget (the sizes and epochs above; the paper: 10 epochs at twice the size) most of a large "
    "rate is spent moving the aggregated posterior q(z) away from the prior, which tells the decoder "
    "nothing about x: see 'Where the rate goes' below (I(x; z) ≤ R − KL(q(z) ‖ p(z)))"
)


def sweep_distortion(runs: list[RunData]) -> str:
    if batchnorm_mu(runs):
        return (
            "trained with the rate recipe (batch-normalised μ, bag-of-words loss, C ramped), yet D does not fall "
            "with C at this budget; each run's validation D per epoch tells whether a longer budget would order it"
        )
    return DISTORTION + (
        "; with the rate recipe D falls as C rises at one budget (docs/ABLATION.md, 'D against C under "
        "the fixed recipe'), and these sweeps are not retrained with it"
    )


def mean_sq_norm(runs: list[RunData]) -> str:
    """Why ‖E z‖² does not rise with C: a batch-normalised μ has mean 0 by construction; else sampling noise."""
    normed = [capacity(r) for r in runs if r.config and r.config.model.mu_norm == "batchnorm"]
    if normed:
        return (
            f"the C = {', '.join(f'{c:g}' for c in normed)} run's μ is batch-normalised, so q(z)'s mean is 0 by "
            "construction and ‖E z‖² stays at sampling noise; the paper's rise (0.05 → 1.27) is itself small "
            "beside a rate of 100 nats: what matters is that the rate tells sentences apart"
        )
    return "‖mean‖² of a sample mean is noisy at small values; the trend is what matters"


def averaged_codes(p1_pbar1: list[tuple[float, float]]) -> str:
    """Why averaging the codes of a sub-category does not lower p1: how often it keeps or raises it."""
    same = sum(abs(p - q) < 0.005 for p, q in p1_pbar1)
    above = sum(q >= p + 0.005 for p, q in p1_pbar1)
    return (
        f"p̄1 equals p1 in {same} of {len(p1_pbar1)} categories and exceeds it in {above}: the average code of a "
        "sub-category still carries what tells x⁺ from x⁻, so the "
        "decoder conditioned on it ranks the pair as it does from each sentence's own code"
    )


def valid_records(r: RunData) -> list[dict[str, Any]]:
    """The run's validation records that carry D, in training order."""
    return [rec for rec in r.curve if rec.get("split") == "valid" and "rec" in rec]


def valid_turn(r: RunData) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The validation records of the lowest D and of the end, when D was lowest before the end (else None)."""
    valid = valid_records(r)
    if not valid:
        return None
    low = min(valid, key=lambda rec: rec["rec"])
    return None if low is valid[-1] else (low, valid[-1])


def overfit(r: RunData) -> str:
    """Whether validation D turned up before the end while D on training batches kept falling: the run
    overfits, and its weights are the early ones (train.keep_best). Empty otherwise."""
    turn = valid_turn(r)
    if turn is None:
        return ""
    low, last = turn
    train = train_records(r, "rec")  # a validation record of epoch E follows the training of epoch E − 1
    at_low, at_end = epoch_mean(train, "rec", low["epoch"] - 1), epoch_mean(train, "rec", last["epoch"] - 1)
    if at_low is None or at_end is None or at_end >= at_low:
        return ""
    return (
        f"; validation D was lowest after epoch {low['epoch']} of {last['epoch']} ({low['rec']:.1f}), then rose "
        f"to {last['rec']:.1f} while D on training batches fell {at_low:.1f} → {at_end:.1f}: at this size the "
        "model overfits PTB's training sentences (docs/PAPER_SIZE.md: what was tried against it)"
    )


def still_falling(r: RunData) -> str:
    """Whether validation D was lowest at the last validation: the budget ended before the run stopped
    improving. How much further it goes is a measurement of its own (a longer run), not said here."""
    valid = valid_records(r)
    if len(valid) < 2 or valid_turn(r) is not None:
        return ""
    before, last = valid[-2], valid[-1]
    return (
        f"; validation D was still falling at the end ({before['rec']:.1f} → {last['rec']:.1f} over epoch "
        f"{last['epoch']}) with no sign of overfitting: the budget ended before the run had "
        "levelled off (docs/PAPER_SIZE.md: what longer training gave)"
    )


def reconstruction_target(runs: list[RunData]) -> str:
    """Where the C = 100 run's rate went, and how it was trained, when its reconstructions miss the target."""
    r = runs[0]
    lat, cfg = r.eval["latent"], r.config
    trained = f"{cfg.train.epochs:g} epochs at emb {cfg.model.emb_dim} / hidden {cfg.model.hidden}" if cfg else "?"
    return (
        f"R {kl(r):.1f}, of which at most {informative(r):.1f} nats can describe the sentence (‖E z‖² "
        f"{lat['mean_sq_norm']:.2f}, active units {lat['active_units']}/{lat['z_dim']}); trained {trained} on "
        "PTB's 42k training sentences (the paper: CBT 192k, WebText 1m, WIKI 2m), and greedy decoding from μ "
        "must get every word of a 4-gram right, <unk> included; the score is the paper's own (its "
        "Scripts/Experiments/bleu.py: corpus BLEU without smoothing, greedy reconstructions from μ cut at the first "
        "end of sentence), so the gap is the model's, not the metric's" + (overfit(r) or still_falling(r))
    )


def log_det_cov(runs: list[RunData]) -> str:
    """Where along the sweep log det Cov stops falling, and what the rate does from there on."""
    ldc, mu2 = [r.eval["latent"]["log_det_cov"] for r in runs], [r.eval["latent"]["mean_sq_norm"] for r in runs]
    if batchnorm_mu(runs):
        spread = [last_epoch_mean(r, "mu_spread") for r in runs]
        return (
            f"log det Cov {fmt(ldc[0], 1)} → {fmt(ldc[-1], 1)} (C = {capacity(runs[0]):g} → {capacity(runs[-1]):g}): "
            "with a batch-normalised μ the codes' mean is 0 (‖E z‖² ≤ "
            f"{fmt(max(mu2))}) and the rate is bought by spreading the codes apart (Σ Var μ on training batches "
            f"{fmt(spread[0], 1)} → {fmt(spread[-1], 1)}) faster than each q(z|x) narrows, so q(z) widens; "
            "the paper's models (no normalisation) narrow q(z) instead"
        )
    knee = min(range(len(ldc)), key=lambda i: ldc[i] if i < len(ldc) // 2 + 1 else float("inf"))
    tail = ldc[knee:]
    return (
        f"log det Cov falls {ldc[0]:.1f} → {ldc[knee]:.1f} up to C = {capacity(runs[knee]):g}, then stays within "
        f"{min(tail):.1f} … {max(tail):.1f} while ‖E z‖² of q(z) grows {mu2[knee]:.1f} → {mu2[-1]:.1f}: past "
        "that point the extra rate moves q(z) off the prior instead of narrowing it (see 'Where the rate goes')"
    )


def homotopy(runs: list[RunData]) -> str:
    reps = [r.eval["homotopy"]["mean_repeats"] for r in runs]
    if min(reps) > 0 and reps[-1] > min(reps):
        lat = runs[-1].eval["latent"]
        return (
            "the paths join pairs of prior samples z ~ N(0, I); at the largest C the aggregated posterior "
            f"sits far from the prior (KL(q(z) ‖ p(z)) ≥ {lat['kl_moment_matched']:.2f} nats, ‖E z‖² "
            f"{lat['mean_sq_norm']:.1f}; the paper's: 1.27), so the paths run where the decoder saw no "
            "code in training and it decodes long stretches to one sentence"
        )
    return (
        "repeat counts come from 20 greedy paths of 7 points; once the decoder changes at every step "
        "(0 repeats) the count can not fall further"
    )


def active_units(runs: list[RunData]) -> str:
    au = [r.eval["latent"]["active_units"] for r in runs]
    first, last = runs[0].eval["latent"], runs[-1].eval["latent"]
    if last["active_units"] < max(au):
        return (
            f"at C = 100 the rate sits in {last['active_units']} dimensions with large means "
            f"(‖μ‖² {last['mean_sq_norm']:.1f}) and the rest stay at the prior: |KL − C| fixes "
            "the total KL, nothing in it rewards spreading the rate over more dimensions"
        )
    normalised = all(r.config is not None and r.config.model.mu_norm == "batchnorm" for r in runs)
    if normalised and all(r.eval["latent"]["active_units"] == r.eval["latent"]["z_dim"] for r in runs):
        var = first.get("au_variances") or [0.0]
        return (
            f"every dimension is active at every C: a batch-normalised μ gives each dimension unit variance "
            f"before its learned scale γ, so a small C shrinks every γ alike instead of leaving dimensions "
            f"at the prior (at C = {capacity(runs[0]):g} the variance of E[z|x] per dimension is "
            f"{min(var):.3f}–{max(var):.3f}, above AU's threshold of {AU_THRESHOLD:g} in all {first['z_dim']}); the "
            "paper's encoders are not normalised, and there unused dimensions collapse"
        )
    if dip := next((i for i in range(1, len(au)) if au[i] < au[i - 1]), None):
        return _au_dip(runs[dip - 1], runs[dip])
    return f"AU can not exceed z_dim ({last['z_dim']} here, 64 in the paper); flat below the cap would be a miss"


def _au_dip(lo: RunData, hi: RunData) -> str:
    """AU falls from one C to the next: say whether the dimensions it stops counting went quiet or only
    slipped under the threshold, from each dimension's variance of E[z|x] (AU's own figures)."""
    a, b = lo.eval["latent"], hi.eval["latent"]
    head = (
        f"falls from C = {capacity(lo):g} to C = {capacity(hi):g} ({a['active_units']} → {b['active_units']} "
        f"of {b['z_dim']})"
    )
    below = [v for v in b.get("au_variances") or [] if v <= AU_THRESHOLD]
    if not below or not a.get("au_variances"):
        return head
    quiet = min(below) < AU_THRESHOLD / 10  # near 0: the dimensions went quiet, as in an unnormalised encoder
    form = ".1e" if quiet else ".4f"  # a quiet variance in 4 decimals reads 0.0000
    spread = f"vary by {min(below):{form}}–{max(below):{form}} across sentences"
    if quiet:
        where = f"{spread}: they went quiet, and the rate sits in the others"
    else:
        where = (
            f"{spread}, just under AU's threshold of {AU_THRESHOLD:g}, not at 0 (at C = {capacity(lo):g} the "
            f"least-used dimension varies by {min(a['au_variances']):.4f}): the count turns on the threshold"
        )
    total = sum(a["au_variances"]), sum(b["au_variances"])
    return (
        f"{head}: the {len(below)} dimensions left out at C = {capacity(hi):g} {where}; the variances' sum "
        f"{'rises' if total[1] > total[0] else 'falls'} {total[0]:.1f} → {total[1]:.1f}"
    )


def reconstruction(bucket: str, metrics: tuple[str, ...]) -> Any:
    def why(runs: list[RunData]) -> str:
        scores = [r.eval["reconstruction"]["scores"][bucket] for r in runs]
        falling = [m.upper() for m in metrics if not monotone([s[m] for s in scores], True)]
        return (
            f"falls at {', '.join(falling)} (n = {scores[0]['n']} sentences): greedy decoding from μ; "
            "a decoder that has not learnt to read a high-rate z reconstructs worse than a low-rate one"
        )

    return why


def longer_budget(runs: list[RunData]) -> str:
    lo, hi = runs
    return (
        f"the longer budget lowers D at both ends and raises the informative part of the rate, but at "
        f"C = {capacity(hi):g} I(x; z) ≤ {fmt(informative(hi))} nats (≤ {fmt(informative(lo))} at "
        f"C = {capacity(lo):g}): most of the extra rate (≥ {fmt(hi.eval['latent']['kl_moment_matched'])} nats) "
        "still moves q(z) off the prior instead of describing the sentence; the paper's larger models may "
        "find informative codes sooner"
    )


def greedy_fce(runs: list[RunData]) -> str:
    """The paper explains its falling greedy FCE by %unk rising with C (an LM that sees more <unk>
    predicts the test set's <unk> better) and self-BLEU falling; check that mechanism on our corpora."""
    fces = [r.eval["fce"]["schemes"]["greedy"]["fce"] for r in runs]
    unks = [r.eval["fce"]["schemes"]["greedy"]["pct_unk_generated"] for r in runs]
    sbs = [r.eval["generation"]["schemes"]["greedy"]["self_bleu4"] for r in runs]
    seen = (
        f"%unk of the greedy corpora {' / '.join(fmt(u, 1) for u in unks)}, FCE {' / '.join(fmt(f) for f in fces)}, "
        f"self-BLEU-4 (300 samples) {' / '.join(fmt(b, 1) for b in sbs)}"
    )
    inverse = all(
        (u1 - u2) * (f1 - f2) < 0 for (u1, f1), (u2, f2) in itertools.combinations(zip(unks, fces, strict=True), 2)
    )
    if inverse and not monotone(unks, True):
        return (
            f"{seen}: FCE falls exactly where %unk rises, the paper's own explanation of its trend, but our %unk "
            "does not rise with C, so FCE does not fall with it"
        ) + ("; at every C the greedy samples are near copies of each other" if min(sbs) >= 90 else "")
    return f"{seen}: the paper ties its trend to %unk rising and self-BLEU falling with C; ours do not order FCE"


def nucleus_fce(runs: list[RunData]) -> str:
    """The paper reads its rising nucleus FCE as prior samples landing where q(z) has drifted from p(z);
    say how far apart our three FCEs are and how wide our largest C's q(z) is against the paper's."""
    fces = [r.eval["fce"]["schemes"]["nucleus0.9"]["fce"] for r in runs]
    spread = 100 * (max(fces) - min(fces)) / min(fces)
    last = runs[-1]
    return (
        f"the three FCEs lie within {spread:.1f} % of each other (the paper's CBT rise: 6.7 %); the paper reads its "
        "rise as samples from p(z) landing where q(z) has drifted away from the prior, and our C = "
        f"{capacity(last):g} run's q(z) is wider than the prior, not narrower (log det Cov "
        f"{last.eval['latent']['log_det_cov']:.2f}; the paper's −43.82): its prior samples land among codes the "
        "decoder was trained on"
    )


def m2_elbo(runs: list[RunData]) -> str:
    windows = train_elbo_windows(runs[0])[-4:]
    return (
        "m = 2's ELBO is still rising when our 3 epochs end, as every run's is (training batches, "
        f"200-step windows, last four: {' → '.join(fmt(v, 1) for v in windows)}); the paper's fall comes "
        "later in a much longer run"
    )


SPENT_DECAY = 10  # a decay that has cut the lr below 1/this of its start: its last slope is no pace to keep


def record(goal: float, window: int = 5) -> Any:
    """Why the record run misses, from its own log: collapse, or the pace its validation −ELBO was still
    falling at when training stopped (is the gap a matter of budget?). The pace is a least-squares slope
    over the last ``window`` epochs, so one noisy validation does not decide it; a run whose best validation
    was followed by two or more without a new best, at a learning rate a decay had lowered, has
    levelled off, whatever slope the epochs before its best give the window; so has one still creeping
    down at a learning rate its decay has cut below a tenth of where it began."""

    def why(runs: list[RunData]) -> str:
        r = runs[0]
        valid = [rec for rec in r.curve if rec.get("split") == "valid" and "nll_bound" in rec]
        parts = [
            "trained on two CPU cores (no GPU lent to this work): the budget in the table, against texar's 100 epochs"
        ]
        if kl(r) <= 5:
            parts.append(f"KL {kl(r):.2f} ≤ 5: the posterior sank towards the prior")
        gap = -elbo(r) - goal
        if gap > 0 and len(valid) > window:
            last = valid[-window - 1 :]
            epochs = [float(rec.get("epoch", i)) for i, rec in enumerate(last)]
            pace = -float(np.polyfit(epochs, [rec["nll_bound"] for rec in last], 1)[0])
            seen = (
                f"validation −ELBO {last[0]['nll_bound']:.2f} → {last[-1]['nll_bound']:.2f} over the last "
                f"{window} epochs"
            )
            lrs = [rec["lr"] for rec in valid if "lr" in rec]
            decays = [i for i in range(1, len(lrs)) if lrs[i] < lrs[i - 1]]
            if lrs:
                seen += f", learning rate lowered {len(decays)} time{'s' if len(decays) != 1 else ''}"
                if decays and decays[-1] == len(lrs) - 1:
                    seen += " (the last at the final validation: no step trained at the lower rate)"
            best_at = min(range(len(valid)), key=lambda i: valid[i]["nll_bound"])
            after = valid[best_at + 1 :]
            lowered_since = [rec["lr"] for rec in after if "lr" in rec and rec["lr"] < valid[best_at].get("lr", 0)]
            if len(after) >= 2 and lowered_since:  # the lower rates had validations to show a gain and showed none
                best = valid[best_at]
                parts.append(
                    f"{seen}: lowest {best['nll_bound']:.2f} at epoch {float(best.get('epoch', best_at)):g}, above it "
                    f"in the {len(after)} validations after it although the learning rate fell to "
                    f"{min(lowered_since):.2g}: levelled off, so more epochs of this recipe would not close the "
                    f"{gap:.2f} nats"
                )
            elif pace > 0 and lrs and lrs[-1] <= lrs[0] / SPENT_DECAY:  # the slope of a spent schedule
                parts.append(
                    f"{seen}: still falling {pace:.2f} nats per epoch, but at a learning rate decayed to "
                    f"{lrs[-1]:.2g} (1/{lrs[0] / lrs[-1]:.0f} of {lrs[0]:.2g}): the decay has run its "
                    f"course, so more epochs of this recipe would close little of the {gap:.2f} nats"
                )
            elif pace > 0:
                parts.append(
                    f"{seen}: still falling {pace:.2f} nats per epoch (least-squares slope), so the {gap:.2f} nats "
                    f"left are at least {math.ceil(gap / pace)} more epochs at that pace, which slows as it goes"
                )
            else:
                parts.append(
                    f"{seen}: no longer falling, so more epochs at this size would not close the {gap:.2f} nats"
                )
        return "; ".join(parts)

    return why
