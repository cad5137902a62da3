"""The anchor driver (timbmg/Sentence-VAE run unmodified) and our Trainer at its defaults.

The parsing and token counting are tested on output lines written here in the anchor's format; the
driver end to end runs the real anchor when TEXTVAE_ANCHOR_SVAE (its source folder) and
TEXTVAE_ANCHOR_PYTHON (a python with torch, numpy, nltk, tensorboardX) are set, and is skipped otherwise.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from experiments.anchors import matched
from experiments.anchors import sentence_vae as svae
from textvae_core.config import RunConfig
from textvae_core.objectives import beta_at
from textvae_core.paths import ROOT

# What the anchor prints for 2 epochs of 3 iterations (print_every 50: batch 0 and the last batch),
# stamped as run_stamped stamps it; the model's repr and a warning in between, as in a real log.
LOG = """\
2.501 SentenceVAE(
2.502   (embedding): Embedding(9877, 300)
2.503 )
4.000 TRAIN Batch 0000/2, Loss  196.7943, NLL-Loss  196.7935, KL-Loss    0.4125, KL-Weight  0.002
4.100 /venv/lib/python3.12/site-packages/torch/nn/modules/rnn.py:1: UserWarning: something
7.000 TRAIN Batch 0002/2, Loss  180.1000, NLL-Loss  180.0000, KL-Loss    0.7174, KL-Weight  0.002
7.250 TRAIN Epoch 00/2, Mean ELBO  190.5000
7.400 Model saved at bin/2026-Nov-28-11:53:04/E0.pytorch
8.000 VALID Batch 0000/0, Loss  212.0685, NLL-Loss  212.0669, KL-Loss    0.7781, KL-Weight  0.002
8.500 VALID Epoch 00/2, Mean ELBO  212.0685
9.000 TRAIN Batch 0000/2, Loss  170.0000, NLL-Loss  169.9000, KL-Loss    2.0000, KL-Weight  0.002
11.750 TRAIN Epoch 01/2, Mean ELBO  165.2500
11.900 Model saved at bin/2026-Nov-28-11:53:04/E1.pytorch
12.600 VALID Epoch 01/2, Mean ELBO  160.1250
"""


def stamped_lines() -> list[tuple[float, str]]:
    return [(float(t), text) for t, _, text in (raw.partition(" ") for raw in LOG.splitlines())]


def test_parse_log_reads_the_timing_marks_of_every_epoch(tmp_path: Path) -> None:
    path = tmp_path / "train.log"
    path.write_text("".join(svae.format_stamped(t, s) for t, s in stamped_lines()))
    log = svae.parse_log(svae.read_stamped(path))
    assert log.first_batch_s == 4.0 and log.train_batches == 3  # 'Batch 0000/2' of the first epoch only
    assert [(e.epoch, e.train_end_s, e.train_elbo) for e in log.epochs] == [(0, 7.25, 190.5), (1, 11.75, 165.25)]
    assert [e.checkpoint for e in log.epochs] == [
        "bin/2026-Nov-28-11:53:04/E0.pytorch",
        "bin/2026-Nov-28-11:53:04/E1.pytorch",
    ]
    assert [(e.valid_end_s, e.valid_elbo) for e in log.epochs] == [(8.5, 212.0685), (12.6, 160.125)]
    run = svae.AnchorRun(tmp_path, log, [])
    assert run.checkpoint_dir == tmp_path / "bin/2026-Nov-28-11:53:04"


def test_iteration_rate_times_all_but_the_first_iteration_and_counts_their_share_of_the_tokens() -> None:
    log = svae.parse_log(stamped_lines())
    rate = svae.iteration_rate(log, subset_tokens=2400, iterations=3)
    assert rate.steps == 2 and rate.sentences == 64
    assert rate.seconds == pytest.approx(7.25 - 4.0)
    assert rate.tokens == pytest.approx(1600)  # 2 of 3 iterations: (N − 1)/N of the subset's tokens
    assert rate.tokens_per_s == pytest.approx(1600 / 3.25)
    with pytest.raises(svae.AnchorError, match="3 iterations per epoch, 200 expected"):
        svae.iteration_rate(log, 2400, 200)
    with pytest.raises(svae.AnchorError, match="no 'TRAIN Batch 0000"):
        svae.iteration_rate(svae.parse_log([(1.0, "Traceback (most recent call last):")]), 2400, 3)


def fake_prepared(folder: Path, n_train: int = 50, n_valid: int = 10) -> Path:
    """A data folder shaped as the anchor's preprocessing leaves it (json entries per line, 'length' = targets)."""
    folder.mkdir(parents=True)
    entry = lambda i: {"input": [2, 4 + i], "target": [4 + i, 3], "length": 1 + i % 7}  # noqa: E731
    (folder / "ptb.train.json").write_text(json.dumps({str(i): entry(i) for i in range(n_train)}))
    (folder / "ptb.valid.json").write_text(json.dumps({str(i): entry(i) for i in range(n_valid)}))
    (folder / "ptb.vocab.json").write_text(json.dumps({"w2i": {"<pad>": 0}, "i2w": {"0": "<pad>"}}))
    for split in svae.SPLITS:
        (folder / f"ptb.{split}.txt").write_text("a b\n")
    return folder


