"""torchrun data parallelism on the CPU (gloo, 2 processes): the same steps as one process, rank 0 writes,
resume at another world size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from textvae_core.checkpoint import load_run
from textvae_core.config import RunConfig
from textvae_core.distributed import World
from textvae_core.inference import TextVAE
from textvae_core.models.vae import SentenceVAE
from textvae_core.paths import ROOT
from textvae_core.rundir import CONFIG, METRICS
from textvae_core.train import train

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without distributed")


def torchrun(script: list[str], args: list[str], nproc: int = 2) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", "--standalone", *script]
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([*cmd, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def cli_args(cfg: RunConfig) -> list[str]:
    d, t, o = cfg.data, cfg.train, cfg.objective
    return [
        f"--data.train={d.train}", f"--data.valid={d.valid}", f"--data.test={d.test}", "--size=tiny",
        f"--objective={o.name}", f"--objective.C={o.C}", f"--objective.free_bits={o.free_bits}",
        f"--batch_size={t.batch_size}",
        f"--max_steps={t.max_steps}", f"--epochs={t.epochs}", f"--out={t.out}", "--progress=false", "--ckpt_every=0",
        f"--amp={t.amp}",
    ]  # fmt: skip


def losses(run: Path, key: str = "loss") -> dict[int, float]:
    lines = [json.loads(line) for line in (run / METRICS).read_text().splitlines()]
    return {r["step"]: r[key] for r in lines if r["split"] == "train"}


def test_shards_cover_each_batch_once() -> None:
    batch = list(range(10, 17))  # 7 sentences over 2 and 3 ranks
    for size in (2, 3):
        shards = [World(r, size).shard(batch) for r in range(size)]
        assert sorted(i for s in shards for i in s) == batch
        assert [len(s) for s in shards] == World(0, size).shard_sizes(len(batch))


@pytest.mark.parametrize(
    ("objective", "knobs"),
    [("beta-c", {"C": 2.0}), ("vae", {"free_bits": 0.3})],
    ids=["capacity", "free-bits"],
)
def test_two_ranks_train_like_one_process_on_the_same_global_batch(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, objective: str, knobs: dict
) -> None:
    """Objectives whose K couples the shards (|mean KL − C|; free bits' per-dimension batch means, gathered
    as [B, D]), an odd global batch (shards of 16 and 15), 12 steps."""
    monkeypatch.setattr(SentenceVAE, "sample_z", staticmethod(lambda mu, logvar: mu))
    single = tiny_config(corpus_dir, tmp_path / "single", objective, **knobs)
    single.train.batch_size, single.train.max_steps = 31, 12
    single.train.amp = False  # fp32: bf16 rounds the two sums of the gradient differently, and Adam magnifies it
    train(single)
    parallel = tiny_config(corpus_dir, tmp_path / "ddp", objective, **knobs)
    parallel.train.batch_size, parallel.train.max_steps, parallel.train.amp = 31, 12, False
    torchrun(["tests/ddp_entry.py"], cli_args(parallel))
    a, b = losses(tmp_path / "single"), losses(tmp_path / "ddp")
    assert list(a) == list(b) == list(range(1, 13))  # rank 0 alone wrote the log, once per step
    assert [b[s] for s in a] == pytest.approx([a[s] for s in a], rel=1e-4)
    norms = losses(tmp_path / "single", "grad_norm"), losses(tmp_path / "ddp", "grad_norm")
    assert list(norms[1].values()) == pytest.approx(list(norms[0].values()), rel=1e-4)  # the gradient itself
    ra, rb = load_run(tmp_path / "single"), load_run(tmp_path / "ddp")
    wa, wb = ra.model.state_dict(), rb.model.state_dict()
    # a batch-normalised μ (the rate recipe) removes the mean of μ, so the bias of μ gets a gradient of rounding
    # noise alone, which Adam scales up to steps of any size: it and the running mean that absorbs it may differ
    # while the codes do not
    free = {"encoder.to_params.bias", "mu_bn.running_mean"} if ra.model.mu_bn is not None else set()
    assert all(torch.allclose(wa[k], wb[k], atol=1e-4) for k in wa if k not in free)
    sentences = (corpus_dir / "valid.txt").read_text().splitlines()[:20]
    va, vb = TextVAE.load(tmp_path / "single", device="cpu"), TextVAE.load(tmp_path / "ddp", device="cpu")
    assert torch.allclose(va.encode(sentences).mu, vb.encode(sentences).mu, atol=1e-3)


def test_a_data_parallel_run_resumes_at_another_world_size(corpus_dir: Path, tmp_path: Path) -> None:
    cfg = tiny_config(corpus_dir, tmp_path / "r", "vae")
    cfg.train.max_steps = 6
    torchrun(["-m", "textvae_core.train"], cli_args(cfg))
    assert load_run(tmp_path / "r").step == 6
    resumed = RunConfig.load(tmp_path / "r" / CONFIG)
    resumed.train.max_steps = 9
    train(resumed, resume=True)  # one process goes on from the two-process checkpoint
    torchrun(["-m", "textvae_core.train"], [f"--resume={tmp_path / 'r'}", "--max_steps=12", "--progress=false"])
    assert load_run(tmp_path / "r").step == 12
    assert sorted(losses(tmp_path / "r")) == list(range(1, 13))
    starts = [json.loads(ln) for ln in (tmp_path / "r" / METRICS).read_text().splitlines()]
    assert [r["world_size"] for r in starts if r.get("event") == "start"] == [2, 1, 2]
