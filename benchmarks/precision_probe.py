"""Does the precision probe pick the precision that trains faster? Whole short runs tell.

    python benchmarks/precision_probe.py [--config anchor|RUN/config.json] [--threads 2] [--steps 400] [--rounds 2]

Each round trains the same configuration three times with our Trainer, in turn: with the probe (which
times eight steps in each precision and picks one: textvae_core.precision), then in fp32, then in bf16
autocast, each for --steps optimizer steps without validation or checkpoints. It prints the probe's step
times and pick, the two whole runs' tokens/s (the median of their logged windows) and whether the pick
was the faster. `--config anchor` is timbmg/Sentence-VAE's defaults (textvae_core.anchors.matched);
`--config checkpoints/ptb-lstm-bc100/config.json` the paper's size. On a CPU without native bf16, or a
model under the probe's 1M weights, no probe runs and the first run keeps bf16 autocast (which on a CPU
without native bf16 is fp32, as is the "bf16" run there). Prints figures; it measures, it does not pass
or fail.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file: the repository's packages

from textvae_core.anchors.matched import sentence_vae_config
from textvae_core.cli import parse_dataclass, run_main
from textvae_core.config import RunConfig
from textvae_core.device import cpu_has_bf16
from textvae_core.rundir import CONFIG, read_metrics
from textvae_core.trainer import Trainer


@dataclass
class Options:
    config: str = "anchor"  # "anchor" (Sentence-VAE's defaults) or a run's config.json
    threads: int = 2  # torch CPU threads of each run
    steps: int = 400  # optimizer steps of each run
    rounds: int = 2  # probe / fp32 / bf16 triples
    scratch: str = ""  # folder for the runs (removed after); "" = a temporary one


def configure(o: Options, out: Path, amp: bool, probe: bool) -> RunConfig:
    """The run to time: the chosen configuration, training only, for o.steps steps."""
    if o.config == "anchor":
        cfg = sentence_vae_config(str(out), amp=amp, threads=o.threads)
    else:
        cfg = RunConfig.from_dict(json.loads(Path(o.config).read_text(encoding="utf-8")))
        cfg.train.out, cfg.train.amp, cfg.train.num_threads = str(out), amp, o.threads
    t = cfg.train
    cfg.data.valid, t.keep_best = "", ""  # timing training steps, nothing else
    t.amp_probe, t.max_steps, t.max_minutes, t.progress = probe, o.steps, 0.0, False
    t.log_every, t.val_every, t.ckpt_every, t.init_from = 10, 0, 0, ""
    return cfg


def timed_run(cfg: RunConfig) -> tuple[bool, float, dict | None]:
    """Train; return whether it trained in bf16, its median tokens/s and the probe's event (if one ran)."""
    Trainer(cfg).fit()
    records = read_metrics(cfg.train.out)
    rates = [r["tok_per_s"] for r in records if r.get("split") == "train" and "tok_per_s" in r][1:]
    event = next((r for r in records if r.get("event") == "precision"), None)
    saved = RunConfig.load(Path(cfg.train.out) / CONFIG)
    return saved.train.amp and cpu_has_bf16(), statistics.median(rates), event


def main(argv: list[str] | None = None) -> int:
    o = parse_dataclass(Options, argv, "python benchmarks/precision_probe.py", __doc__)
    scratch = Path(o.scratch or tempfile.mkdtemp(prefix="precision-probe-"))
    right = 0
    try:
        native = "" if cpu_has_bf16() else " (no native bf16 on this CPU: both precisions run in fp32)"
        print(f"{o.config}: {o.threads} thread(s), {o.steps} steps a run{native}")
        for k in range(1, o.rounds + 1):
            results = {}
            for name, amp, probe in (("probe", True, True), ("fp32", False, False), ("bf16", True, False)):
                out = scratch / name
                shutil.rmtree(out, ignore_errors=True)
                results[name] = timed_run(configure(o, out, amp, probe))
            picked_bf16, _, event = results["probe"]
            fp32, bf16 = results["fp32"][1], results["bf16"][1]
            timing = (
                f"probe {event['fp32_ms']:.0f} ms a step in fp32, {event['bf16_ms']:.0f} in bf16"
                if event
                else "no probe (CPU without native bf16, or model under 1M weights)"
            )
            faster_bf16 = bf16 > fp32
            right += picked_bf16 == faster_bf16
            print(
                f"round {k}: {timing} → trains in {'bf16' if picked_bf16 else 'fp32'}; whole runs "
                f"fp32 {fp32:,.0f} tok/s, bf16 {bf16:,.0f} tok/s (bf16 / fp32 {bf16 / fp32:.2f}×): "
                f"{'the faster' if picked_bf16 == faster_bf16 else 'the slower'}"
            )
        print(f"the pick was the faster precision in {right} of {o.rounds} round(s)")
    finally:
        if not o.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    run_main(main)