def test_make_subset_keeps_seeded_sentences_and_sums_their_lengths(tmp_path: Path) -> None:
    prepared = fake_prepared(tmp_path / "prep")
    sub = svae.make_subset(prepared, tmp_path / "sub", n_train=12, n_valid=4, seed=3)
    again = svae.make_subset(prepared, tmp_path / "sub2", n_train=12, n_valid=4, seed=3)
    other = svae.make_subset(prepared, tmp_path / "sub3", n_train=12, n_valid=4, seed=4)
    assert sub.train_lines == again.train_lines != other.train_lines
    assert len(set(sub.train_lines)) == 12 and sub.valid_lines == [0, 1, 2, 3]
    assert sub.train_tokens == sum(1 + i % 7 for i in sub.train_lines)  # the 'length' fields of those lines
    written = json.loads((sub.data_dir / "ptb.train.json").read_text())
    assert sorted(written, key=int) == [str(i) for i in range(12)]  # renumbered: the anchor indexes by str(i)
    assert [written[str(i)]["target"][0] - 4 for i in range(12)] == sub.train_lines
    assert len(json.loads((sub.data_dir / "ptb.valid.json").read_text())) == 4
    assert (sub.data_dir / "ptb.vocab.json").is_file() and (sub.data_dir / "ptb.test.txt").is_file()
    full = svae.make_subset(prepared, tmp_path / "full")
    assert full.train_lines == list(range(50)) and full.train_tokens == sum(1 + i % 7 for i in range(50))
    with pytest.raises(svae.AnchorError, match="51 training sentences"):
        svae.make_subset(prepared, tmp_path / "big", n_train=51)


def test_anchor_at_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("")
    with pytest.raises(svae.AnchorError, match=r"missing model\.py, ptb\.py, utils\.py"):
        svae.Anchor.at(tmp_path, "/usr/bin/python3")
    for name in svae.SOURCE_FILES:
        (tmp_path / name).write_text("")
    with pytest.raises(svae.AnchorError, match="no such interpreter"):
        svae.Anchor.at(tmp_path, tmp_path / "nope" / "python")


def test_our_config_matches_the_anchor_s_defaults_and_its_anneal_midpoint() -> None:
    cfg = matched.sentence_vae_config("runs/x", amp=False, threads=1)
    m, t = cfg.model, cfg.train
    assert (m.encoder, m.decoder, m.emb_dim, m.hidden, m.z_dim, m.z_mode) == ("gru", "gru", 300, 256, 16, "init")
    assert (m.emb_dropout, t.word_dropout, t.batch_size, t.lr, t.grad_clip) == (0.5, 0.0, 32, 1e-3, 0.0)
    assert cfg.objective.schedule == "logistic" and cfg.data.min_count == 2
    anchor = lambda step: 1 / (1 + math.exp(-svae.KL_K * (step - svae.KL_X0)))  # noqa: E731
    assert beta_at(svae.KL_X0, cfg.objective) == pytest.approx(0.5) == anchor(svae.KL_X0)
    for step in (0, 1500, 3500, 5260):  # slope 0.002 against 0.0025: close, not equal
        assert abs(beta_at(step, cfg.objective) - anchor(step)) < 0.05
    assert beta_at(4 * 1315, cfg.objective) > 0.99  # both at full weight by the end of 4 epochs


def tiny_config(tmp_path: Path, lines: int = 100) -> RunConfig:
    words = [f"w{i}" for i in range(40)]
    for split, n in (("train", lines), ("valid", 20), ("test", 30)):
        text = "".join(" ".join(words[(i * 7 + j) % 40] for j in range(2 + i % 9)) + " \n" for i in range(n))
        (tmp_path / f"{split}.txt").write_text(text)
    cfg = matched.sentence_vae_config(str(tmp_path / "run"), amp=False, threads=1, epochs=2)
    cfg.data.train, cfg.data.valid, cfg.data.test = (str(tmp_path / f"{s}.txt") for s in ("train", "valid", "test"))
    cfg.data.min_count = 1
    return cfg


