"""Test figures of timbmg/Sentence-VAE checkpoints, computed with the anchor's own model.py and ptb.py.

This file is a program for the anchor's interpreter (its venv: torch, numpy, nltk), not a module of
textvae_core: it imports nothing of this package, only the standard library, torch and the anchor's
own modules, found through ``PYTHONPATH`` (the anchor's folder). ``experiments.anchors.sentence_vae.evaluate``
runs it as

    PYTHONPATH=SRC ANCHOR_PYTHON sentence_vae_eval.py '{"data_dir": …, "run_dir": …, "out": …, …}'

with its settings as one JSON object (``EvalSettings`` there, which says what each is): the program has no
command line of its own, since it cannot import the package's (textvae_core.cli) under the anchor's python.

For every ``E{i}.pytorch`` in the run folder (plain state dicts, read with ``weights_only=True``) it
builds the anchor's ``SentenceVAE`` from the run's ``model_params.json``, reads the test split through
the anchor's ``PTB`` class (which tokenises ptb.test.txt with the run's vocabulary the first time, as its
training script does for train and valid), and measures, in eval mode (no dropout), with one z ~ q(z|x)
per sentence as the anchor's training loss does: D = −log p(x|z) summed over the target tokens (its
``NLLLoss(ignore_index=pad, reduction='sum')`` on the targets cut to the batch's longest sentence) and
the closed-form KL, per sentence and per target token (the json ``length`` fields: words truncated to
max_sequence_length − 1, plus <eos>).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace


def _batch_size(n: int, wanted: int) -> int:
    """A batch size that leaves no batch of one sentence: the anchor's forward squeezes the batch axis away."""
    size = max(2, wanted)
    while n % size == 1:
        size += 1
    return size


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("usage: PYTHONPATH=SRC ANCHOR_PYTHON sentence_vae_eval.py SETTINGS_JSON (see the docstring)")
    args = SimpleNamespace(**json.loads(argv[0]))

    import torch
    from model import SentenceVAE  # the anchor's own, from PYTHONPATH
    from ptb import PTB
    from torch.utils.data import DataLoader, Subset

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    run_dir = Path(args.run_dir)
    params = json.loads((run_dir / "model_params.json").read_text())
    test = PTB(
        data_dir=args.data_dir, split="test", create_data=False, max_sequence_length=params["max_sequence_length"]
    )
    if test.w2i["<pad>"] != params["pad_idx"] or len(test.w2i) != params["vocab_size"]:
        raise SystemExit(f"{args.data_dir}: its vocabulary is not the one run {run_dir} was trained with")
    n = min(args.limit, len(test)) if args.limit > 0 else len(test)
    data = Subset(test, range(n))
    n_tokens = sum(test.data[str(i)]["length"] for i in range(n))
    loader = DataLoader(data, batch_size=_batch_size(n, args.batch_size), shuffle=False, num_workers=0)
    nll = torch.nn.NLLLoss(ignore_index=params["pad_idx"], reduction="sum")

    checkpoints = sorted(run_dir.glob("E*.pytorch"), key=lambda p: int(re.findall(r"\d+", p.stem)[0]))
    records = []
    for path in checkpoints:
        model = SentenceVAE(**params)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        model.eval()
        torch.manual_seed(args.seed)
        rec = kl = 0.0
        with torch.no_grad():
            for batch in loader:
                logp, mean, logv, _ = model(batch["input"], batch["length"])
                target = batch["target"][:, : int(batch["length"].max())].contiguous().view(-1)
                rec += float(nll(logp.view(-1, logp.size(2)), target))
                kl += float(-0.5 * torch.sum(1 + logv - mean.pow(2) - logv.exp()))
        records.append(
            {
                "epoch": int(re.findall(r"\d+", path.stem)[0]),
                "checkpoint": str(path),
                "rec": rec / n,
                "kl": kl / n,
                "nll_bound": (rec + kl) / n,
                "nll_bound_per_token": (rec + kl) / n_tokens,
                "n_sentences": n,
                "n_tokens": n_tokens,
            }
        )
        print(json.dumps(records[-1]), flush=True)
    Path(args.out).write_text(json.dumps(records, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
