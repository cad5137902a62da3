"""Train the paper-size grid on one GPU in one short run, and bring the results back in a few files.

A GPU is lent briefly (one command of at most 10 minutes, about 15 in all) and only a few files come
back from it (at most 8, 16 MiB each, 64 MiB in all). So this script does three things:

    python -m experiments.gpu_grid train [GROUP|RUN …] --budget_min 8.5     # on the GPU machine
    python -m experiments.gpu_grid pack --out $OUT                            # same machine, files to bring back
    python -m experiments.gpu_grid unpack DIR                                 # here: into checkpoints/

``train`` runs the chosen runs of experiments/grid.toml (default: the β_C Table 1 group, the three
sweeps, their long ends and the likelihood-tuned run) as parallel processes on the one GPU, longest first,
with bfloat16 autocast. Each run is stopped with a checkpoint when the budget is spent (train.max_minutes,
so a run that cannot finish still ships what it learned, and --resume goes on from it later), then
evaluated there (the grid profile) and made small for shipping (float16 weights, a thinned log). GPU load
and memory are sampled every second (nvidia-smi) and every run's tokens/s read from its log: both go into
WORK/report.json. ``pack`` writes the finished runs as one tar cut into parts within the transfer limits,
with a manifest of SHA-256 sums; runs that do not fit are left for a second ``pack`` (it skips what an
earlier one packed). ``unpack`` checks the sums, extracts only run files, loads every run to be sure it
is whole, and puts it in checkpoints/ (then: commit it, and ``python -m experiments.train_grid RUN --map``
writes its latent map on the CPU).

The GPU machine's own python3 holds torch; packages it lacks (rouge-score and nltk, for reconstruction
scores) travel as wheels: ``pip download rouge-score==0.1.2 nltk --no-deps -d wheels`` here, then
``pip install --no-index wheels/*`` there. The CPU path (``--device cpu``) is what the tests run.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from experiments.grid import GRID_FILE, GridRun, load_grid, ship, shipped, target_steps
from textvae_core.cli import parse_dataclass, positional, run_main
from textvae_core.paths import CHECKPOINTS, ROOT
from textvae_core.rundir import CONFIG, EVAL, METRICS, SETUP, VOCAB, WEIGHTS, has_weights, read_metrics, weights_step

DEFAULT_GROUPS = ["betac", "sweep-lstm", "sweep-gru", "sweep-cnn", "sweep-long", "record"]
RUN_FILES = (CONFIG, SETUP, VOCAB, WEIGHTS, EVAL, METRICS)  # what a shipped run folder holds (its map is made later)
MANIFEST = "manifest.json"
PART = "runs.tar.part{:02d}"
MIB = 1 << 20


@dataclass
class Options:
    args: list[str] = positional()  # train | pack | unpack, then run or group names (train) or a folder (unpack)
    grid: str = str(GRID_FILE)  # grid file whose runs are trained
    work: str = "runs/gpu"  # where runs train, with report.json and the pack record
    device: str = "cuda"  # cuda (the GPU machine) | cpu (tests) | cuda:N
    parallel: int = 0  # runs trained at once; 0 = as many as there are runs, at most the CPU cores and 16
    budget_min: float = 8.5  # wall minutes for the whole train command: training, evaluation and shipping
    eval_min: float = 1.5  # of the budget, minutes kept for evaluating the last runs after training stops
    profile: str = "grid"  # evaluation profile run on each finished run (grid, as every shipped eval.json)
    out: str = ""  # pack: the folder whose files come back ($OUT)
    part_mb: float = 15.5  # pack: MiB per part file (the transfer takes files of at most 16 MiB)
    max_files: int = 8  # pack: files that may come back, the manifest included
    max_total_mb: float = 63.0  # pack: MiB that may come back in all
    into: str = str(CHECKPOINTS)  # unpack: where the runs go


# -- train -------------------------------------------------------------------------------------------------
def chosen_runs(names: list[str], grid: Path) -> list[GridRun]:
    runs = load_grid(grid)
    names = names or DEFAULT_GROUPS
    picked = list({r.name: r for n in names for r in runs if n in ("all", r.name, r.group)}.values())
    if not picked:
        raise SystemExit(f"error: no run or group named {names} in {grid}")
    return picked


def cost(run: GridRun) -> float:
    """A run's work, to start the longest first: steps × (embedding + hidden)² as a proxy for FLOPs."""
    cfg = run.config("cpu")
    return target_steps(cfg) * cfg.train.batch_size * (cfg.model.emb_dim + cfg.model.hidden) ** 2