def test_our_side_trains_on_the_given_lines_and_snapshots_at_epoch_ends(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    lines = list(range(3, 99))  # 96 sentences: 3 batches of 32
    run = matched.train_with_snapshots(cfg, lines, [0, 1, 2, 3], snapshot_every=2)
    trainer = run.trainer
    assert len(trainer.train_set) == 96 and len(trainer.valid_set) == 4
    assert [s[1] for s in trainer.stamps] != [] and len(trainer.stamps) == 6  # 2 epochs of 3 updates
    read = [len(x.split()) + 1 for x in (tmp_path / "train.txt").read_text().splitlines()]
    assert sum(s[1] for s in trainer.stamps) == 2 * sum(read[i] for i in lines)  # words + <eos>, each epoch
    assert [s.step for s in run.snapshots] == [2, 3, 4, 6] and [s.epoch for s in run.snapshots] == [2 / 3, 1, 4 / 3, 2]
    assert all(a.seconds < b.seconds for a, b in zip(run.snapshots, run.snapshots[1:], strict=False))
    records = matched.evaluate_snapshots(run, limit=25)
    assert [r["step"] for r in records] == [2, 3, 4, 6]
    first, last = records[0], records[-1]
    assert first["n_sentences"] == 25
    assert first["n_tokens"] == sum(len(x.split()) + 1 for x in (tmp_path / "test.txt").read_text().splitlines()[:25])
    assert last["nll_bound"] == pytest.approx(last["rec"] + last["kl"])
    assert last["nll_bound_per_token"] == pytest.approx(last["nll_bound"] * 25 / last["n_tokens"])
    assert last["rec"] < first["rec"]  # 4 more updates on a 40-word corpus lower the distortion


def test_time_steps_times_all_but_the_first_update(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    rate = matched.time_steps(cfg, list(range(96)))
    assert rate.steps == 2 and rate.sentences == 64 and rate.seconds > 0
    read = [len(x.split()) + 1 for x in (tmp_path / "train.txt").read_text().splitlines()[:96]]
    assert 2 * 32 * min(read) <= rate.tokens <= 2 * 32 * max(read) and rate.tokens < sum(read)


def test_line_numbers_must_name_the_same_sentences(tmp_path: Path) -> None:
    cfg = tiny_config(tmp_path)
    path = Path(cfg.data.train)
    path.write_text(path.read_text() + "\n \n")  # blank lines: the anchor keeps them as sentences, we do not
    with pytest.raises(ValueError, match="line numbers would not match"):
        matched.train_with_snapshots(cfg)


ANCHOR_SRC = os.environ.get("TEXTVAE_ANCHOR_SVAE", "")
ANCHOR_PY = os.environ.get("TEXTVAE_ANCHOR_PYTHON", "")


@pytest.mark.skipif(
    not (ANCHOR_SRC and ANCHOR_PY),
    reason="no anchor checkout: set TEXTVAE_ANCHOR_SVAE to a timbmg/Sentence-VAE folder and TEXTVAE_ANCHOR_PYTHON "
    "to a python with torch, numpy, nltk and tensorboardX to run the anchor end to end",
)
def test_the_real_anchor_end_to_end(tmp_path: Path) -> None:
    """Its preprocessing (reused the second time), one epoch of 3 iterations, its checkpoint on the test split."""
    ptb = tmp_path / "ptb"
    ptb.mkdir()
    for split, n in (("train", 200), ("valid", 40), ("test", 40)):
        src = (ROOT / f"data/ptb/ptb.{split}.txt").read_text(encoding="utf-8").splitlines(keepends=True)
        (ptb / f"ptb.{split}.txt").write_text("".join(src[:n]), encoding="utf-8")
    anchor = svae.Anchor.at(ANCHOR_SRC, ANCHOR_PY, threads=1)
    data = svae.prepare(anchor, ptb, tmp_path / "work")
    prep_log = tmp_path / "work/prep/prep.log"
    mtime = prep_log.stat().st_mtime_ns
    assert svae.prepare(anchor, ptb, tmp_path / "work") == data and prep_log.stat().st_mtime_ns == mtime
    assert len(json.loads((data / "ptb.train.json").read_text())) == 200  # one entry per line

    sub = svae.make_subset(data, tmp_path / "sub", n_train=3 * svae.BATCH_SIZE, n_valid=32)
    entries = json.loads((sub.data_dir / "ptb.train.json").read_text())
    assert sub.train_tokens == sum(e["length"] for e in entries.values())
    assert all(e["target"][e["length"] - 1] == 3 for e in entries.values())  # the last counted token is <eos>

    run = svae.train(anchor, sub.data_dir, tmp_path / "run", epochs=1)
    assert run.log.train_batches == 3 and len(run.log.epochs) == 1
    e = run.log.epochs[0]
    assert 0 < run.log.first_batch_s < e.train_end_s < e.valid_end_s
    rate = svae.iteration_rate(run.log, sub.train_tokens, 3)
    assert rate.tokens == pytest.approx(sub.train_tokens * 2 / 3) and rate.tokens_per_s > 0

    [record] = svae.evaluate(anchor, run, sub.data_dir)
    test = json.loads((sub.data_dir / "ptb.test.json").read_text())  # written by the anchor's own PTB class
    assert record["n_sentences"] == len(test) == 40
    assert record["n_tokens"] == sum(x["length"] for x in test.values())
    assert record["seconds"] == e.train_end_s and record["epoch"] == 0
    assert record["nll_bound"] == pytest.approx(record["rec"] + record["kl"])
    assert record["nll_bound_per_token"] == pytest.approx(record["nll_bound"] * 40 / record["n_tokens"])
    vocab = json.loads((data / "ptb.vocab.json").read_text())["w2i"]
    assert 0 < record["rec"] * 40 / record["n_tokens"] < 1.5 * math.log(len(vocab))  # near a uniform guess, not off
