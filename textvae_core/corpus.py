"""Reading corpora: one sentence per line, UTF-8, with a clear error for every way a file can be
unusable. No torch here (the app reads sentences for hover text before any model is loaded).

Two formats: ``text`` (a sentence per line) and ``labelled`` (``label<TAB>sentence`` per line, as the
labelled Yelp and Yahoo splits of the literature ship): a labelled corpus trains on its sentences and
keeps the labels, so that maps of the latent space can be coloured by them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

FORMATS = ("text", "labelled")
MAX_LABEL_CHARS = 40  # a first field longer than this is text, not a label
# The longest sentence a corpus may hold, in tokens, unless data.max_len drops longer ones: a batch is as long
# as its longest sentence, so one 5 MB line would make a batch of millions of positions (tens of GB of logits).
MAX_TOKENS = {"word": 500, "char": 5000}


class CorpusError(ValueError):
    """A corpus file that cannot be used; the message names the file and the reason."""


def decode_corpus(data: bytes, name: str) -> str:
    """The text of a corpus file's bytes, or a CorpusError naming the file: empty, binary, not UTF-8."""
    if not data.strip():
        raise CorpusError(f"{name}: the file is empty")
    if b"\x00" in data[:65536]:
        raise CorpusError(f"{name}: looks like a binary file (NUL bytes), expected UTF-8 text")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")  # a byte-order mark is no part of the first word
    except UnicodeDecodeError as err:
        line_no = data[: err.start].count(b"\n") + 1
        raise CorpusError(
            f"{name}: not UTF-8 text (invalid byte 0x{data[err.start]:02x} on line {line_no}); "
            "convert it, e.g. with iconv -t UTF-8"
        ) from None


def parse_corpus(
    text: str,
    name: str,
    level: str = "word",
    lowercase: bool = False,
    min_len: int = 1,
    max_len: int = 0,
    fmt: str = "text",
) -> tuple[list[list[str]], list[str] | None]:
    """Tokenised sentences filtered to [min_len, max_len] and, for a labelled corpus, their labels."""
    if fmt not in FORMATS:
        raise CorpusError(f"{name}: unknown corpus format {fmt!r}; choose from {FORMATS}")
    labelled = fmt == "labelled"
    sentences: list[list[str]] = []
    labels: list[str] = []
    nonblank = 0
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if labelled:
            label, tab, line = line.partition("\t")
            if not tab or not label.strip() or len(label.strip()) > MAX_LABEL_CHARS:
                raise CorpusError(
                    f"{name}: line {line_no} is not 'label<TAB>sentence' (a labelled corpus has a short label, "
                    "a tab and the sentence on every line)"
                )
        if lowercase:
            line = line.lower()
        tokens = list(line.strip()) if level == "char" else line.split()
        if not tokens:
            continue
        if not max_len and len(tokens) > MAX_TOKENS.get(level, MAX_TOKENS["word"]):
            raise CorpusError(
                f"{name}: line {line_no} has {len(tokens):,} {'characters' if level == 'char' else 'words'}; a "
                f"sentence may have at most {MAX_TOKENS.get(level, MAX_TOKENS['word']):,} (one sentence per line): "
                "split the file into sentences, or set data.max_len to leave longer lines out"
            )
        nonblank += 1
        if len(tokens) < min_len or (max_len and len(tokens) > max_len):
            continue
        sentences.append(tokens)
        if labelled:
            labels.append(label.strip())
    if not nonblank:
        raise CorpusError(f"{name}: no sentences (only blank lines)")
    if not sentences:
        limit = f"{min_len}–{max_len}" if max_len else f"≥ {min_len}"
        raise CorpusError(f"{name}: all {nonblank} sentences were filtered out by the length limit ({limit} tokens)")
    return sentences, (labels if labelled else None)


def _read_text(path: str | Path) -> tuple[Path, str]:
    path = Path(path)
    if not str(path) or str(path) == ".":
        raise CorpusError("no corpus path given")
    if not path.exists():
        raise CorpusError(f"{path}: corpus file not found")
    if path.is_dir():
        raise CorpusError(f"{path}: is a folder, expected a text file with one sentence per line")
    return path, decode_corpus(path.read_bytes(), str(path))


def read_corpus(
    path: str | Path,
    level: str = "word",
    lowercase: bool = False,
    min_len: int = 1,
    max_len: int = 0,
    fmt: str = "text",
) -> list[list[str]]:
    """Tokenised sentences of a UTF-8 corpus file, filtered to [min_len, max_len] (labels dropped)."""
    path, text = _read_text(path)
    return parse_corpus(text, str(path), level, lowercase, min_len, max_len, fmt)[0]


def read_labels(
    path: str | Path, level: str = "word", lowercase: bool = False, min_len: int = 1, max_len: int = 0
) -> list[str]:
    """The labels of a labelled corpus, one per sentence that read_corpus keeps (same filter, same order)."""
    path, text = _read_text(path)
    return parse_corpus(text, str(path), level, lowercase, min_len, max_len, "labelled")[1] or []


def guess_format(text: str) -> str:
    """``labelled`` when every non-blank line starts with a short field and a tab, else ``text``."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if lines and all("\t" in ln and 0 < len(ln.partition("\t")[0].strip()) <= MAX_LABEL_CHARS for ln in lines):
        return "labelled"
    return "text"


def verbatim_overlap(sentences: Sequence[Sequence[str]], reference: Iterable[Sequence[str]]) -> list[int]:
    """Indices of the ``sentences`` that occur verbatim (the same tokens in the same order) in ``reference``.

    Why: a held-out sentence that is also a training sentence scores what the model remembers, not how it
    generalises. PTB's splits share some of their sentences word for word (mostly short, formulaic ones:
    "revenue rose to $ N million from $ N million"), so held-out figures are worth giving without them too.
    Both sides are compared as read (tokenised, with the same case and length filter as the caller used)."""
    seen = {tuple(tokens) for tokens in reference}
    return [i for i, tokens in enumerate(sentences) if tuple(tokens) in seen]