class GpuSampler(threading.Thread):
    """nvidia-smi's GPU load and memory, once a second, while training runs (nothing without nvidia-smi)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []  # (utilisation %, memory MiB)
        self.halt = threading.Event()

    def run(self) -> None:
        exe = shutil.which("nvidia-smi")
        query = [exe, "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"] if exe else None
        while query and not self.halt.wait(1.0):
            try:
                line = subprocess.run(query, capture_output=True, text=True, timeout=5).stdout.splitlines()[0]
                util, mem = (float(x) for x in line.split(","))
                self.samples.append((util, mem))
            except (OSError, ValueError, IndexError, subprocess.SubprocessError):
                continue

    def summary(self) -> dict[str, float] | None:
        if not self.samples:
            return None
        utils = [u for u, _ in self.samples]
        return {
            "samples": len(utils),
            "mean_util_pct": round(statistics.mean(utils), 1),
            "busy_share": round(sum(u >= 50 for u in utils) / len(utils), 3),
            "peak_mem_mib": max(m for _, m in self.samples),
        }


def run_one(run: GridRun, work: Path, opts: Options, deadline: float, threads: int) -> dict:
    """Train (or resume) one run until it ends or the budget does, then evaluate and ship it."""
    out = work / run.name
    cfg = run.config(opts.device, threads)
    cfg.train.out, cfg.train.progress = str(out), False
    cfg.train.max_minutes = max(0.1, (deadline - time.monotonic()) / 60 - opts.eval_min)
    py = [sys.executable]
    t0 = time.monotonic()
    if has_weights(out):
        cmd = [*py, "-m", "textvae_core.train", "--resume", str(out), f"--train.device={opts.device}",
               f"--train.max_minutes={cfg.train.max_minutes:.2f}", f"--train.num_threads={threads}"]  # fmt: skip
    else:
        work.mkdir(parents=True, exist_ok=True)
        config = work / f"{run.name}.config.json"
        config.write_text(json.dumps(cfg.to_dict(), indent=2))
        cmd = [*py, "-m", "textvae_core.train", "--config", str(config)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    record = {"run": run.name, "exit": done.returncode, "train_s": round(time.monotonic() - t0, 1)}
    if done.returncode not in (0, 4):  # 4: stopped by the time limit, with a checkpoint
        record["error"] = (done.stderr.strip().splitlines() or ["?"])[-1]
        return record
    steps = [r for r in read_metrics(out, "train") if r.get("tok_per_s")]
    record.update(
        step=weights_step(out),
        target=target_steps(cfg),
        tok_per_s=round(statistics.median(r["tok_per_s"] for r in steps[len(steps) // 5 :]), 1) if steps else None,
    )
    t1 = time.monotonic()
    ev = [*py, "-m", "textvae_core.evaluate", str(out), f"--profile={opts.profile}", f"--device={opts.device}",
          f"--threads={threads}"]  # fmt: skip
    evaluated = subprocess.run(ev, cwd=ROOT, capture_output=True, text=True)
    record["eval_s"] = round(time.monotonic() - t1, 1)
    if evaluated.returncode != 0:
        record["error"] = "evaluation: " + (evaluated.stderr.strip().splitlines() or ["?"])[-1]
        return record
    if not shipped(out, run.ship_dtype):
        ship(out, dtype=run.ship_dtype)
    record["weights_mb"] = round((out / WEIGHTS).stat().st_size / MIB, 2)
    return record


def train(opts: Options, names: list[str]) -> int:
    runs = sorted(chosen_runs(names, Path(opts.grid)), key=cost, reverse=True)
    work = ROOT / opts.work if not Path(opts.work).is_absolute() else Path(opts.work)
    cores = os.cpu_count() or 1
    parallel = opts.parallel or min(len(runs), cores, 16)
    threads = max(1, cores // parallel)
    deadline = time.monotonic() + 60 * opts.budget_min
    sampler = GpuSampler()
    sampler.start()
    started = time.monotonic()
    results: list[dict] = []
    pending = list(runs)
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not pending or time.monotonic() > deadline - 60 * opts.eval_min:
                    return
                run = pending.pop(0)
            result = run_one(run, work, opts, deadline, threads)
            with lock:
                results.append(result)
                print(json.dumps(result), flush=True)

    workers = [threading.Thread(target=worker) for _ in range(parallel)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    sampler.halt.set()
    wall = time.monotonic() - started
    rates = [r["tok_per_s"] for r in results if r.get("tok_per_s")]
    report = {
        "device": opts.device,
        "parallel": parallel,
        "threads_per_run": threads,
        "budget_min": opts.budget_min,
        "wall_s": round(wall, 1),
        "runs": results,
        "not_started": [r.name for r in pending],
        "sum_tok_per_s": round(sum(rates), 1),
        "gpu": sampler.summary(),
    }
    (work / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=2))
    return 0 if all("error" not in r for r in results) else 1


# -- pack and unpack ---------------------------------------------------------------------------------------
def pack(opts: Options) -> int:
    """The finished runs not packed before, as a tar cut into parts, within the transfer's limits."""
    work = ROOT / opts.work if not Path(opts.work).is_absolute() else Path(opts.work)
    out = Path(opts.out or sys.exit("error: pack needs --out (the folder whose files come back)"))
    out.mkdir(parents=True, exist_ok=True)
    record_file = work / "packed.json"
    packed_before = set(json.loads(record_file.read_text())) if record_file.exists() else set()
    ready = sorted(
        p.name
        for p in work.iterdir()
        if p.is_dir() and (p / EVAL).exists() and shipped(p) and p.name not in packed_before
    )
    report = work / "report.json"
    room = min(opts.max_total_mb * MIB, (opts.max_files - 1 - report.exists()) * opts.part_mb * MIB)
    room -= 64 * 1024  # the manifest and the tar's own headers
    chosen, size = [], 0
    for name in ready:
        run_size = sum((work / name / f).stat().st_size + 1024 for f in RUN_FILES if (work / name / f).exists())
        if size + run_size > room:
            continue  # does not fit this time: the next pack takes it
        chosen.append(name)
        size += run_size
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in chosen:
            for f in RUN_FILES:
                if (work / name / f).exists():
                    tar.add(work / name / f, arcname=f"{name}/{f}")
    blob = buf.getvalue() if chosen else b""
    part_bytes = int(opts.part_mb * MIB)
    parts = []
    for i in range(math.ceil(len(blob) / part_bytes) if blob else 0):
        chunk = blob[i * part_bytes : (i + 1) * part_bytes]
        (out / PART.format(i + 1)).write_bytes(chunk)
        parts.append({"file": PART.format(i + 1), "sha256": hashlib.sha256(chunk).hexdigest(), "bytes": len(chunk)})
    left = [n for n in ready if n not in chosen]
    manifest = {"runs": chosen, "parts": parts, "sha256": hashlib.sha256(blob).hexdigest(), "left": left}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    if report.exists():
        shutil.copy(report, out / "report.json")
    record_file.write_text(json.dumps(sorted(packed_before | set(chosen))))
    print(
        f"packed {len(chosen)} run(s) in {len(parts)} part(s), {len(blob) / MIB:.1f} MiB; left for the next pack: {left}"
    )
    return 0


