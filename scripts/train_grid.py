"""Train (or resume) the grid of PTB runs shipped in checkpoints/, one command per run or group.

    python scripts/train_grid.py --list
    python scripts/train_grid.py autogen            # every run of a group
    python scripts/train_grid.py ptb-lstm-bc15      # one run
    python scripts/train_grid.py all --evaluate     # then write eval.json for each finished run

Run from the repository root: configs store data paths relative to it, so shipped runs work in any
clone. A run that is complete is skipped; an interrupted one resumes from its last checkpoint.
Train on the CPU by default sizes; ``--device cuda`` where a GPU is available.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textvae_core.checkpoint import read_weights  # noqa: E402
from textvae_core.config import RunConfig  # noqa: E402
from textvae_core.data import read_corpus  # noqa: E402
from textvae_core.objectives import preset  # noqa: E402
from textvae_core.train import train  # noqa: E402

PTB = {"train": "data/ptb/ptb.train.txt", "valid": "data/ptb/ptb.valid.txt", "test": "data/ptb/ptb.test.txt"}
SMALL = {"emb_dim": 128, "hidden": 256, "z_dim": 32}
SWEEP = {"emb_dim": 64, "hidden": 128, "z_dim": 32, "cnn_inner": 64}  # smaller models for the 30-run sweep
SHIP_LOG_EVERY = 10  # steps per shipped training-log record (averaged); validation records all kept
SWEEP_DATA = {"max_vocab": 5000}  # 2.4 MB per shipped sweep run in fp16 instead of 4.7 MB (30 of them)


@dataclass
class GridRun:
    name: str
    group: str
    objective: str
    knobs: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)  # EvalConfig overrides on top of the profile

    def config(self, device: str, threads: int = 0) -> RunConfig:
        cfg = RunConfig(objective=preset(self.objective, **self.knobs))
        cfg.data.train, cfg.data.valid, cfg.data.test = PTB["train"], PTB["valid"], PTB["test"]
        for k, v in {**SMALL, **self.model}.items():
            setattr(cfg.model, k, v)
        cfg.train.out = f"checkpoints/{self.name}"
        cfg.train.epochs, cfg.train.progress, cfg.train.device = 3.0, True, device
        cfg.train.num_threads = threads
        for k, v in self.train.items():
            setattr(cfg.train, k, v)
        for k, v in self.data.items():
            setattr(cfg.data, k, v)
        return cfg


TABLE1_EVAL = {"fce_schemes": "nucleus0.9,greedy"}  # the grid profile's FCE plus the greedy one of Table 1


def grid() -> list[GridRun]:
    runs = [
        # AutoGen comparison (Mansbridge et al.): LSTM, no word dropout, same budget
        GridRun("ptb-lstm-vae", "autogen", "vae"),
        GridRun("ptb-lstm-vae-anneal", "autogen", "vae-anneal", {"warmup_steps": 1500}),
        GridRun("ptb-lstm-autogen-m1", "autogen", "autogen", {"m": 1.0}),
        GridRun("ptb-lstm-autogen-m2", "autogen", "autogen", {"m": 2.0}),
        GridRun("ptb-lstm-beta0.5", "autogen", "beta-vae", {"beta": 0.5}),
        # β_C comparison (Prokhorov et al. Table 1); FCE on greedy samples too, as the paper's Table 1
        *(GridRun(f"ptb-lstm-bc{c}", "betac", "beta-c", {"C": float(c)}, evaluation=TABLE1_EVAL) for c in (3, 15)),
        # C = 100 at 3 epochs meets KL = C by pushing means out before the decoder learns to read them
        # (D worse than at C = 3): it needs the longer budget of the paper.
        GridRun("ptb-lstm-bc100", "betac", "beta-c", {"C": 100.0}, train={"epochs": 10.0}, evaluation=TABLE1_EVAL),
    ]
    for dec in ("lstm", "gru", "cnn"):  # rate-distortion sweep (Fig. 1), smaller models
        enc = "gru" if dec == "gru" else "lstm"
        runs += [
            GridRun(
                f"sweep-{dec}-c{c}",
                f"sweep-{dec}",
                "beta-c",
                {"C": float(c)},
                {**SWEEP, "encoder": enc, "decoder": dec},
                data=SWEEP_DATA,
            )
            for c in range(10, 101, 10)
        ]
    # The 3-epoch LSTM sweep has D rising with C while every run's validation D is still falling:
    # the ends of the sweep trained 10 epochs tell whether the order is a matter of budget.
    runs += [
        GridRun(
            f"sweep-lstm-c{c}-e10",
            "sweep-long",
            "beta-c",
            {"C": float(c)},
            {**SWEEP, "encoder": "lstm", "decoder": "lstm"},
            train={"epochs": 10.0},
            data=SWEEP_DATA,
        )
        for c in (10, 100)
    ]
    # The model for the record (PTB test likelihood, not collapsed): the size of texar's VAE-LSTM
    # (emb 256, hidden 256), dropout on the decoder's inputs and outputs, and plateau lr decay; β_C
    # with C = 7 holds the KL above 5 nats, where KL annealing alone lets it sink towards collapse.
    # On two CPU cores an epoch takes ~5 min (658 steps at ~2.2 steps/s): 28 epochs, about 2.5 hours,
    # trained across sessions from its checkpoints; texar's recipe runs 100 (a GPU's budget).
    runs.append(
        GridRun(
            "ptb-lstm-record",
            "record",
            "beta-c",
            {"C": 7.0},
            {"emb_dim": 256, "hidden": 256, "z_dim": 32, "emb_dropout": 0.5, "dropout": 0.5},
            train={"epochs": 28.0, "lr_decay": 0.5, "lr_patience": 2},
            evaluation={"k": 100},  # the record's IW-NLL with 100 importance samples, not 5
        )
    )
    return runs


def target_steps(cfg: RunConfig) -> int:
    n = len(read_corpus(cfg.data.train, cfg.data.level, cfg.data.lowercase, cfg.data.min_len, cfg.data.max_len))
    return cfg.train.max_steps or math.ceil(cfg.train.epochs * math.ceil(n / cfg.train.batch_size))


class RunLock:
    """A lock file beside a run directory, so that two train_grid processes side by side (one per
    core) never train, evaluate or ship the same run; a lock left by a process that died is taken over."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir.parent / f".{run_dir.name}.lock"
        self.held, self.owner = False, 0

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    self.owner = int(self.path.read_text().strip() or 0)
                except (OSError, ValueError):
                    self.owner = 0
                if self.owner and _alive(self.owner):
                    return self
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            self.held = True
            return self
        return self

    def __exit__(self, *exc: object) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: existence check only (PermissionError: alive, another user's)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="run names, group names, or 'all'")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads per run (0 = torch's default)")
    ap.add_argument("--evaluate", action="store_true", help="write eval.json for each finished run")
    ap.add_argument("--ship", action="store_true", help="store finished runs' weights in float16, drop resume state")
    ap.add_argument(
        "--profile", choices=["full", "grid"], help="evaluation profile (default: grid, as every shipped eval.json)"
    )
    ap.add_argument("--map", action="store_true", help="write each finished run's latent map for the app")
    ap.add_argument("--no-train", action="store_true", help="only finish (ship / evaluate / map) complete runs")
    args = ap.parse_args()
    runs = grid()
    if args.list or not args.names:
        for r in runs:
            run_dir = ROOT / "checkpoints" / r.name
            state = "—"
            if (run_dir / "model.safetensors").exists():
                step, target = int(read_weights(run_dir / "model.safetensors")[1].get("step", "0")), None
                os.chdir(ROOT)
                target = target_steps(r.config("cpu"))
                state = "complete" if step >= target else f"step {step} of {target}"
                state += " · eval.json" * (run_dir / "eval.json").exists()
                state += " · latent map" * (run_dir / "latent_map.safetensors").exists()
            print(f"{r.group:<12} {r.name:<24} {state}")
        return
    # in the order asked for (a run named twice, or by name and group, once)
    chosen = list({r.name: r for n in args.names for r in runs if n in ("all", r.name, r.group)}.values())
    if not chosen:
        sys.exit(f"no run or group named {args.names}; see --list")
    os.chdir(ROOT)
    for r in chosen:
        cfg = r.config(args.device, args.threads)
        out = Path(cfg.train.out)
        with RunLock(out) as lock:
            if not lock.held:
                print(f"{r.name}: another process (pid {lock.owner}) is working on it, skipped")
                continue
            do_run(r, cfg, out, args)


