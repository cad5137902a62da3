"""Reading corpora: one sentence per line, UTF-8, with a clear error for every way a file can be
unusable. No torch here (the app reads sentences for hover text before any model is loaded)."""

from __future__ import annotations

from pathlib import Path


class CorpusError(ValueError):
    """A corpus file that cannot be used; the message names the file and the reason."""


def read_corpus(
    path: str | Path,
    level: str = "word",
    lowercase: bool = False,
    min_len: int = 1,
    max_len: int = 0,
) -> list[list[str]]:
    """Tokenised sentences of a one-sentence-per-line UTF-8 file, filtered to [min_len, max_len]."""
    path = Path(path)
    if not str(path) or str(path) == ".":
        raise CorpusError("no corpus path given")
    if not path.exists():
        raise CorpusError(f"{path}: corpus file not found")
    if path.is_dir():
        raise CorpusError(f"{path}: is a folder, expected a text file with one sentence per line")
    data = path.read_bytes()
    if not data.strip():
        raise CorpusError(f"{path}: the file is empty")
    if b"\x00" in data[:65536]:
        raise CorpusError(f"{path}: looks like a binary file (NUL bytes), expected UTF-8 text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line_no = data[: err.start].count(b"\n") + 1
        raise CorpusError(
            f"{path}: not UTF-8 text (invalid byte 0x{data[err.start]:02x} on line {line_no}); "
            "convert it, e.g. with iconv -t UTF-8"
        ) from None
    sentences, nonblank = [], 0
    for line in text.splitlines():
        if lowercase:
            line = line.lower()
        tokens = list(line.strip()) if level == "char" else line.split()
        if not tokens:
            continue
        nonblank += 1
        if len(tokens) < min_len or (max_len and len(tokens) > max_len):
            continue
        sentences.append(tokens)
    if not nonblank:
        raise CorpusError(f"{path}: no sentences (only blank lines)")
    if not sentences:
        limit = f"{min_len}–{max_len}" if max_len else f"≥ {min_len}"
        raise CorpusError(f"{path}: all {nonblank} sentences were filtered out by the length limit ({limit} tokens)")
    return sentences
