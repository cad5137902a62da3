"""Decoding latents into token ids: greedy, beam search, top-k / nucleus sampling — all batched.

Every function takes a batch of latents z [N, z_dim] and decodes all N rows together, one decoder
call per time step (beam search: N × beam rows per call). Rows that have produced <eos> no longer
change; every SYNC_EVERY steps the finished ones are dropped from the batch (on the CPU the
vocabulary projection of a finished row costs as much as a live one), and the loop ends when
every row is done.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from .models import SentenceVAE

METHODS = ("greedy", "beam", "sample")
# Steps between checks that every row has finished: each check is a host sync (costly on a GPU);
# the extra steps a finished batch may run only append <eos>, which is cut off on output.
SYNC_EVERY = 4


@dataclass
class DecodeConfig:
    method: str = "greedy"  # greedy | beam | sample (top-k / nucleus / plain sampling)
    beam_size: int = 5  # beam: hypotheses kept per sentence
    length_penalty: float = 0.0  # beam: rank finished hypotheses by log p / length**α (0 = plain log p)
    top_k: int = 0  # sample: keep the k most probable tokens (0 = all)
    top_p: float = 1.0  # sample: keep the smallest set with this much probability mass (nucleus)
    temperature: float = 1.0  # sample: divide logits by this before sampling (greedy/beam ignore it)
    max_len: int = 50  # tokens generated at most, <eos> included

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown decoding method {self.method!r}; choose from {METHODS}")
        if self.beam_size < 1 or self.max_len < 1 or self.top_k < 0:
            raise ValueError("beam_size and max_len must be ≥ 1, top_k ≥ 0")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")


def _filter_logits(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Mask all but the top-k tokens and/or the nucleus of mass top_p with −inf."""
    if top_k and top_k < logits.size(-1):
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        probs = sorted_logits.softmax(-1)
        # drop a token when the mass *before* it already reaches top_p (the top token always stays)
        drop_sorted = probs.cumsum(-1) - probs >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def _sample_from(probs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One index per row of (unnormalised) probabilities, by inverse CDF: a cumulative sum and a
    binary search, far cheaper than torch.multinomial's exponential draw over a whole vocabulary."""
    cdf = probs.cumsum(-1)
    u = torch.rand((probs.size(0), 1), generator=generator, device=probs.device, dtype=cdf.dtype) * cdf[:, -1:]
    return torch.searchsorted(cdf, u).clamp_max(probs.size(-1) - 1).squeeze(1)


# Nucleus sampling with top_p at least this large draws from the whole distribution and rejects
# tokens outside the nucleus (accepted with probability ≥ top_p); smaller nuclei are searched.
REJECTION_MIN_P = 0.5
REJECTION_ROUNDS = 8


def _nucleus_by_rejection(
    logits: torch.Tensor, top_p: float, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw from softmax(logits); keep a row's draw if its token is in the nucleus, else draw again.

    A token is in the nucleus when the tokens more probable than it hold less than top_p (the
    sorted definition of ``_filter_logits``), one masked sum per row instead of a sort or a wide
    top-k. An accepted draw follows the nucleus distribution exactly; rows still rejected after
    REJECTION_ROUNDS come back unfinished (mask True) for the caller to sample another way.
    """
    probs = logits.softmax(-1)
    cdf = probs.cumsum(-1)
    choice = torch.zeros(probs.size(0), dtype=torch.long, device=probs.device)
    pending = torch.arange(probs.size(0), device=probs.device)
    for r in range(REJECTION_ROUNDS):
        rows, rows_cdf = (probs, cdf) if r == 0 else (probs[pending], cdf[pending])  # no copy in round 1
        u = torch.rand((pending.numel(), 1), generator=generator, device=probs.device, dtype=cdf.dtype)
        token = torch.searchsorted(rows_cdf, u * rows_cdf[:, -1:]).clamp_max(probs.size(-1) - 1)
        p_token = rows.gather(1, token)
        above = torch.where(rows > p_token, rows, 0.0).sum(-1)
        ok = above < top_p * rows_cdf[:, -1]  # the cdf's end is the row's mass (1 up to rounding)
        choice[pending[ok]] = token[ok, 0]
        pending = pending[~ok]
        if pending.numel() == 0:  # one host sync per round; rounds are few (acceptance ≥ top_p)
            break
    unfinished = torch.zeros(probs.size(0), dtype=torch.bool, device=probs.device)
    unfinished[pending] = True
    return choice, unfinished


def sample_next(logits: torch.Tensor, cfg: DecodeConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw the next token of every row under temperature, top-k and nucleus (top-p) filtering.

    Same distribution as sampling from ``_filter_logits``, without sorting the whole vocabulary:
    a wide nucleus (top_p ≥ REJECTION_MIN_P, no top-k) by rejection from the full distribution,
    anything else by ``_sample_among_top``.
    """
    logits = logits / cfg.temperature
    if not cfg.top_k and cfg.top_p >= 1.0:
        return _sample_from((logits - logits.amax(-1, keepdim=True)).exp(), generator)
    if not cfg.top_k and cfg.top_p >= REJECTION_MIN_P:
        choice, unfinished = _nucleus_by_rejection(logits, cfg.top_p, generator)
        if bool(unfinished.any()):
            rows = unfinished.nonzero().squeeze(1)
            choice[rows] = _sample_among_top(logits[rows], 0, cfg.top_p, generator)
        return choice
    return _sample_among_top(logits, cfg.top_k, cfg.top_p, generator)


def _sample_among_top(
    logits: torch.Tensor, top_k: int, top_p: float, generator: torch.Generator | None
) -> torch.Tensor:
    """Top-k and/or nucleus sampling among each row's most probable tokens: the top k, or for a
    nucleus the top 64 candidates, widened ×4 only for rows whose nucleus is wider, until every
    row's candidates hold mass top_p."""
    vocab = logits.size(-1)
    if top_k:
        vals, idx = logits.topk(min(top_k, vocab), dim=-1)
        log_z = vals.logsumexp(-1, keepdim=True)  # top-k first: the nucleus is taken within it
    else:
        log_z = logits.logsumexp(-1, keepdim=True)
        k = min(64, vocab)
        vals, idx = logits.topk(k, dim=-1)
        need = (vals - log_z).exp().sum(-1) < top_p
        while k < vocab and bool(need.any()):
            # only the rows whose nucleus is wider than k look further; the others keep −inf padding
            k = min(4 * k, vocab)
            rows = need.nonzero().squeeze(1)
            wide_vals, wide_idx = logits[rows].topk(k, dim=-1)
            vals = F.pad(vals, (0, k - vals.size(1)), value=float("-inf"))
            idx = F.pad(idx, (0, k - idx.size(1)), value=0)
            vals[rows], idx[rows] = wide_vals, wide_idx
            need[rows] = (wide_vals - log_z[rows]).exp().sum(-1) < top_p
    probs = (vals - log_z).exp()
    if top_p < 1.0:
        probs = probs.masked_fill(probs.cumsum(-1) - probs >= top_p, 0.0)
    return idx.gather(1, _sample_from(probs, generator).unsqueeze(1)).squeeze(1)


@torch.no_grad()
def decode_stepwise(
    model: SentenceVAE,
    z: torch.Tensor,
    cfg: DecodeConfig,
    bos_id: int,
    eos_id: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy or sampled decoding. Returns ids [N, T] (after <eos>: <eos>) and log p [N]."""
    n = z.size(0)
    state = model.init_state(z)
    live = torch.arange(n, device=z.device)  # original row of each row still decoding
    tokens = torch.full((n,), bos_id, dtype=torch.long, device=z.device)
    done = torch.zeros(n, dtype=torch.bool, device=z.device)
    logp = torch.zeros(n, device=z.device)
    out = torch.full((n, cfg.max_len), eos_id, dtype=torch.long, device=z.device)
    steps = 0
    for t in range(cfg.max_len):
        logits, state = model.step_logits(tokens, z, state)
        nxt = logits.argmax(-1) if cfg.method == "greedy" else sample_next(logits, cfg, generator)
        step_logp = logits.log_softmax(-1).gather(1, nxt.unsqueeze(1)).squeeze(1)
        nxt = nxt.masked_fill(done, eos_id)
        logp.index_add_(0, live, step_logp.masked_fill(done, 0.0))
        out[live, t] = nxt
        done |= nxt == eos_id
        tokens = nxt
        steps = t + 1
        if t % SYNC_EVERY == SYNC_EVERY - 1:
            keep = (~done).nonzero().squeeze(1)
            if keep.numel() == 0:
                break
            if keep.numel() < done.numel():  # drop finished rows: their outputs are final
                live, z, tokens, done = live[keep], z[keep], tokens[keep], done[keep]
                state = model.decoder.reorder_state(state, keep)
    return out[:, :steps], logp


@torch.no_grad()
def beam_search(
    model: SentenceVAE, z: torch.Tensor, cfg: DecodeConfig, bos_id: int, eos_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Beam search over all N latents at once (N × beam decoder rows). Returns best ids and log p.

    A sentence whose search is over (its best beam has produced <eos>; with a length penalty, all
    its beams) is settled (its best hypothesis stored) and dropped from the batch at the next sync
    point; the others go on.
    """
    n_all, k = z.size(0), cfg.beam_size
    best_ids = torch.full((n_all, cfg.max_len), eos_id, dtype=torch.long, device=z.device)
    best_logp = torch.zeros(n_all, device=z.device)
    live = torch.arange(n_all, device=z.device)  # original sentence of each sentence still searched
    n = n_all
    zz = z.repeat_interleave(k, 0)
    state = model.init_state(zz)
    tokens = torch.full((n * k,), bos_id, dtype=torch.long, device=z.device)
    scores = torch.full((n, k), float("-inf"), device=z.device)
    scores[:, 0] = 0.0  # all beams start identical: only the first is live
    lengths = torch.zeros(n, k, device=z.device)
    done = torch.zeros(n * k, dtype=torch.bool, device=z.device)
    history = torch.empty(n * k, 0, dtype=torch.long, device=z.device)

    def settled(done_nk: torch.Tensor) -> torch.Tensor:
        """Sentences whose search is over. Without a length penalty a sentence is settled once its
        best-scoring beam (column 0: topk keeps scores sorted) has ended: every other hypothesis
        scores less and can only lose log-probability, so none can overtake it. With a penalty a
        longer hypothesis may still win, so every beam must end."""
        return done_nk.all(1) if cfg.length_penalty else done_nk[:, 0]

    def settle(sent: torch.Tensor) -> None:
        """Store the best finished hypothesis of the given (current-batch) sentences."""
        ranked = (
            scores[sent] / lengths[sent].clamp_min(1.0).pow(cfg.length_penalty) if cfg.length_penalty else scores[sent]
        )
        best = ranked.argmax(-1)
        rows = sent * k + best
        best_ids[live[sent], : history.size(1)] = history.index_select(0, rows)
        best_logp[live[sent]] = scores[sent].gather(1, best.unsqueeze(1)).squeeze(1)

    for t in range(cfg.max_len):
        base = (torch.arange(n, device=z.device) * k).unsqueeze(1)
        logits, state = model.step_logits(tokens, zz, state)
        # Only a beam's own k best tokens can enter the sentence's next k beams, so rank k × k
        # candidates instead of k × vocabulary (the same top k, without a full log-softmax).
        kk = min(k, logits.size(-1))
        top, tok = logits.topk(kk, dim=-1)
        step_logp = top - logits.logsumexp(-1, keepdim=True)
        # a finished hypothesis may only "emit" <eos> again, at no cost, so it keeps its score
        frozen = torch.full((kk,), float("-inf"), device=z.device)
        frozen[0] = 0.0
        step_logp = torch.where(done.unsqueeze(1), frozen, step_logp)
        tok = torch.where(done.unsqueeze(1), eos_id, tok)
        cand = (scores.unsqueeze(-1) + step_logp.view(n, k, kk)).view(n, k * kk)
        scores, flat = cand.topk(k, dim=-1)
        beam, nxt = flat // kk, tok.view(n, k * kk).gather(1, flat)
        index = (base + beam).view(-1)
        state = model.decoder.reorder_state(state, index)
        prev_done = done.index_select(0, index)
        lengths = lengths.gather(1, beam) + (~prev_done).view(n, k).float()
        history = torch.cat([history.index_select(0, index), nxt.view(-1, 1)], 1)
        done = prev_done | (nxt.view(-1) == eos_id)
        tokens = nxt.view(-1)
        if t % SYNC_EVERY == SYNC_EVERY - 1 or t == cfg.max_len - 1:
            finished = settled(done.view(n, k))
            if bool(finished.all()) or t == cfg.max_len - 1:
                settle(torch.arange(n, device=z.device))
                break
            if bool(finished.any()):  # settle finished sentences and drop their rows
                settle(finished.nonzero().squeeze(1))
                keep = (~finished).nonzero().squeeze(1)
                rows = (keep.unsqueeze(1) * k + torch.arange(k, device=z.device)).view(-1)
                live, scores, lengths = live[keep], scores[keep], lengths[keep]
                zz, tokens, done, history = zz[rows], tokens[rows], done[rows], history[rows]
                state = model.decoder.reorder_state(state, rows)
                n = keep.numel()
    return best_ids[:, : history.size(1)], best_logp


def decode(
    model: SentenceVAE,
    z: torch.Tensor,
    cfg: DecodeConfig,
    bos_id: int,
    eos_id: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode latents with the method ``cfg`` names; returns ids [N, T] and their log p(x|z).

    ``z`` is the flat latent (``model.latent_dim``); a fixed-width decoder stops at its width."""
    cfg.validate()
    if model.max_decode_len is not None and cfg.max_len > model.max_decode_len:
        cfg = replace(cfg, max_len=model.max_decode_len)
    if cfg.method == "beam" and cfg.beam_size > 1:
        return beam_search(model, z, cfg, bos_id, eos_id)
    if cfg.method == "beam":
        cfg = DecodeConfig(**{**cfg.__dict__, "method": "greedy"})
    return decode_stepwise(model, z, cfg, bos_id, eos_id, generator)
