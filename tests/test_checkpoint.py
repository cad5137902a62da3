"""Run directories: reload fidelity, refusal of bad files, crash safety, no code execution."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from textvae_core.checkpoint import CheckpointError, load_run, read_config, read_weights
from textvae_core.config import ConfigError
from textvae_core.decoding import DecodeConfig
from textvae_core.inference import TextVAE
from textvae_core.paths import ROOT
from textvae_core.rundir import CONFIG, METRICS, VOCAB, WEIGHTS


def copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_run_directory_layout_and_json_only_listing(trained_run: Path) -> None:
    names = {p.name for p in trained_run.iterdir()}
    assert {CONFIG, VOCAB, WEIGHTS, METRICS} <= names
    assert any(n.startswith("resume-") for n in names)
    raw = json.loads((trained_run / CONFIG).read_text())
    assert raw["format_version"] == 1 and raw["vocab_size"] > 4
    assert raw["objective"]["name"] == "beta-c" and raw["objective"]["C"] == 3.0 and raw["objective"]["m"] == 0.0
    assert read_config(trained_run).model.decoder == "lstm"  # no weights needed


def test_reloaded_checkpoint_decodes_exactly_what_the_model_decoded(trained_run: Path, tmp_path: Path) -> None:
    vae = TextVAE.load(trained_run)
    sentences = ["the cat sees the river today", "a dog finds some bread"]
    z = vae.encode(sentences).mu
    for method in ("greedy", "beam"):
        cfg = DecodeConfig(method=method, beam_size=3)
        before = vae.decode(z, cfg)
        # write the in-memory weights into a fresh run folder and load them back
        other = copy_run(trained_run, tmp_path / method)
        from textvae_core.checkpoint import weights_bytes

        (other / WEIGHTS).write_bytes(weights_bytes(vae.model, {"step": "0"}))
        again = TextVAE.load(other)
        assert again.decode(z, cfg) == before
        assert torch.equal(again.encode(sentences).mu, z)


def test_tampered_weights_are_refused(trained_run: Path, tmp_path: Path) -> None:
    run = copy_run(trained_run, tmp_path / "run")
    blob = bytearray((run / WEIGHTS).read_bytes())
    blob[-10] ^= 0xFF  # flip one byte of tensor data
    (run / WEIGHTS).write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="checksum"):
        load_run(run)


def test_truncated_weights_are_refused(trained_run: Path, tmp_path: Path) -> None:
    run = copy_run(trained_run, tmp_path / "run")
    blob = (run / WEIGHTS).read_bytes()
    for size in (4, 100, len(blob) // 2):
        (run / WEIGHTS).write_bytes(blob[:size])
        with pytest.raises(CheckpointError, match=r"truncated|not a readable|checksum"):
            load_run(run)


def test_vocabulary_from_another_run_is_refused(trained_run: Path, tmp_path: Path) -> None:
    run = copy_run(trained_run, tmp_path / "run")
    vocab = json.loads((run / VOCAB).read_text())
    vocab["tokens"].append("extra")
    (run / VOCAB).write_text(json.dumps(vocab))
    with pytest.raises(CheckpointError, match="another run"):
        load_run(run)
    cfg = json.loads((run / CONFIG).read_text())
    cfg["vocab_size"] += 1
    (run / CONFIG).write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="checksum differs"):  # the vocabulary's checksum, in the weights' header
        load_run(run)
    vocab["tokens"][-2:] = ["extra", vocab["tokens"][-2]]  # the same size as config.json says, one token moved
    (run / VOCAB).write_text(json.dumps(vocab))
    with pytest.raises(CheckpointError, match="a token was changed"):
        load_run(run)


def test_other_format_version_and_broken_config(trained_run: Path, tmp_path: Path) -> None:
    run = copy_run(trained_run, tmp_path / "run")
    cfg = json.loads((run / CONFIG).read_text())
    (run / CONFIG).write_text(json.dumps({**cfg, "format_version": 99}))
    with pytest.raises(CheckpointError, match="format version 99"):
        load_run(run)
    (run / CONFIG).write_text("{ not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        read_config(run)
    cfg["model"]["hidden"] = 7
    (run / CONFIG).write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="do not fit the architecture"):
        load_run(run)
    with pytest.raises(CheckpointError, match="no such run"):
        load_run(tmp_path / "missing")


class _Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {_Exploit.marker}",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_pickled_resume_file_cannot_run_code(trained_run: Path, tmp_path: Path) -> None:
    from textvae_core.checkpoint import load_resume

    run = copy_run(trained_run, tmp_path / "run")
    step = load_run(run).step
    _Exploit.marker = str(tmp_path / "pwned")
    with open(run / f"resume-{step}.pt", "wb") as fh:
        pickle.dump({"optimizer": _Exploit()}, fh)
    with pytest.raises(CheckpointError, match="unreadable resume state"):
        load_resume(run, step)
    assert not (tmp_path / "pwned").exists()


def test_killed_training_leaves_a_loadable_checkpoint_and_resumes(corpus_dir: Path, tmp_path: Path) -> None:
    """SIGKILL a training process at several moments; every time the run loads and resumes."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "textvae_core.train"]
    train_opts = ["--max_steps=100000", "--ckpt_every=2", "--batch_size=8", "--progress=false"]
    data = [f"--data.train={corpus_dir / 'train.txt'}", f"--data.valid={corpus_dir / 'valid.txt'}"]
    args = [*cmd, *data, "--size=tiny", f"--out={out}", *train_opts]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stderr=subprocess.PIPE)
    steps = []
    try:
        deadline = time.time() + 60
        while not (out / WEIGHTS).exists() and time.time() < deadline:
            time.sleep(0.05)
        for delay in (0.3, 0.17, 0.41):
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            run = load_run(out)  # never half-written
            assert (out / f"resume-{run.step}.pt").exists()
            steps.append(run.step)
            proc = subprocess.Popen([*cmd, f"--resume={out}", *train_opts], cwd=ROOT, env=env, stderr=subprocess.PIPE)
            time.sleep(0.5)
    finally:
        proc.kill()
        proc.wait()
    assert steps == sorted(steps) and steps[-1] > 0
    lines = [json.loads(line) for line in (out / METRICS).read_text().splitlines()]
    train_steps = [r["step"] for r in lines if r.get("split") == "train"]
    assert train_steps == sorted(train_steps), "a resumed run must not log replayed steps twice"


