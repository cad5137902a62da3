"""Where the output layer's time goes, fp32 against bf16 autocast: its three matrix products alone, then
the whole fused loss (textvae_core.ops.linear_cross_entropy, forward and backward).

    python -m benchmarks.output_layer [--rows 1412] [--hidden 256] [--vocab 9972] [--threads 1] [--repeats 5]

The defaults are one batch of the anchor's model (timbmg/Sentence-VAE: 32 sentences of PTB, hidden 256,
a 9,972-word vocabulary). The products' share of the loss's time says how much of it is elementwise work
over the [rows × vocab] block (casts, exponentials, sums), which a faster number format does not speed up.
The weights are small (as in training: no logit gaps wide enough for subnormal probabilities, which slow
the products many times over). Prints figures; it measures, it does not pass or fail.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from textvae_core.cli import parse_dataclass, run_main
from textvae_core.ops import linear_cross_entropy
from textvae_core.timing import median_seconds


@dataclass
class Options:
    rows: int = 1412  # target tokens in the batch (rows of the logits block)
    hidden: int = 256  # decoder state size
    vocab: int = 9972  # output vocabulary
    threads: int = 1  # torch CPU threads
    repeats: int = 5  # timed calls per figure (median), after one untimed


def main(argv: list[str] | None = None) -> int:
    o = parse_dataclass(Options, argv, "python -m benchmarks.output_layer", __doc__)
    torch.set_num_threads(o.threads)
    g = torch.Generator().manual_seed(0)
    weight = (torch.randn(o.vocab, o.hidden, generator=g) * 0.05).requires_grad_()
    bias = torch.zeros(o.vocab, requires_grad=True)
    h = torch.randn(o.rows, o.hidden, generator=g, requires_grad=True)
    target = torch.randint(0, o.vocab, (o.rows,), generator=g)
    flop = 2 * o.rows * o.hidden * o.vocab
    print(f"rows {o.rows}, hidden {o.hidden}, vocabulary {o.vocab}, {o.threads} thread(s)")
    loss_ms = {}
    for dtype in (torch.float32, torch.bfloat16):
        a, w = h.detach().to(dtype), weight.detach().to(dtype)
        grad = torch.randn(o.rows, o.vocab, generator=g).mul_(1e-4).to(dtype)
        products = {
            "logits h·Wᵀ": lambda a=a, w=w: a @ w.t(),
            "grad_h G·W": lambda grad=grad, w=w: grad @ w,
            "grad_W Gᵀ·h": lambda grad=grad, a=a: grad.t() @ a,
        }
        ms = {name: 1000 * median_seconds(fn, o.repeats) for name, fn in products.items()}

        def loss(low: bool = dtype == torch.bfloat16) -> None:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=low):
                nll = linear_cross_entropy(h, weight, bias, target)
            nll.sum().backward()

        loss_ms[dtype] = 1000 * median_seconds(loss, o.repeats)
        rates = ", ".join(f"{name} {v:.1f} ms ({flop / v / 1e6:.0f} GFLOP/s)" for name, v in ms.items())
        share = sum(ms.values()) / loss_ms[dtype]
        print(f"{str(dtype).removeprefix('torch.'):>9}: {rates}")
        print(f"{'':>9}  fused loss, forward + backward {loss_ms[dtype]:.1f} ms: the products are {share:.0%} of it")
    print(f"bf16 / fp32, fused loss: {loss_ms[torch.float32] / loss_ms[torch.bfloat16]:.2f}× faster")
    return 0


if __name__ == "__main__":
    run_main(main)
