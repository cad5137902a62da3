"""UMAP's first fit in a fresh process, with and without the on-disk cache of numba's compiled code.

Each mode gets an empty cache folder and then runs ``--processes`` fresh Python processes one after
another; each process imports umap, fits the map of a shipped run (3,000 posterior + 500 prior points,
the app's settings) once — the first-fit cost a user waits for — and then again (warm, compiled in
memory). "numba default" is what umap does by itself (one of its functions is marked cache=True);
"cache all" is explorer.latent_map.umap_module, which marks every umap and pynndescent function.

    python -m benchmarks.umap_first_fit [--run checkpoints/ptb-lstm-bc15] [--processes 2]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from textvae_core.cli import parse_dataclass, run_main
from textvae_core.paths import ROOT, repo_path


@dataclass
class Options:
    run: str = "checkpoints/ptb-lstm-bc15"  # a run with a stored map (relative paths: to the repository)
    processes: int = 2  # fresh processes per mode, run one after another


CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from explorer.latent_map import MapConfig, load_map, umap_module
umap = umap_module()
t1 = time.perf_counter()
z = load_map(sys.argv[1]).z
cfg = MapConfig()
fit = lambda: umap.UMAP(n_neighbors=cfg.neighbours, min_dist=cfg.min_dist, random_state=cfg.seed, n_jobs=1).fit_transform(z)
a = fit(); t2 = time.perf_counter()
b = fit(); t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_fit": t2 - t1, "warm_fit": t3 - t2, "points": len(z), "same": bool(np.allclose(a, b))}))
"""


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m benchmarks.umap_first_fit", __doc__)
    results: dict[str, list[dict]] = {}
    for mode, switch in (("numba default", "0"), ("cache all", "1")):
        with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache, "TEXTVAE_NUMBA_CACHE": switch, "PYTHONPATH": str(ROOT)}
            for i in range(args.processes):
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(repo_path(args.run).resolve())],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                )
                if out.returncode:
                    raise SystemExit(out.stderr[-2000:])
                r = json.loads(out.stdout.strip().splitlines()[-1])
                results.setdefault(mode, []).append(r)
                print(f"{mode:<14} process {i + 1}: import {r['import']:5.1f} s, first fit {r['first_fit']:5.1f} s, "
                      f"warm fit {r['warm_fit']:5.1f} s ({r['points']} points)", flush=True)  # fmt: skip
    default, cached = results["numba default"], results["cache all"]
    later = lambda rs: sum(r["first_fit"] for r in rs[1:]) / max(1, len(rs) - 1)  # noqa: E731
    print(
        json.dumps(
            {
                "first_fit_first_process_s": round(cached[0]["first_fit"], 1),
                "first_fit_later_processes_default_s": round(later(default), 1),
                "first_fit_later_processes_cache_all_s": round(later(cached), 1),
                "warm_fit_s": round(sum(r["warm_fit"] for r in default + cached) / len(default + cached), 1),
                "speed_up_later_processes": round(later(default) / max(later(cached), 1e-9), 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    run_main(main)