def do_run(r: GridRun, cfg: RunConfig, out: Path, args: argparse.Namespace) -> None:
    """Train or resume one run, then finish it (ship / evaluate / map)."""
    if (out / "model.safetensors").exists():
        step = int(read_weights(out / "model.safetensors")[1].get("step", "0"))
        if step >= target_steps(cfg):
            print(f"{r.name}: complete ({step} steps)")
        elif args.no_train:
            print(f"{r.name}: not finished ({step} of {target_steps(cfg)} steps), left as is")
            return
        else:
            print(f"{r.name}: resuming at step {step}")
            saved = RunConfig.load(out / "config.json")
            saved.train.device, saved.train.num_threads = args.device, args.threads
            # the grid's training length wins: a run lengthened or shortened here resumes to it
            saved.train.epochs, saved.train.max_steps = cfg.train.epochs, cfg.train.max_steps
            train(saved, resume=True)
    elif args.no_train:
        print(f"{r.name}: not started")
        return
    else:
        print(f"{r.name}: training")
        train(cfg)
    finish(out, r, args)


def finish(out: Path, r: GridRun, args: argparse.Namespace) -> None:
    """After training: float16 weights, then eval.json and the latent map computed from the shipped weights."""
    if args.ship and not shipped(out):
        ship(out)
    if args.evaluate and not (out / "eval.json").exists():
        from textvae_core.evaluate import EvalConfig, evaluate

        profile = args.profile or "grid"  # what every shipped eval.json uses
        evaluate(out, EvalConfig.for_profile(profile, **{"threads": args.threads, **r.evaluation}))
    if args.map:
        from explorer.latent_map import load_map, precompute

        if load_map(out) is None:
            precompute(out)
            print(f"{out.name}: latent map written")


def shipped(run_dir: Path) -> bool:
    """Weights already in float16 and no resume state left: shipping again would change nothing."""
    meta = read_weights(run_dir / "model.safetensors")[1]
    return meta.get("dtype") == "float16" and not any(run_dir.glob("resume-*.pt"))


def ship(run_dir: Path) -> None:
    """Float16 weights (half the size; loading casts back to float32), the training log averaged over
    10-step windows (a tenth of its size, same curves), and no resume files."""
    import tempfile

    from textvae_core.checkpoint import export_run
    from textvae_core.rundir import thin_metrics

    with tempfile.TemporaryDirectory(dir=run_dir.parent) as tmp:
        export_run(run_dir, Path(tmp) / "run")
        os.replace(Path(tmp) / "run" / "model.safetensors", run_dir / "model.safetensors")  # atomic
    for resume in run_dir.glob("resume-*.pt"):
        resume.unlink()
    before, after = thin_metrics(run_dir, SHIP_LOG_EVERY)
    print(f"{run_dir.name}: metrics.jsonl {before / 1e6:.2f} → {after / 1e6:.2f} MB")
    print(f"{run_dir.name}: shipped ({(run_dir / 'model.safetensors').stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
