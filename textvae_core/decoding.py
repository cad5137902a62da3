"""Decoding latents into token ids: greedy, beam search, top-k / nucleus sampling — all batched.

Every function takes a batch of latents z [N, z_dim] and decodes all N rows together, one decoder
call per time step (beam search: N × beam rows per call). Rows that have produced <eos> keep
being fed but no longer change, and the loop ends when every row is done.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def sample_next(logits: torch.Tensor, cfg: DecodeConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw the next token of every row under temperature, top-k and nucleus (top-p) filtering.

    Same distribution as sampling from ``_filter_logits``, without sorting the whole vocabulary:
    the nucleus is searched among each row's top 64 candidates, and only rows whose nucleus is
    wider look at ×4 more, until every row's candidates hold mass top_p.
    """
    logits = logits / cfg.temperature
    vocab = logits.size(-1)
    if not cfg.top_k and cfg.top_p >= 1.0:
        return _sample_from((logits - logits.amax(-1, keepdim=True)).exp(), generator)
    if cfg.top_k:
        vals, idx = logits.topk(min(cfg.top_k, vocab), dim=-1)
        log_z = vals.logsumexp(-1, keepdim=True)  # top-k first: the nucleus is taken within it
    else:
        log_z = logits.logsumexp(-1, keepdim=True)
        k = min(64, vocab)
        vals, idx = logits.topk(k, dim=-1)
        need = (vals - log_z).exp().sum(-1) < cfg.top_p
        while k < vocab and bool(need.any()):
            # only the rows whose nucleus is wider than k look further; the others keep −inf padding
            k = min(4 * k, vocab)
            rows = need.nonzero().squeeze(1)
            wide_vals, wide_idx = logits[rows].topk(k, dim=-1)
            vals = F.pad(vals, (0, k - vals.size(1)), value=float("-inf"))
            idx = F.pad(idx, (0, k - idx.size(1)), value=0)
            vals[rows], idx[rows] = wide_vals, wide_idx
            need[rows] = (wide_vals - log_z[rows]).exp().sum(-1) < cfg.top_p
    probs = (vals - log_z).exp()
    if cfg.top_p < 1.0:
        probs = probs.masked_fill(probs.cumsum(-1) - probs >= cfg.top_p, 0.0)
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
    state = model.decoder.init_state(z)
    tokens = torch.full((n,), bos_id, dtype=torch.long, device=z.device)
    done = torch.zeros(n, dtype=torch.bool, device=z.device)
    logp = torch.zeros(n, device=z.device)
    out = []
    for t in range(cfg.max_len):
        logits, state = model.step_logits(tokens, z, state)
        nxt = logits.argmax(-1) if cfg.method == "greedy" else sample_next(logits, cfg, generator)
        step_logp = logits.log_softmax(-1).gather(1, nxt.unsqueeze(1)).squeeze(1)
        nxt = nxt.masked_fill(done, eos_id)
        logp += step_logp.masked_fill(done, 0.0)
        out.append(nxt)
        done |= nxt == eos_id
        tokens = nxt
        if t % SYNC_EVERY == SYNC_EVERY - 1 and bool(done.all()):
            break
    return torch.stack(out, 1), logp


@torch.no_grad()
def beam_search(
    model: SentenceVAE, z: torch.Tensor, cfg: DecodeConfig, bos_id: int, eos_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Beam search over all N latents at once (N × beam decoder rows). Returns best ids and log p."""
    n, k = z.size(0), cfg.beam_size
    rows = n * k
    zz = z.repeat_interleave(k, 0)
    state = model.decoder.init_state(zz)
    tokens = torch.full((rows,), bos_id, dtype=torch.long, device=z.device)
    scores = torch.full((n, k), float("-inf"), device=z.device)
    scores[:, 0] = 0.0  # all beams start identical: only the first is live
    lengths = torch.zeros(n, k, device=z.device)
    done = torch.zeros(rows, dtype=torch.bool, device=z.device)
    history = torch.empty(rows, 0, dtype=torch.long, device=z.device)
    base = (torch.arange(n, device=z.device) * k).unsqueeze(1)
    for t in range(cfg.max_len):
        logits, state = model.step_logits(tokens, zz, state)
        logp = logits.log_softmax(-1)
        # a finished hypothesis may only "emit" <eos> again, at no cost, so it keeps its score
        frozen = torch.full_like(logp[0], float("-inf"))
        frozen[eos_id] = 0.0
        logp = torch.where(done.unsqueeze(1), frozen, logp)
        vocab = logp.size(-1)
        cand = (scores.unsqueeze(-1) + logp.view(n, k, vocab)).view(n, k * vocab)
        scores, flat = cand.topk(k, dim=-1)
        beam, nxt = flat // vocab, flat % vocab
        index = (base + beam).view(-1)
        state = model.decoder.reorder_state(state, index)
        prev_done = done.index_select(0, index)
        lengths = lengths.gather(1, beam) + (~prev_done).view(n, k).float()
        history = torch.cat([history.index_select(0, index), nxt.view(-1, 1)], 1)
        done = prev_done | (nxt.view(-1) == eos_id)
        tokens = nxt.view(-1)
        if t % SYNC_EVERY == SYNC_EVERY - 1 and bool(done.all()):
            break
    ranked = scores / lengths.clamp_min(1.0).pow(cfg.length_penalty) if cfg.length_penalty else scores
    best = ranked.argmax(-1)
    pick = torch.arange(n, device=z.device) * k + best
    return history.index_select(0, pick), scores.gather(1, best.unsqueeze(1)).squeeze(1)


def decode(
    model: SentenceVAE,
    z: torch.Tensor,
    cfg: DecodeConfig,
    bos_id: int,
    eos_id: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode latents with the method ``cfg`` names; returns ids [N, T] and their log p(x|z)."""
    cfg.validate()
    if cfg.method == "beam" and cfg.beam_size > 1:
        return beam_search(model, z, cfg, bos_id, eos_id)
    if cfg.method == "beam":
        cfg = DecodeConfig(**{**cfg.__dict__, "method": "greedy"})
    return decode_stepwise(model, z, cfg, bos_id, eos_id, generator)
