"""benchmarks/precision_probe.py runs a tiny configuration through its four runs a round and reports them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import load_script, tiny_config
from textvae_core.device import cpu_has_bf16


def test_precision_benchmark_times_the_probe_and_every_mode(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "tiny.json"
    tiny_config(corpus_dir, tmp_path / "unused", "vae").save(config)
    bench = load_script("precision_probe", folder="benchmarks")
    scratch = tmp_path / "scratch"
    argv = ["--config", str(config), "--threads", "1", "--steps", "12", "--rounds", "1", "--scratch", str(scratch)]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    # a tiny model is under the probe's 1M weights: no probe, and the first run keeps train.amp
    line = re.search(
        r"round 1: no probe \(.*\) → trains in (bf16|fp32); whole runs, tok/s: fp32 ([\d,]+) \(1.00×\), "
        r"bf16 matmul ([\d,]+) \([\d.]+×\), bf16 ([\d,]+) \([\d.]+×\)",
        out,
    )
    assert line and line[1] == ("bf16" if cpu_has_bf16() else "fp32")
    assert all(int(v.replace(",", "")) > 0 for v in line.groups()[1:])
    assert re.search(r"the pick was the fastest mode in [01] of 1 round\(s\)", out)
    assert sorted(p.name for p in scratch.iterdir()) == [
        "bf16",
        "bf16-matmul",
        "fp32",
        "probe",
    ]  # a given scratch is kept
