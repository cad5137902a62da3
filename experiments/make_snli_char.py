"""Build a short-sentence corpus from the SNLI sentences (Li et al. 2019 split): data/snli_char (characters)
or data/snli (words).

    python -m experiments.make_snli_char SOURCE_FOLDER [--out data/snli_char] [--max-chars 63] [--seed 0]
    python -m experiments.make_snli_char SOURCE_FOLDER --level word --out data/snli --test 2000

SOURCE_FOLDER holds ``snli.valid.txt`` and ``snli.test.txt`` of that split (its training file is not used:
the two held-out files give 20k short sentences, enough for small models on a CPU). Each distinct line is
kept once, so no test sentence also occurs in training. Character level keeps lines without ``<unk>`` (the
source's rare-word marker would read as five characters) of at most ``max-chars`` characters (the report's
fixed-width models hold max-chars + <eos>); word level keeps every line (``<unk>`` is the vocabulary's own
unknown word). Shuffled with the seed and split into test / valid / train (the rest); lines are unchanged
otherwise (lowercase, tokenised with spaces around punctuation, as in the source). Writes SOURCE.md.
"""

from __future__ import annotations

import hashlib
import random
import textwrap
from dataclasses import dataclass
from pathlib import Path

from textvae_core.cli import CLIError, parse_dataclass, positional, run_main

FILES = ("snli.valid.txt", "snli.test.txt")


@dataclass
class Options:
    source: list[str] = positional("+")  # folder with snli.valid.txt and snli.test.txt (Li et al. 2019 split)
    out: str = "data/snli_char"  # folder the splits and SOURCE.md are written to
    level: str = "char"  # char: lines for character-level models | word: every line, for word-level models
    max_chars: int = 63  # char level: longest line kept, in characters (fixed-width models hold max_chars + <eos>)
    test: int = 1000  # sentences held out for test
    valid: int = 1000  # sentences held out for validation
    seed: int = 0  # shuffle seed of the split into test / valid / train


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m experiments.make_snli_char", __doc__)
    if len(args.source) != 1:
        raise CLIError("give one SOURCE_FOLDER")
    if args.level not in {"char", "word"}:
        raise CLIError(f"--level: char or word, not {args.level!r}")
    char = args.level == "char"
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
            if line and (not char or ("<unk>" not in line and len(line) <= args.max_chars)):
                lines.append(line)
    kept = list(dict.fromkeys(lines))  # first occurrence of each line, in file order
    random.Random(args.seed).shuffle(kept)
    held = args.test + args.valid
    splits = {"test": kept[: args.test], "valid": kept[args.test : held], "train": kept[held:]}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for split, sents in splits.items():
        text = "".join(s + "\n" for s in sents)
        (out / f"{split}.txt").write_text(text, encoding="utf-8")
        units = [list(s) if char else s.split() for s in sents]
        size = sum(len(u) for u in units)
        types = len({t for u in units for t in u})
        rows.append(
            f"| {split}.txt | {len(sents):,} | {size:,} | {size / len(sents):.1f} | {types:,} | "
            f"{hashlib.sha256(text.encode('utf-8')).hexdigest()} |"
        )
    sources = "\n".join(f"  - `{name}`: sha256 {digest}" for name, digest in digests.items())
    options = f"--level {args.level} --out {args.out} --test {args.test} --valid {args.valid} --seed {args.seed}"
    if char:
        options += f" --max-chars {args.max_chars}"
        title = 'SNLI sentences for character-level VAEs (short sentences, the report\'s "tweet-length" text)'
        kept_what = f"the ones without `<unk>` and of at most {args.max_chars} characters, each distinct line once"
        read_as = "Read them at character level (`--data.level=char`; spaces are tokens)."
        unit = "characters"
    else:
        title = "SNLI sentences for word-level VAEs (short sentences of another domain than PTB)"
        kept_what = "each distinct line once (no test or validation sentence also occurs in training)"
        read_as = "Read them at word level (the default); `<unk>` is the source's rare-word marker (~0.9% of tokens)."
        unit = "tokens"
    summary = textwrap.fill(
        f"Of the {read:,} lines of those two files, kept: {kept_what} ({len(kept):,} lines); shuffled (seed "
        f"{args.seed}) and split into test ({args.test:,}), valid ({args.valid:,}) and train (the rest). Lines "
        f"are otherwise unchanged: lowercase, tokenised with spaces around punctuation. {read_as}",
        110,
    )
    (out / "SOURCE.md").write_text(
        f"""# {title}

Made by `python -m experiments.make_snli_char SOURCE_FOLDER --out {args.out} --max-chars {args.max_chars} --seed {args.seed}`
from the sentence-only SNLI split of Li et al. 2019 ("A surprisingly effective fix for deep latent variable
modeling of text"; files as distributed with GitHub `zhangjf-nlp/DG-VAEs`, commit
`6ad9e59f4af66fb8de64b7b0d03ba0c9ad3175f0`, `datasets/snli_data/`):
{sources}

{summary}
License: SNLI is CC BY-SA 4.0 (Bowman et al. 2015).

| file | sentences | {unit} | mean length | distinct {unit} | sha256 |
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
