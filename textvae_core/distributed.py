"""Data-parallel training under torchrun: the process group, batch shards and the collectives the Trainer needs.

``torchrun --nproc_per_node=N -m textvae_core.train …`` starts N copies of the CLI with RANK, WORLD_SIZE
and LOCAL_RANK set. Every rank builds the same global batches (same seed, same length buckets) and
trains on its own shard of each; the per-sentence distortion and KL of all shards are gathered before
the objective is computed, so the loss, its gradient and every logged figure are those of the whole
global batch, whatever the world size. Rank 0 alone writes logs and checkpoints.

Without torchrun (WORLD_SIZE unset or 1) every function here is the identity: no process group exists.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from .config import ConfigError


@dataclass(frozen=True)
class World:
    """Where this process stands in a data-parallel job (rank 0 of 1 when training alone)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.size > 1

    def shard(self, indices: Sequence[int]) -> list[int]:
        """This rank's sentences of a global batch: every size-th one from position rank.

        A batch is sorted by length (a bucket), so strided shards get the same mix of lengths and
        the ranks finish their steps together."""
        return list(indices[self.rank :: self.size])

    def shard_sizes(self, n: int) -> list[int]:
        return [len(range(r, n, self.size)) for r in range(self.size)]


def world_from_env() -> World:
    """The World torchrun describes in the environment (RANK, WORLD_SIZE, LOCAL_RANK)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    return World(int(os.environ.get("RANK", "0")), size, int(os.environ.get("LOCAL_RANK", "0")))


def device_name(world: World, requested: str) -> str:
    """The device of this rank: with several ranks on CUDA, each takes the GPU of its local rank."""
    if not world.parallel or requested == "cpu":
        return requested
    if requested == "auto":
        return f"cuda:{world.local_rank}" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda"):
        return f"cuda:{world.local_rank}"
    return requested


def init(world: World, device: torch.device) -> None:
    """Join the process group (NCCL on CUDA, gloo on the CPU); nothing when training alone."""
    if not world.parallel or dist.is_initialized():
        return
    if device.type == "cuda":
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(
                f"rank {world.rank} needs cuda:{device.index} but this node has {torch.cuda.device_count()} GPU(s): "
                "use --nproc_per_node at most the number of GPUs"
            )
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def shutdown(world: World) -> None:
    if world.parallel and dist.is_initialized():
        dist.destroy_process_group()


class _GatherShards(torch.autograd.Function):
    """all_gather of equal-length shards, differentiable: the gradient of a shard is the sum over ranks of
    the gradients their copies of the gathered tensor received (an all-reduce, then this rank's slice)."""

    @staticmethod
    def forward(ctx: Any, shard: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(shard) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, shard.contiguous())
        return torch.stack(parts)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)
        return grad[dist.get_rank()]


class _AllReduceSum(torch.autograd.Function):
    """all_reduce (sum), differentiable: every rank's copy of the sum sends its gradient back to each term."""

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        out = tensor.clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad


def batch_moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int] | None:
    """Mean and (biased) variance over dim 0 of the *global* batch under torchrun, with its size; None when
    training alone. A batch-normalised μ uses them, so every rank normalises by the statistics of the whole
    global batch, as one process would (with the gradient convention of ``gather``). A rank lent one sentence
    because a batch had fewer sentences than ranks counts it here (a batch that small is an edge case)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return None
    count = torch.full((1,), float(x.size(0)), dtype=x.dtype, device=x.device)
    total = _AllReduceSum.apply(torch.cat([x.sum(0), (x * x).sum(0), count]))
    dims = x.size(1)
    n = int(total[-1].item())
    mean = total[:dims] / n
    return mean, (total[dims : 2 * dims] / n - mean * mean).clamp_min(0.0), n


def gather(tensor: torch.Tensor, world: World, sizes: list[int]) -> torch.Tensor:
    """Concatenate every rank's per-sentence values [n_r, …] into [Σ n_r, …], keeping the autograd graph.

    Shards may differ in length by one (or be empty when a batch has fewer sentences than ranks), so
    each is padded to the longest first. The gradient flowing back to each rank's shard is the sum of
    the gradients of every rank's copy of the loss, i.e. world size × its own; DDP's gradient average
    divides that back out, so each step follows the gradient of the global batch's loss."""
    if not world.parallel:
        return tensor
    width = max(sizes)
    mine = tensor[: sizes[world.rank]]
    if len(mine) < width:
        mine = torch.cat([mine, mine.new_zeros((width - len(mine), *mine.shape[1:]))])
    parts = _GatherShards.apply(mine)
    return torch.cat([p[:n] for p, n in zip(parts, sizes, strict=True)])


def any_rank(flag: bool, world: World, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on any (a stop asked on one rank stops them all at one step)."""
    if not world.parallel:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def from_main(value: float | None, world: World, device: torch.device) -> float | None:
    """Rank 0's number on every rank (validation runs on rank 0; the lr schedule must agree everywhere)."""
    if not world.parallel:
        return value
    t = torch.tensor([float("nan") if value is None else float(value)], device=device, dtype=torch.float64)
    dist.broadcast(t, src=0)
    out = float(t.item())
    return None if out != out else out


def barrier(world: World) -> None:
    if world.parallel:
        dist.barrier()
