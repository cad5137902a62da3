"""Latency of the explorer's interactions on the shipped checkpoints (CPU unless CUDA is present).

    python -m benchmarks.app_latency [--runs checkpoints/ptb-lstm-bc3,…] [--repeats 3]

Warm figures are the median of ``--repeats`` calls after one untimed call (models loaded, caches of
torch and numba filled), which is what a user feels on the second click. Cold figures start a fresh
Python process. Goal on 2 CPU cores: each warm interaction under 1 s; the aggregated-posterior page of a
shipped run under 2 s from a cold start of the app.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from explorer.latent_map import corpus_for
from explorer.textlab import Endpoints, decode_config, homotopy_texts, reconstruct_table
from textvae_core.cli import parse_dataclass, run_main
from textvae_core.inference import TextVAE
from textvae_core.paths import CHECKPOINTS, ROOT
from textvae_core.rundir import LATENT_MAP
from textvae_core.timing import median_seconds


@dataclass
class Options:
    runs: list[str] = field(
        default_factory=list
    )  # run folders, comma-separated (default: the shipped runs with a latent map)
    repeats: int = 3  # timed calls per warm figure (their median), after one untimed call


POSTERIOR_COLD = r"""
import sys, time
t0 = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=300).run()
t1 = time.perf_counter()
at.switch_page("pages/posterior.py").run()
t2 = time.perf_counter()
assert not at.exception, [e.value for e in at.exception]
assert at.get("plotly_chart"), "no map drawn"
print(f"{t2 - t0:.3f} {t2 - t1:.3f}")
"""

UMAP_COLD = r"""
import time, numpy as np
t0 = time.perf_counter()
from explorer.latent_map import project
z = np.random.default_rng(0).normal(size=(5000, 32)).astype(np.float32)
t1 = time.perf_counter()
project(z, "umap")
t2 = time.perf_counter()
project(z, "umap")
t3 = time.perf_counter()
print(f"{t2 - t1:.3f} {t3 - t2:.3f}")
"""


def shipped_runs() -> list[Path]:
    return sorted(p.parent for p in CHECKPOINTS.glob(f"*/{LATENT_MAP}"))


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m benchmarks.app_latency", __doc__)
    runs = [Path(r) for r in args.runs] or shipped_runs()
    if not runs:
        print(
            "error: no runs with a latent map under checkpoints/ (python -m explorer.latent_map RUN)", file=sys.stderr
        )
        return 2
    models = [TextVAE.load(r) for r in runs]
    four = (models * 4)[:4]  # fewer than 4 shipped runs: the same ones again (same cost per run)
    sentences = corpus_for(runs[0])
    twenty = sentences[:20]
    beam = decode_config("beam", beam=5)
    greedy = decode_config("greedy")
    results: dict[str, float | str] = {"runs": ", ".join(r.name for r in runs), "device": str(models[0].device)}

    results["reconstruct 20 sentences × 4 runs, beam 5 (s)"] = median_seconds(
        lambda: [reconstruct_table(m, twenty, beam, True, 1) for m in four], args.repeats
    )
    ends = Endpoints("prior", seed=1)
    results["homotopy 10 steps × 3 runs, greedy (s)"] = median_seconds(
        lambda: [homotopy_texts(m, ends, 10, "linear", greedy) for m in (models * 3)[:3]], args.repeats
    )
    five_k = (sentences * (5000 // max(1, len(sentences)) + 1))[:5000]
    results["encode 5,000 sentences (s)"] = median_seconds(lambda: models[0].encode(five_k), args.repeats)

    out = subprocess.run(
        [sys.executable, "-c", POSTERIOR_COLD, str(ROOT / "app.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"TEXTVAE_RUNS": str(runs[0].parent), "PATH": "", "PYTHONPATH": str(ROOT)},
        check=True,
    ).stdout.split()
    results["posterior page, cold app: process start → page drawn (s)"] = float(out[0])
    results["posterior page, cold app: page script alone (s)"] = float(out[1])
    cold, warm_umap = map(
        float,
        subprocess.run(
            [sys.executable, "-c", UMAP_COLD],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": str(ROOT), "PATH": ""},
        ).stdout.split(),
    )
    results["UMAP of 5,000 × 32, first fit in a process (s)"] = cold
    results["UMAP of 5,000 × 32, second fit (s)"] = warm_umap
    for k, v in results.items():
        print(f"{k:<62} {v:.3f}" if isinstance(v, float) else f"{k:<62} {v}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    run_main(main)