def test_weights_file_metadata(trained_run: Path) -> None:
    tensors, meta = read_weights(trained_run / WEIGHTS)
    assert meta["format_version"] == "1" and len(meta["tensor_sha256"]) == 64
    assert int(meta["step"]) == load_run(trained_run).step > 0
    assert "embedding.weight" in tensors


def test_exported_half_precision_run_loads_and_decodes_alike(trained_run: Path, tmp_path: Path) -> None:
    from textvae_core.checkpoint import export_run

    dst = export_run(trained_run, tmp_path / "shipped")
    assert not list(dst.glob("resume-*.pt"))
    assert (dst / WEIGHTS).stat().st_size < 0.6 * (trained_run / WEIGHTS).stat().st_size
    full, half = TextVAE.load(trained_run), TextVAE.load(dst)
    assert next(half.model.parameters()).dtype == torch.float32
    sents = ["the cat sees the river today", "a dog finds some bread", "my sister paints a red car"]
    assert torch.allclose(full.encode(sents).mu, half.encode(sents).mu, atol=1e-2)
    z = full.encode(sents).mu
    assert half.decode(z) == full.decode(z)


def test_int8_rows_come_back_within_half_a_step_of_their_scale() -> None:
    from textvae_core.checkpoint import INT8_SCALE, quantize_int8

    g = torch.Generator().manual_seed(0)
    w = torch.randn(64, 128, generator=g) * torch.logspace(-3, 1, 64)[:, None]  # rows of very different sizes
    w[3] = 0.0
    small, vec = torch.randn(8, 8, generator=g), torch.randn(128, generator=g)
    steps = torch.tensor([1, 2, 3])
    out, names = quantize_int8({"w": w, "small": small, "vec": vec, "steps": steps})
    assert names == ["w"] and out["w"].dtype == torch.int8 and out["w" + INT8_SCALE].shape == (64,)
    assert out["small"].dtype == out["vec"].dtype == torch.float16 and out["steps"].dtype == torch.int64
    back = out["w"].float() * out["w" + INT8_SCALE][:, None]
    step = w.abs().amax(1) / 127
    assert bool(((back - w).abs() <= step[:, None] / 2 + 1e-12).all())
    assert bool((back[3] == 0).all())


