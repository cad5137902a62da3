"""Build the character-level short-sentence corpus data/snli_char from the SNLI sentences (Li et al. 2019 split).

    python -m experiments.make_snli_char SOURCE_FOLDER [--out data/snli_char] [--max-chars 63] [--seed 0]

SOURCE_FOLDER holds ``snli.valid.txt`` and ``snli.test.txt`` of that split (the training file is not used:
the two held-out files give 20k tweet-length sentences, enough for character-level models on a CPU).
Kept: lines without ``<unk>`` (the source's rare-word marker would read as five characters), at most
``max-chars`` characters (the report's fixed-width models hold max-chars + <eos>), each distinct line once.
Shuffled with the seed and split 1,000 / 1,000 / rest into test / valid / train; lines are unchanged
otherwise (lowercase, tokenised with spaces around punctuation, as in the source). Writes SOURCE.md.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from textvae_core.cli import CLIError, parse_dataclass, positional, run_main

FILES = ("snli.valid.txt", "snli.test.txt")
HELD_OUT = 1000


@dataclass
class Options:
    source: list[str] = positional("+")  # folder with snli.valid.txt and snli.test.txt (Li et al. 2019 split)
    out: str = "data/snli_char"  # folder the splits and SOURCE.md are written to
    max_chars: int = 63  # longest line kept, in characters (the fixed-width models hold max_chars + <eos>)
    seed: int = 0  # shuffle seed of the split into test / valid / train


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m experiments.make_snli_char", __doc__)
    if len(args.source) != 1:
        raise CLIError("give one SOURCE_FOLDER")
    src = Path(args.source[0])
    missing = [name for name in FILES if not (src / name).is_file()]
    if missing:
        raise CLIError(f"{src} lacks {', '.join(missing)}")
    lines, read, digests = [], 0, {}
    for name in FILES:
        raw = (src / name).read_bytes()
        digests[name] = hashlib.sha256(raw).hexdigest()
        for line in raw.decode("utf-8").splitlines():
            read += 1
            line = line.strip()
            if line and "<unk>" not in line and len(line) <= args.max_chars:
                lines.append(line)
    kept = list(dict.fromkeys(lines))  # first occurrence of each line, in file order
    random.Random(args.seed).shuffle(kept)
    splits = {"test": kept[:HELD_OUT], "valid": kept[HELD_OUT : 2 * HELD_OUT], "train": kept[2 * HELD_OUT :]}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for split, sents in splits.items():
        text = "".join(s + "\n" for s in sents)
        (out / f"{split}.txt").write_text(text, encoding="utf-8")
        chars = sum(len(s) for s in sents)
        alphabet = len({c for s in sents for c in s})
        rows.append(
            f"| {split}.txt | {len(sents):,} | {chars:,} | {chars / len(sents):.1f} | {alphabet} | "
            f"{hashlib.sha256(text.encode('utf-8')).hexdigest()} |"
        )
    sources = "\n".join(f"  - `{name}`: sha256 {digest}" for name, digest in digests.items())
    (out / "SOURCE.md").write_text(
        f"""# SNLI sentences for character-level VAEs (short sentences, the report's "tweet-length" text)

Made by `python -m experiments.make_snli_char SOURCE_FOLDER --out {args.out} --max-chars {args.max_chars} --seed {args.seed}`
from the sentence-only SNLI split of Li et al. 2019 ("A surprisingly effective fix for deep latent variable
modeling of text"; files as distributed with GitHub `zhangjf-nlp/DG-VAEs`, commit
`6ad9e59f4af66fb8de64b7b0d03ba0c9ad3175f0`, `datasets/snli_data/`):
{sources}

Of the {read:,} lines of those two files, kept: the ones without `<unk>` and of at most {args.max_chars}
characters, each distinct line once ({len(kept):,} lines); shuffled (seed {args.seed}) and split into test
({HELD_OUT:,}), valid ({HELD_OUT:,}) and train (the rest). Lines are otherwise unchanged: lowercase, tokenised with
spaces around punctuation. Read them at character level (`--data.level=char`; spaces are tokens).
License: SNLI is CC BY-SA 4.0 (Bowman et al. 2015).

| file | sentences | characters | mean length | distinct characters | sha256 |
|---|---|---|---|---|---|
"""
        + "\n".join(rows)
        + "\n",
        encoding="utf-8",
    )
    print(f"{len(kept):,} of {read:,} lines kept; wrote {out}")
    return 0


if __name__ == "__main__":
    run_main(main)
