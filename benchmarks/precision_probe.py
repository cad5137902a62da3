"""Does the precision probe pick the precision that trains faster? Whole short runs tell.

    python -m benchmarks.precision_probe [--config anchor|RUN/config.json] [--threads 2] [--steps 400] [--rounds 2]

Each round trains the same configuration four times with our Trainer, in turn: with the probe (which
times eight steps in each of textvae_core.precision's modes and picks one), then in each mode outright
(fp32; fp32 with oneDNN's bf16 matrix products; bf16 autocast), each for --steps optimizer steps without
validation or checkpoints. It prints the probe's step times and pick, the whole runs' tokens/s (the
median of their logged windows) and whether the pick was the fastest. `--config anchor` is
timbmg/Sentence-VAE's defaults (experiments.anchors.matched); `--config checkpoints/ptb-lstm-bc100/config.json`
the paper's size. On a CPU without native bf16, or a
model under the probe's 1M weights, no probe runs and the first run keeps bf16 autocast (which on a CPU
without native bf16 is fp32, as are the other modes there). Prints figures; it measures, it does not pass
or fail.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from experiments.anchors.matched import sentence_vae_config
from textvae_core.cli import parse_dataclass, run_main
from textvae_core.config import RunConfig
from textvae_core.device import cpu_has_bf16
from textvae_core.precision import MODES, Mode
from textvae_core.rundir import read_metrics, read_setup
from textvae_core.trainer import Trainer


@dataclass
class Options:
    config: str = "anchor"  # "anchor" (Sentence-VAE's defaults) or a run's config.json
    threads: int = 2  # torch CPU threads of each run
    steps: int = 400  # optimizer steps of each run
    rounds: int = 2  # rounds of probe, then every mode
    scratch: str = ""  # folder for the runs (removed after); "" = a temporary one


def configure(o: Options, out: Path, mode: Mode, probe: bool) -> RunConfig:
    """The run to time: the chosen configuration, training only, for o.steps steps."""
    if o.config == "anchor":
        cfg = sentence_vae_config(str(out), threads=o.threads)
    else:
        cfg = RunConfig.from_dict(json.loads(Path(o.config).read_text(encoding="utf-8")))
        cfg.train.out, cfg.train.num_threads = str(out), o.threads
    t = cfg.train
    t.amp, t.bf16_matmul = mode.amp, mode.bf16_matmul
    cfg.data.valid, t.keep_best = "", ""  # timing training steps, nothing else
    t.amp_probe, t.max_steps, t.max_minutes, t.progress = probe, o.steps, 0.0, False
    t.log_every, t.val_every, t.ckpt_every, t.init_from = 10, 0, 0, ""
    return cfg


def timed_run(cfg: RunConfig) -> tuple[str, float, dict | None]:
    """Train; return the mode it trained in, its median tokens/s and the probe's event (if one ran)."""
    Trainer(cfg).fit()
    records = read_metrics(cfg.train.out)
    rates = [r["tok_per_s"] for r in records if r.get("split") == "train" and "tok_per_s" in r][1:]
    event = next((r for r in records if r.get("event") == "precision"), None)
    setup = read_setup(cfg.train.out)  # the precision it trained in (the probe's pick, or the one named)
    assert setup is not None, "the Trainer writes setup.json"
    mode = next(n for n, m in MODES.items() if m == Mode(setup.amp, setup.bf16_matmul))
    return mode if cpu_has_bf16() else "fp32", statistics.median(rates), event


def main(argv: list[str] | None = None) -> int:
    o = parse_dataclass(Options, argv, "python -m benchmarks.precision_probe", __doc__)
    scratch = Path(o.scratch or tempfile.mkdtemp(prefix="precision-probe-"))
    right = 0
    try:
        native = "" if cpu_has_bf16() else " (no native bf16 on this CPU: every mode runs in fp32)"
        print(f"{o.config}: {o.threads} thread(s), {o.steps} steps a run{native}")
        for k in range(1, o.rounds + 1):
            out = scratch / "probe"
            shutil.rmtree(out, ignore_errors=True)
            picked, _, event = timed_run(configure(o, out, MODES["bf16"], probe=True))
            rates = {}
            for name, mode in MODES.items():
                out = scratch / name.replace(" ", "-")
                shutil.rmtree(out, ignore_errors=True)
                rates[name] = timed_run(configure(o, out, mode, probe=False))[1]
            timing = (
                "probe " + ", ".join(f"{n} {event[n.replace(' ', '_') + '_ms']:.0f}" for n in MODES) + " ms a step"
                if event
                else "no probe (CPU without native bf16, or model under 1M weights)"
            )
            fastest = max(rates, key=rates.__getitem__)
            right += picked == fastest
            whole = ", ".join(f"{n} {r:,.0f} ({r / rates['fp32']:.2f}×)" for n, r in rates.items())
            print(
                f"round {k}: {timing} → trains in {picked}; whole runs, tok/s: {whole}: "
                f"{'the fastest' if picked == fastest else 'not the fastest'}"
            )
        print(f"the pick was the fastest mode in {right} of {o.rounds} round(s)")
    finally:
        if not o.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    run_main(main)