def test_int8_shipped_run_is_smaller_and_encodes_alike(
    bow_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetensors import safe_open

    from textvae_core import checkpoint
    from textvae_core.checkpoint import export_run

    monkeypatch.setattr(checkpoint, "INT8_MIN_NUMEL", 64)  # the tiny model's matrices count as large
    half = export_run(bow_run, tmp_path / "half")
    q = export_run(bow_run, tmp_path / "int8", dtype="int8")
    tensors, meta = read_weights(q / WEIGHTS)
    listed = json.loads(meta["int8"])
    assert meta["dtype"] == "int8" and "embedding.weight" in listed
    with safe_open(str(q / WEIGHTS), "pt") as f:
        assert {f.get_tensor(n).dtype for n in listed} == {torch.int8}
    assert all(t.dtype != torch.int8 for t in tensors.values())  # read back as floating point
    assert (q / WEIGHTS).stat().st_size < 0.75 * (half / WEIGHTS).stat().st_size
    full, small = TextVAE.load(bow_run), TextVAE.load(q)
    assert next(small.model.parameters()).dtype == torch.float32
    sents = ["the cat sees the river today", "a dog finds some bread", "my sister paints a red car"]
    mu = full.encode(sents).mu  # int8 rows keep ~1 % of each row's largest value: a relative tolerance
    assert torch.allclose(mu, small.encode(sents).mu, atol=5e-2, rtol=5e-2)
    again = export_run(q, tmp_path / "again", dtype="int8")  # re-exporting quantizes the same values again
    assert json.loads(read_weights(again / WEIGHTS)[1]["int8"]) == listed
    with pytest.raises(ConfigError, match="ship dtype 'int4'"):
        export_run(bow_run, tmp_path / "bad", dtype="int4")


def test_int8_weights_whose_parts_do_not_fit_are_refused(bow_run: Path, tmp_path: Path) -> None:
    from safetensors import safe_open

    from textvae_core.checkpoint import INT8_SCALE, export_run, tensors_bytes

    q = export_run(bow_run, tmp_path / "int8", dtype="int8")
    with safe_open(str(q / WEIGHTS), "pt") as f:
        raw = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (a safetensors handle is not iterable)
        meta = {k: v for k, v in f.metadata().items() if k not in {"format_version", "tensor_sha256"}}
    broken = copy_run(q, tmp_path / "broken")
    name = json.loads(meta["int8"])[0]
    no_scale = {k: v for k, v in raw.items() if k != name + INT8_SCALE}
    (broken / WEIGHTS).write_bytes(tensors_bytes(no_scale, meta))
    with pytest.raises(CheckpointError, match=f"'{name}' or its per-row scale"):
        load_run(broken)
    (broken / WEIGHTS).write_bytes(tensors_bytes(raw, {**meta, "int8": "[]"}))  # scales nobody claims
    with pytest.raises(CheckpointError, match="belong to no tensor"):
        load_run(broken)
    (broken / WEIGHTS).write_bytes(tensors_bytes(raw, {**meta, "int8": "{oops"}))
    with pytest.raises(CheckpointError, match="unreadable list of int8 tensors"):
        load_run(broken)


def test_coarsened_training_log_keeps_step_weighted_means_and_every_validation() -> None:
    import json
    import random

    from textvae_core.rundir import coarsen_metrics, parse_metrics

    rng = random.Random(0)
    lines, per_step = [], []
    for step in range(1, 38):
        rec = {
            "step": step,
            "epoch": step // 20,
            "split": "train",
            "rec": rng.uniform(20, 200),
            "kl": rng.uniform(0, 9),
        }
        per_step.append(rec)
        lines.append(json.dumps(rec))
        if step in (20, 37):
            lines.append(json.dumps({"step": step, "epoch": 1, "split": "valid", "rec": 99.5, "n_sentences": 10}))
    lines.insert(5, '{"step": 6, "split": "tr')  # a line cut off while being written: skipped
    out = coarsen_metrics(parse_metrics(lines), every=10, digits=12)
    train = [r for r in out if r["split"] == "train"]
    assert [r["step"] for r in train] == [10, 20, 30, 37]
    assert [r["steps_averaged"] for r in train] == [10, 10, 10, 7]
    kept = per_step
    for r, lo, hi in zip(train, (1, 11, 21, 31), (10, 20, 30, 37), strict=True):
        window = [p for p in kept if lo <= p["step"] <= hi]
        assert r["rec"] == pytest.approx(sum(p["rec"] for p in window) / len(window))
    assert [r["step"] for r in out if r["split"] == "valid"] == [20, 37]
    # coarsening again to a multiple of the window weighs each record by the steps it stands for
    twice = [r for r in coarsen_metrics(out, every=20, digits=12) if r["split"] == "train"]
    first_20 = [p for p in kept if p["step"] <= 20]
    assert twice[0]["rec"] == pytest.approx(sum(p["rec"] for p in first_20) / len(first_20))
    assert twice[0]["steps_averaged"] == 20


@pytest.fixture(scope="module")
def bow_run(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny run trained with the bag-of-words head (a training-only part)."""
    from helpers import tiny_config

    from textvae_core.train import train

    out = tmp_path_factory.mktemp("bow") / "run"
    cfg = tiny_config(corpus_dir, out, "beta-c", C=3.0, bow=1.0)
    cfg.model.bow_head = True
    train(cfg)
    return out


def test_shipped_run_leaves_out_the_bag_of_words_head_and_still_loads(bow_run: Path, tmp_path: Path) -> None:
    from textvae_core.checkpoint import TRAINING_ONLY_PARTS, export_run, weights_bytes

    assert TRAINING_ONLY_PARTS == ("bow_head",)
    full_tensors, _ = read_weights(bow_run / WEIGHTS)
    assert any(k.startswith("bow_head.") for k in full_tensors)
    dst = export_run(bow_run, tmp_path / "shipped")
    tensors, meta = read_weights(dst / WEIGHTS)
    assert not any(k.startswith("bow_head.") for k in tensors)
    assert json.loads(meta["dropped_parts"]) == ["bow_head"]
    full, slim = TextVAE.load(bow_run), TextVAE.load(dst)
    assert slim.model.bow_head is None
    sents = ["the cat sees the river today", "a dog finds some bread"]
    z = full.encode(sents).mu
    assert torch.allclose(z, slim.encode(sents).mu, atol=1e-2)
    short = DecodeConfig(max_len=12)  # a tiny model's long greedy loops differ after float16 rounding, far in
    assert slim.decode(z, short) == full.decode(z, short)
    again = export_run(dst, tmp_path / "again")  # exporting a shipped run keeps saying what it left out
    assert json.loads(read_weights(again / WEIGHTS)[1]["dropped_parts"]) == ["bow_head"]

    # the same tensors without the declaration: a truncated state dict, refused
    undeclared = copy_run(dst, tmp_path / "undeclared")
    meta = {k: v for k, v in meta.items() if k not in {"dropped_parts", "format_version", "tensor_sha256"}}
    model = load_run(dst).model
    (undeclared / WEIGHTS).write_bytes(weights_bytes(model, meta))
    with pytest.raises(CheckpointError, match="do not fit the architecture"):
        load_run(undeclared)
    # a declaration naming a part the model needs: refused too
    (undeclared / WEIGHTS).write_bytes(weights_bytes(model, {**meta, "dropped_parts": '["decoder"]'}))
    with pytest.raises(CheckpointError, match="only \\['bow_head'\\] may be left out"):
        load_run(undeclared)


def test_a_tied_run_saves_its_embedding_once_and_ships_alike(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tie_embeddings: the weights file, the weight average and an int8 export hold E once (as
    embedding.weight), and every one of them loads back into a model whose output layer is that E."""
    from helpers import tiny_config

    from textvae_core import checkpoint
    from textvae_core.checkpoint import export_run
    from textvae_core.rundir import AVERAGE_WEIGHTS
    from textvae_core.train import train

    cfg = tiny_config(corpus_dir, tmp_path / "tied", "beta-c", C=3.0)
    cfg.model.tie_embeddings, cfg.model.hidden = True, 2 * cfg.model.emb_dim
    cfg.train.average_from = 0.5
    train(cfg)
    run = tmp_path / "tied"
    for name in (WEIGHTS, AVERAGE_WEIGHTS):
        tensors, _ = read_weights(run / name)
        assert "out.weight" not in tensors and {"embedding.weight", "out_proj.weight", "out.bias"} <= set(tensors)
    model = load_run(run).model
    assert torch.equal(model.out.weight[4:], model.embedding.weight[4:])
    monkeypatch.setattr(checkpoint, "INT8_MIN_NUMEL", 64)
    shipped = export_run(run, tmp_path / "int8", dtype="int8")
    full, small = TextVAE.load(run), TextVAE.load(shipped)
    assert torch.equal(small.model.out.weight[4:], small.model.embedding.weight[4:])
    sents = ["the cat sees the river today", "a dog finds some bread"]
    mu = full.encode(sents).mu  # int8 rows keep ~1 % of each row's largest value: a relative tolerance
    assert torch.allclose(mu, small.encode(sents).mu, atol=5e-2, rtol=5e-2)
