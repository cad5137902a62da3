"""Reconstruction BLEU of a run on its test split, with and without the test sentences that occur verbatim
in its training file (PTB repeats some of its training sentences in its test split).

    nice -n 19 python -m experiments.choices.overlap_bleu [--run checkpoints/ptb-lstm-bc100] [--threads 1]

The reconstructions are the evaluation's own (textvae_core.evaluate): greedy decoding from μ of every test
sentence, scored by ``reconstruction_scores``; the figure over all sentences is eval.json's, and the
script says whether it matches. Prints one JSON object: the overlap count and BLEU-2 / 4 on all
sentences, on those not in the training file, and on those that are. A measurement, not a report: the
lead wires an ``overlap`` section into eval.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import torch

from textvae_core.checkpoint import load_run
from textvae_core.cli import parse_dataclass, run_main
from textvae_core.corpus import read_corpus, verbatim_overlap
from textvae_core.data import Corpus
from textvae_core.decoding import DecodeConfig
from textvae_core.evaluate import EvalConfig, decoding
from textvae_core.inference import TextVAE
from textvae_core.metrics import reconstruction_scores
from textvae_core.metrics.likelihood import encode_corpus
from textvae_core.paths import CHECKPOINTS, repo_path
from textvae_core.rundir import read_eval


@dataclass
class Options:
    run: str = str(CHECKPOINTS / "ptb-lstm-bc100")  # the run folder measured
    threads: int = 1  # torch threads (the machine is shared with training jobs)


def scores(inputs: list[str], outputs: list[str], keep: list[int]) -> dict[str, Any]:
    """BLEU-2 / 4 over the sentences ``keep`` (corpus statistics: the subset's own n-gram counts)."""
    all_ = reconstruction_scores([inputs[i] for i in keep], [outputs[i] for i in keep])["all"]
    return {"n": all_["n"], "bleu2": round(all_["bleu2"], 2), "bleu4": round(all_["bleu4"], 2)}


def measure(run_dir: str, threads: int = 1) -> dict[str, Any]:
    torch.set_num_threads(threads)
    run = load_run(run_dir)
    d = run.config.data
    limit = run.model.max_tokens or 0

    def split(path: str) -> list[list[str]]:
        return read_corpus(repo_path(path), d.level, d.lowercase, max_len=limit, fmt=d.format)

    test, train = split(d.test), split(d.train)
    seen = verbatim_overlap(test, train)
    vae = TextVAE(run.model, run.vocab, run.config)
    with torch.no_grad():
        mu, _ = encode_corpus(run.model, Corpus(test, run.vocab, "test"))
        cfg = EvalConfig.for_profile("grid")
        outputs = vae.decode(mu, decoding(DecodeConfig(method="greedy"), cfg, vae))
    inputs = [run.vocab.detokenize(s) for s in test]
    fresh = sorted(set(range(len(test))) - set(seen))
    result = {
        "run": run_dir,
        "test_sentences": len(test),
        "in_train": len(seen),
        "in_train_pct": round(100 * len(seen) / len(test), 2),
        "all": scores(inputs, outputs, list(range(len(test)))),
        "without_train_overlap": scores(inputs, outputs, fresh),
        "only_train_overlap": scores(inputs, outputs, seen),
    }
    shipped = (read_eval(run_dir) or {}).get("reconstruction", {}).get("scores", {}).get("all", {})
    if shipped:
        result["eval_json_bleu4"] = round(shipped["bleu4"], 2)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m experiments.choices.overlap_bleu", __doc__)
    print(json.dumps(measure(args.run, args.threads), indent=2))
    return 0


if __name__ == "__main__":
    run_main(main)
