"""benchmarks/output_layer.py runs at a tiny size and says how much of the fused loss its products are."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest

from textvae_core.paths import ROOT


def test_output_layer_benchmark_prints_both_precisions(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("output_layer", ROOT / "benchmarks" / "output_layer.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules["output_layer"] = bench  # dataclasses look their module up
    spec.loader.exec_module(bench)
    assert bench.main(["--rows", "16", "--hidden", "8", "--vocab", "40", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "float32:" in out and "bfloat16:" in out
    shares = [int(s) for s in re.findall(r"the products are (\d+)% of it", out)]
    assert len(shares) == 2  # at this size the share itself is noise
    assert re.search(r"bf16 / fp32, fused loss: \d+\.\d\d× faster", out)
