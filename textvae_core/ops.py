"""Fused vocabulary projection + cross-entropy for the CPU.

With a 10k-word vocabulary the output layer dominates a sentence VAE's training cost, and on the
CPU that cost is mostly memory traffic: the stock path materialises logits, log-softmax, a zeroed
gradient and its log-softmax backward, four [N, V] buffers per step. This autograd function keeps
one: it turns the logits into probabilities in place and reuses that buffer for the gradient.
Same values and gradients as ``F.cross_entropy(F.linear(h, W, b), target, reduction="none")``
(tests check it); it does not support double backward.

Under bfloat16 autocast (CPUs with AVX-512 BF16 multiply bf16 matrices ~2.3× faster than fp32) the
two matrix products run in bf16 while the softmax, the NLL and the gradient of the logits stay in
fp32; the weight's gradient comes back in fp32 for the fp32 master weights.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor:
        low = h.dtype == torch.bfloat16
        if low:  # bf16 product, fp32 softmax: one bf16 [N, V] block, converted once
            w = weight.to(torch.bfloat16)
            logits = torch.addmm(bias.to(torch.bfloat16), h, w.t()).float()
        else:
            w = weight
            logits = torch.addmm(bias, h, weight.t())  # [N, V]
        picked = logits.gather(1, target.unsqueeze(1)).squeeze(1)
        peak = logits.amax(dim=-1, keepdim=True)
        probs = logits.sub_(peak).exp_()  # unnormalised softmax, in the logits buffer
        total = probs.sum(dim=-1, keepdim=True)
        probs.div_(total)
        nll = (peak + total.log()).squeeze(1) - picked
        ctx.save_for_backward(h, w, probs, target)
        ctx.weight_dtype = weight.dtype
        return nll

    @staticmethod
    def backward(ctx: Any, grad_nll: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        h, weight, probs, target = ctx.saved_tensors
        grad = probs  # d nll / d logits = softmax − onehot, built in place (single backward only)
        grad[torch.arange(grad.size(0), device=grad.device), target] -= 1.0
        grad.mul_(grad_nll.unsqueeze(1).to(grad.dtype))
        grad_b = grad.sum(0).to(ctx.weight_dtype) if ctx.needs_input_grad[2] else None
        if h.dtype == torch.bfloat16:
            grad = grad.to(torch.bfloat16)
        grad_h = grad @ weight if ctx.needs_input_grad[0] else None
        grad_w = (grad.t() @ h).to(ctx.weight_dtype) if ctx.needs_input_grad[1] else None
        return grad_h, grad_w, grad_b, None


# Rows per chunk when no gradient is needed (importance sampling sends k × batch sentences at once).
# On the CPU a 512 × 10k block of logits (20 MB) is reused by the allocator from chunk to chunk; a
# 2048-row block (80 MB) is mapped afresh each time and its first touch costs ~10% of the pass.
EVAL_CHUNK = 512
EVAL_CHUNK_GPU = 4096


def linear_cross_entropy(
    h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Per-row −log softmax(h Wᵀ + b)[target]; fused on the CPU, the stock kernels elsewhere."""
    if torch.is_grad_enabled() and (weight.requires_grad or h.requires_grad):
        if h.device.type == "cpu" and h.dtype in (torch.float32, torch.bfloat16):
            if torch.is_autocast_enabled("cpu"):
                h = h.to(torch.get_autocast_dtype("cpu"))
            with torch.autocast("cpu", enabled=False):
                return _LinearCrossEntropy.apply(h, weight, bias, target)
        return F.cross_entropy(F.linear(h, weight, bias).float(), target, reduction="none")
    # no gradient needed: chunk the rows, so evaluation never holds more than EVAL_CHUNK × V logits
    chunk = EVAL_CHUNK if h.device.type == "cpu" else EVAL_CHUNK_GPU
    parts = [_nll_no_grad(hc, weight, bias, tc) for hc, tc in zip(h.split(chunk), target.split(chunk), strict=True)]
    return torch.cat(parts) if parts else h.new_zeros(0)


def _nll_no_grad(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """−log softmax(h Wᵀ + b)[target] with the exponentials taken in the logits buffer: no log-softmax
    copy of the [N, V] block (a fifth less time than F.cross_entropy on the CPU, same values)."""
    logits = F.linear(h, weight, bias).float()
    picked = logits.gather(1, target.unsqueeze(1)).squeeze(1)
    peak = logits.amax(dim=-1, keepdim=True)
    total = logits.sub_(peak).exp_().sum(dim=-1)
    return total.log() + peak.squeeze(1) - picked


def sentence_nll(
    hidden: torch.Tensor,
    out: torch.nn.Module,  # the vocabulary projection: a Linear or a TiedOutput (.weight [V, H], .bias [V])
    target: torch.Tensor,
    lengths: torch.Tensor,
    start: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-sentence sum of token NLLs [B] from decoder states [B, T, H].

    Only real positions (each sentence's tokens + its <eos>) are projected onto the vocabulary:
    with a 10k-word output layer that projection dominates the cost, and padding would pay too.
    With ``start`` [B], positions before start[i] are left out of sentence i's sum (not projected).
    """
    pos = torch.arange(hidden.size(1), device=hidden.device).unsqueeze(0)
    mask = pos <= lengths.to(hidden.device).unsqueeze(1)
    if start is not None:
        mask &= pos >= start.to(hidden.device).unsqueeze(1)
    nll = linear_cross_entropy(hidden[mask], out.weight, out.bias, target[mask])
    rows = torch.arange(hidden.size(0), device=hidden.device).unsqueeze(1).expand_as(mask)[mask]
    return torch.zeros(hidden.size(0), device=hidden.device, dtype=nll.dtype).index_add_(0, rows, nll)
