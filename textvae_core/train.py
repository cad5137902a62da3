"""Train a sentence VAE into a run folder, or resume one. Every option is a field of RunConfig.

Examples:

    python -m textvae_core.train --objective=beta-c --objective.C=15 --out=runs/bc15
    python -m textvae_core.train --objective=autogen --objective.m=2 --size=paper --epochs=10
    python -m textvae_core.train --resume runs/bc15 --epochs=3
    torchrun --nproc_per_node=4 -m textvae_core.train --size=paper --out=runs/big   # data-parallel

Exit status: 0 trained to the end; 2 bad input (message on stderr); 3 stopped by a non-finite value
(the last good checkpoint, if any, is kept); 4 stopped by train.max_minutes or a callback, and 128 + the signal's
number (130, 143) stopped by SIGINT or SIGTERM: in both cases a checkpoint of the last step was written
and --resume goes on from it.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from typing import Any

from .checkpoint import CheckpointError
from .cli import parse_train_cli
from .config import ConfigError, RunConfig
from .data import CorpusError
from .distributed import world_from_env
from .rundir import not_started
from .trainer import LOGGED as LOGGED
from .trainer import Trainer
from .trainer import TrainingError as TrainingError
from .trainer import TrainResult as TrainResult
from .trainer import prepare_data as prepare_data
from .trainer import seed_everything as seed_everything
from .vocab import VocabError

EXIT_STOPPED = 4  # stopped early (time limit or a callback) with a checkpoint of the last step
SIGNAL_EXIT = {s.name: 128 + int(s) for s in (signal.SIGINT, signal.SIGTERM)}  # the shell's convention


def train(
    cfg: RunConfig,
    resume: bool = False,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train (or resume) the run ``cfg.train.out``; returns the final step and validation figures.

    ``on_log`` receives every training and validation record as it is written to metrics.jsonl.
    A thin wrapper over :class:`textvae_core.trainer.Trainer`, which has the callbacks and stop().
    """
    trainer = Trainer(cfg, resume=resume)
    if on_log:
        trainer.add_callback("on_log", lambda _, record: on_log(record))
        trainer.add_callback("on_validate", lambda _, record: on_log(record))
    return trainer.fit()


def parse_cli(argv: list[str]) -> tuple[RunConfig, bool]:
    """The RunConfig a command line describes (``--help`` lists every option), and whether it resumes a run."""
    cfg, resume = parse_train_cli(argv, __doc__)
    return cfg, resume is not None


def one_line(err: BaseException) -> str:
    """An error's message on one line (a corpus line quoted in it may hold a line break)."""
    return " ".join(str(err).split())


def main(argv: list[str] | None = None) -> int:
    try:
        cfg, resume = parse_cli(sys.argv[1:] if argv is None else argv)
        if resume and not_started(cfg.train.out):
            print(
                f"note: {cfg.train.out} has no checkpoint (it was stopped before its first one): "
                "training it afresh from its config.json",
                file=sys.stderr,
            )
        result = train(cfg, resume=resume)
    except (ConfigError, CorpusError, CheckpointError, VocabError) as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    except OSError as err:  # a run folder that cannot be written, a corpus that cannot be read
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or one_line(err)}", file=sys.stderr)
        return 2
    except TrainingError as err:
        print(f"stopped: {one_line(err)}", file=sys.stderr)
        return 3
    code = SIGNAL_EXIT.get(result.stopped or "", EXIT_STOPPED) if result.stopped else 0
    if world_from_env().is_main:  # under torchrun, rank 0 speaks for the run
        summary = {"run": str(result.run_dir), "step": result.step, "valid": result.valid}
        if result.stopped:
            summary |= {"stopped": result.stopped, "total_steps": result.total_steps}
            print(
                f"stopped at step {result.step} ({result.stopped}); resume with --resume {result.run_dir}",
                file=sys.stderr,
            )
        print(json.dumps(summary, indent=2))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