def unpack(folder: Path, into: Path) -> int:
    """Check the parts against the manifest, extract run files only, load each run, then move it into place."""
    from textvae_core.checkpoint import load_run

    manifest = json.loads((folder / MANIFEST).read_text())
    blob = b""
    for part in manifest["parts"]:
        data = (folder / part["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != part["sha256"]:
            raise SystemExit(f"error: {part['file']} is damaged (SHA-256 differs from the manifest); nothing unpacked")
        blob += data
    if hashlib.sha256(blob).hexdigest() != manifest["sha256"]:
        raise SystemExit("error: the parts do not make up the packed archive; nothing unpacked")
    into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=into) as tmp, tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        for member in tar.getmembers():
            name, _, file = member.name.partition("/")
            if not member.isfile() or file not in RUN_FILES or name not in manifest["runs"] or "/" in file:
                raise SystemExit(f"error: {member.name!r} is not a run file; nothing unpacked")
        tar.extractall(tmp, filter="data")
        for name in manifest["runs"]:
            load_run(Path(tmp) / name)  # refuses a run whose weights, vocabulary and config disagree
        for name in manifest["runs"]:
            if (into / name).exists():
                shutil.rmtree(into / name)
            os.replace(Path(tmp) / name, into / name)
    print(f"unpacked {len(manifest['runs'])} run(s) into {into}: {', '.join(manifest['runs'])}")
    if manifest.get("left"):
        print(f"not in this pack (run pack again on the GPU machine): {', '.join(manifest['left'])}")
    return 0


def main(argv: list[str] | None = None) -> int:
    opts = parse_dataclass(Options, argv, "python -m experiments.gpu_grid", __doc__)
    action, rest = (opts.args[0], opts.args[1:]) if opts.args else ("", [])
    if action == "train":
        return train(opts, rest)
    if action == "pack":
        return pack(opts)
    if action == "unpack" and len(rest) == 1:
        return unpack(Path(rest[0]), Path(opts.into))
    print("error: say train [RUN|GROUP …], pack --out DIR, or unpack DIR (see --help)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    run_main(main)
