"""Property-based tests (Hypothesis): random option values and random byte corpora thrown at the training CLI
and at the upload checks. Every outcome is a trained run that loads (exit 0), or exit 2 with one line that
starts with ``error:``; a raw exception fails the test (the CLI runs in this process). A loss that turns
non-finite under an lr the bounds allow is exit 3 with one line (the run stops before a bad update)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from explorer import training
from textvae_core import train as train_cli
from textvae_core.checkpoint import load_run
from textvae_core.corpus import CorpusError
from textvae_core.rundir import WEIGHTS

FLOATS = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, 1.5, 2.0, 1e300]),
    st.floats(min_value=-2.0, max_value=2.0, allow_nan=False),
)
SMALL_INTS = st.integers(min_value=-3, max_value=12)
TEXT = st.text(alphabet="abcxyz-_0.,;$ /\\\n\x00", max_size=8)
# option → values, invalid ones included; sizes stay small when valid so every draw trains in a second
OPTIONS = {
    "lr": st.one_of(FLOATS, st.just(1e-3)),
    "batch_size": SMALL_INTS,
    "epochs": st.one_of(FLOATS, st.just(0.5)),
    "max_steps": SMALL_INTS,
    "model.dropout": FLOATS,
    "model.emb_dropout": FLOATS,
    "word_dropout": FLOATS,
    "z_dim": SMALL_INTS,
    "hidden": SMALL_INTS,
    "emb_dim": SMALL_INTS,
    "grad_clip": FLOATS,
    "objective.beta": FLOATS,
    "objective.m": FLOATS,
    "objective.C": st.one_of(FLOATS, st.just("none")),
    "free_bits": FLOATS,
    "lr_decay": FLOATS,
    "min_len": SMALL_INTS,
    "max_len": SMALL_INTS,
    "max_vocab": SMALL_INTS,
    "model.encoder": st.sampled_from(["lstm", "gru", "cnn", "transformer", ""]),
    "model.latent": st.sampled_from(["dense", "fmp", "ladder", "sphere"]),
    "schedule": st.sampled_from(["constant", "linear", "cyclical", "exp"]),
    "keep_best": st.sampled_from(["", "rec", "loss"]),
    "device": st.sampled_from(["cpu", "auto", "gpu", "cuda:x"]),
    "level": st.sampled_from(["word", "char", "byte"]),
    "lowercase": st.sampled_from(["true", "false", "maybe"]),
    "seed": st.one_of(SMALL_INTS, TEXT),
    "log_every": st.one_of(SMALL_INTS, TEXT),
}
CORPUS_WORDS = st.lists(st.sampled_from(["the", "cat", "a", "dog", "sees", "é", "猫", "<unk>", "\t"]), min_size=1)


def one_line_or_run(code: int, err: str, out: Path) -> None:
    event(f"exit status {code}")  # --hypothesis-show-statistics: how often each outcome was drawn
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("note: ")]
    if code == 0:
        assert (out / WEIGHTS).exists() and load_run(out).step >= 1
    elif code == 2:
        assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) < 2000, err
    elif code == 3:
        assert len(lines) == 1 and lines[0].startswith("stopped: non-finite"), err
    else:
        raise AssertionError(f"exit status {code}: {err}")


_count = itertools.count()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(options=st.dictionaries(st.sampled_from(sorted(OPTIONS)), st.none(), max_size=3).flatmap(
    lambda keys: st.fixed_dictionaries({k: OPTIONS[k] for k in keys})))  # fmt: skip
def test_random_options_give_a_run_or_one_line(
    options: dict[str, object], corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"run{next(_count)}"
    argv = [f"--data.train={corpus_dir / 'valid.txt'}", f"--data.valid={corpus_dir / 'test.txt'}",
            "--size=tiny", "--batch_size=32", "--max_steps=2", "--num_threads=1", "--progress=false", f"--out={out}"]  # fmt: skip
    argv += [f"--{k}={v}" for k, v in options.items()]
    capsys.readouterr()
    code = train_cli.main(argv)
    one_line_or_run(code, capsys.readouterr().err, out)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.lists(CORPUS_WORDS, min_size=1, max_size=40).map(lambda ls: "\n".join(" ".join(w) for w in ls).encode()),
    ),
    bom=st.booleans(),
)
def test_random_corpora_give_a_run_or_one_line(
    data: bytes, bom: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n = next(_count)
    corpus = tmp_path / f"corpus{n}.txt"
    corpus.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    out = tmp_path / f"run{n}"
    argv = [f"--data.train={corpus}", "--data.valid=", "--size=tiny", "--max_steps=2", "--num_threads=1",
            "--progress=false", f"--out={out}"]  # fmt: skip
    capsys.readouterr()
    code = train_cli.main(argv)
    one_line_or_run(code, capsys.readouterr().err, out)
    if code == 0:
        assert not any(t.startswith("\ufeff") for t in load_run(out).vocab.itos)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000), name=st.text(max_size=30))
def test_random_uploads_are_accepted_or_refused_with_a_message(data: bytes, name: str, tmp_path: Path) -> None:
    try:
        upload = training.check_upload(data, name or "upload.txt")
    except CorpusError as err:
        assert str(err).strip() and "Traceback" not in str(err)
        return
    paths, fmt = training.save_upload(tmp_path, upload)
    assert fmt in ("text", "labelled") and all(Path(p).is_relative_to(tmp_path) for p in paths.values())
