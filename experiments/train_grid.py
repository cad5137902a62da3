"""Train (or resume) the grid of PTB runs shipped in checkpoints/, one command per run or group.

    python -m experiments.train_grid --list
    python -m experiments.train_grid autogen            # every run of a group
    python -m experiments.train_grid ptb-lstm-bc15      # one run
    python -m experiments.train_grid all --evaluate     # then write eval.json for each finished run

The runs are data: experiments/grid.toml. Configs store data paths relative to the repository root,
so shipped runs work in any clone. A run that is complete is skipped; an interrupted one resumes from
its last checkpoint. Two processes side by side (``--threads 1`` each) share the work: a file lock
keeps them off the same run, and the lock of a process that died is free again.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from experiments.grid import GridRun, load_grid, ship, shipped, target_steps
from textvae_core.cli import parse_dataclass, positional, run_main
from textvae_core.config import RunConfig
from textvae_core.paths import CHECKPOINTS, ROOT
from textvae_core.rundir import (
    EVAL,
    LATENT_MAP,
    WEIGHTS,
    has_weights,
    read_config,
    weights_step,
)


@dataclass
class Options:
    names: list[str] = positional()  # run names, group names, or 'all'
    list: bool = False  # show every run of the grid and what exists of it, then stop
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda | cuda:N
    threads: int = 0  # torch CPU threads per run (0 = torch's default; 1 each for two processes side by side)
    evaluate: bool = False  # write eval.json for each finished run
    ship: bool = False  # float16 weights, a 10-step-averaged training log and no resume state for finished runs
    profile: str = "grid"  # evaluation profile: grid (as every shipped eval.json) | full
    map: bool = False  # write each finished run's latent map for the app
    no_train: bool = False  # only finish (ship / evaluate / map) complete runs; train nothing


def run_lock(run_dir: Path) -> FileLock:
    """A lock file beside the run folder, taken without waiting: two train_grid processes never train,
    evaluate or ship the same run; the system frees the lock of a process that died."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(run_dir.parent / f".{run_dir.name}.lock", timeout=0)


def main(argv: list[str] | None = None) -> int:
    opts = parse_dataclass(Options, argv, "python -m experiments.train_grid", __doc__)
    runs = load_grid()
    if opts.list or not opts.names:
        for r in runs:
            print(f"{r.group:<12} {r.name:<24} {state(r)}")
        return 0
    # in the order asked for (a run named twice, or by name and group, once)
    chosen = list({r.name: r for n in opts.names for r in runs if n in ("all", r.name, r.group)}.values())
    if not chosen:
        print(f"error: no run or group named {opts.names}; see --list", file=sys.stderr)
        return 2
    os.chdir(ROOT)
    for r in chosen:
        cfg = r.config(opts.device, opts.threads)
        out = Path(cfg.train.out)
        try:
            with run_lock(out):
                do_run(r, cfg, out, opts)
        except Timeout:
            print(f"{r.name}: another process is working on it, skipped")
    return 0


def state(r: GridRun) -> str:
    run_dir = CHECKPOINTS / r.name
    step = weights_step(run_dir)
    if step is None:
        return "—"
    target = target_steps(r.config("cpu"))
    text = "complete" if step >= target else f"step {step} of {target}"
    text += " · eval.json" * (run_dir / EVAL).exists()
    return text + " · latent map" * (run_dir / LATENT_MAP).exists()


def do_run(r: GridRun, cfg: RunConfig, out: Path, opts: Options) -> None:
    """Train or resume one run, then finish it (ship / evaluate / map)."""
    from textvae_core.train import train

    if has_weights(out):
        step = weights_step(out) or 0
        if step >= target_steps(cfg):
            print(f"{r.name}: complete ({step} steps)")
        elif opts.no_train:
            print(f"{r.name}: not finished ({step} of {target_steps(cfg)} steps), left as is")
            return
        else:
            print(f"{r.name}: resuming at step {step}")
            saved = read_config(out)
            saved.train.device, saved.train.num_threads = opts.device, opts.threads
            # the grid's training length wins: a run lengthened or shortened here resumes to it
            saved.train.epochs, saved.train.max_steps = cfg.train.epochs, cfg.train.max_steps
            train(saved, resume=True)
    elif opts.no_train:
        print(f"{r.name}: not started")
        return
    else:
        print(f"{r.name}: training")
        train(cfg)
    finish(out, r, opts)


def finish(out: Path, r: GridRun, opts: Options) -> None:
    """After training: shipped weights (in the run's ship_dtype), then eval.json and the latent map, both
    computed from the shipped weights."""
    if opts.ship and not shipped(out, r.ship_dtype):
        ship_and_say(out, r.ship_dtype)
    if opts.evaluate and not (out / EVAL).exists():
        from textvae_core.evaluate import EvalConfig, evaluate

        evaluate(out, EvalConfig.for_profile(opts.profile, **{"threads": opts.threads, **r.evaluation}))
    if opts.map:
        from explorer.latent_map import load_map, precompute

        if load_map(out) is None:
            precompute(out)
            print(f"{out.name}: latent map written")


def ship_and_say(run_dir: Path, dtype: str = "float16") -> None:
    before, after = ship(run_dir, dtype=dtype)
    print(f"{run_dir.name}: training log {before / 1e6:.2f} → {after / 1e6:.2f} MB")
    print(f"{run_dir.name}: shipped ({(run_dir / WEIGHTS).stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    run_main(main)
