"""The syntactic test of Prokhorov et al. §3.4 on Marvin & Linzen's minimal pairs: does the decoder
prefer the grammatical sentence, given z of either sentence?"""

from __future__ import annotations

from pathlib import Path

import torch

from ..data import make_batch
from ..inference import encode_ids
from ..models import SentenceVAE
from ..vocab import Vocab


def read_syntax_pairs(path: Path) -> list[tuple[str, str, str]]:
    """(condition, grammatical, ungrammatical) rows of a Marvin & Linzen TSV; NPI files compare the
    grammatical sentence with the one that has no licensor (their last column)."""
    rows = []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:
        cols = line.split("\t")
        if len(cols) >= 3:
            rows.append((cols[0], cols[1], cols[-1]))
    return rows


def first_difference(a: list[int], b: list[int]) -> int:
    """First target position (tokens, then <eos>) where two sentences differ; len(a) + 1 if equal."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b)) if len(a) != len(b) else len(a) + 1


@torch.no_grad()
def scored_logp(
    model: SentenceVAE,
    seqs: list[list[int]],
    start: list[int],
    z: torch.Tensor,
    vocab: Vocab,
    batch_size: int = 512,
) -> torch.Tensor:
    """log p(x|z) of each sentence counted from target position ``start[i]`` on, batched by length.

    Two sentences that share their first s tokens get the same log-probabilities there under the
    same z, so comparing p(x⁻|z) with p(x⁺|z) only needs the positions from the first difference on.
    """
    out = torch.empty(len(seqs), device=z.device)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        b = make_batch([seqs[i] for i in idx], vocab).to(z.device)
        where = torch.as_tensor(idx, device=z.device)
        first = torch.as_tensor([start[i] for i in idx], device=z.device)
        out[where] = -model.sentence_nll(z[where], b.dec_in, b.target, b.lengths, start=first)
    return out


@torch.no_grad()
def syntactic_test(
    model: SentenceVAE,
    vocab: Vocab,
    folder: Path,
    device: torch.device,
    max_pairs: int = 0,
    batch_size: int = 512,
) -> dict[str, object]:
    """Prokhorov et al. §3.4 on Marvin & Linzen pairs (x⁺ grammatical, x⁻ not), per category (file):

    p1 = P[p(x⁻|z⁺) < p(x⁺|z⁺)], p2 = P[p(x⁻|z⁻) < p(x⁺|z⁻)] with z = μ(x); p̄1, p̄2 the same with
    z averaged within each sub-category (condition). ``max_pairs`` pairs per category at most, evenly
    spaced through the file (every condition keeps its share). Coverage: share of tokens the
    vocabulary knows (overall and per category), and of pairs with no unknown word at all. A fixed-width
    model (CNN encoder, deconvolutional decoder) skips the pairs it cannot read (``n_too_long``).
    """
    results: dict[str, dict[str, float | int]] = {}
    known = total = pairs_known = n_pairs = too_long = 0
    limit = model.max_tokens
    for path in sorted(Path(folder).glob("*.tsv")):
        rows = read_syntax_pairs(path)
        if max_pairs:
            rows = rows[:: max(1, len(rows) // max_pairs)][:max_pairs]
        if limit is not None:
            fits = [r for r in rows if max(len(vocab.tokenize(r[1])), len(vocab.tokenize(r[2]))) <= limit]
            too_long, rows = too_long + len(rows) - len(fits), fits
        if not rows:
            continue
        good = [vocab.encode(vocab.tokenize(r[1])) for r in rows]
        bad = [vocab.encode(vocab.tokenize(r[2])) for r in rows]
        cat_total = sum(len(ids) for ids, _ in good + bad)
        cat_known = cat_total - sum(len(unk) for _, unk in good + bad)
        cat_pairs_known = sum(not g[1] and not b[1] for g, b in zip(good, bad, strict=True))
        good_ids, bad_ids = [g[0] for g in good], [b[0] for b in bad]
        n = len(rows)
        mu, _ = encode_ids(model, good_ids + bad_ids, vocab, batch_size)
        z_good, z_bad = mu[:n], mu[n:]
        conds = [r[0] for r in rows]
        mean_good, mean_bad = z_good.clone(), z_bad.clone()
        for c in sorted(set(conds)):
            idx = torch.as_tensor([i for i, x in enumerate(conds) if x == c], device=mu.device)
            mean_good[idx] = z_good[idx].mean(0)
            mean_bad[idx] = z_bad[idx].mean(0)
        start = [first_difference(g, b) for g, b in zip(good_ids, bad_ids, strict=True)]
        zs = (z_good, z_bad, mean_good, mean_bad)
        # every (sentence, latent) combination in one batched call: x⁺ and x⁻ under each of the four z's
        logp = scored_logp(
            model,
            (good_ids + bad_ids) * len(zs),
            start * (2 * len(zs)),
            torch.cat([torch.cat([zz, zz]) for zz in zs]),
            vocab,
            batch_size,
        ).view(len(zs), 2, n)
        names = ("p1", "p2", "p1_bar", "p2_bar")
        p = {name: float((logp[j, 1] < logp[j, 0]).float().mean()) for j, name in enumerate(names)}
        # pairs that unknown words turn into the same ids tie and count against p1 and p2 alike; the
        # same figures on the pairs the vocabulary tells apart say what the model itself prefers
        distinct = torch.as_tensor([g != b for g, b in zip(good_ids, bad_ids, strict=True)], device=logp.device)
        n_distinct = int(distinct.sum())
        p_distinct = {
            name: float((logp[j, 1] < logp[j, 0])[distinct].float().mean()) if n_distinct else float("nan")
            for j, name in enumerate(names)
        }
        results[path.stem] = {
            **p,
            "distinct": p_distinct,
            "n_distinct": n_distinct,
            "n_pairs": n,
            "coverage": cat_known / max(1, cat_total),
            "pairs_fully_known": cat_pairs_known / n,
        }
        known, total = known + cat_known, total + cat_total
        pairs_known, n_pairs = pairs_known + cat_pairs_known, n_pairs + n
    return {
        "categories": results,
        "coverage": known / max(1, total),
        "pairs_fully_known": pairs_known / max(1, n_pairs),
        "n_pairs": n_pairs,
        "max_pairs_per_category": max_pairs,
        "n_too_long": too_long,
    }
