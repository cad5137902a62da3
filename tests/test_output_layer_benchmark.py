"""benchmarks/output_layer.py runs at a tiny size and says how much of the fused loss its products are."""

from __future__ import annotations

import re

import pytest

from tests.helpers import load_script


def test_output_layer_benchmark_prints_both_precisions(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_script("output_layer", folder="benchmarks")
    assert bench.main(["--rows", "16", "--hidden", "8", "--vocab", "40", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "float32:" in out and "bfloat16:" in out
    shares = [int(s) for s in re.findall(r"the products are (\d+)% of it", out)]
    assert len(shares) == 2  # at this size the share itself is noise
    assert re.search(r"bf16 / fp32, fused loss: \d+\.\d\d× faster", out)
