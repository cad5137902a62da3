"""Vocabulary: token ↔ id with pad / unk / bos / eos, built from a corpus and saved as JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from .io import atomic_write_text

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)


class VocabError(ValueError):
    """A vocabulary file that cannot be used."""


class Vocab:
    """Ids 0..3 are the specials in SPECIALS order; the rest are tokens by falling frequency."""

    def __init__(self, tokens: Sequence[str], level: str = "word") -> None:
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise VocabError(f"a vocabulary must start with {SPECIALS}")
        if len(set(tokens)) != len(tokens):
            raise VocabError("duplicate tokens in vocabulary")
        if level not in {"word", "char"}:
            raise VocabError(f"unknown level {level!r} (word or char)")
        self.itos: list[str] = list(tokens)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        self.level = level

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    def __len__(self) -> int:
        return len(self.itos)

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        max_size: int = 20000,
        min_count: int = 1,
        level: str = "word",
    ) -> Vocab:
        """Most frequent tokens first (ties broken alphabetically, so builds are reproducible)."""
        counts = Counter(tok for sent in sentences for tok in sent)
        for special in SPECIALS:
            counts.pop(special, None)  # a corpus's own "<unk>" maps onto ours
        ranked = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        room = max(0, max_size - len(SPECIALS)) if max_size else len(ranked)
        return cls(list(SPECIALS) + ranked[:room], level=level)

    def tokenize(self, text: str) -> list[str]:
        return list(text.strip()) if self.level == "char" else text.split()

    def detokenize(self, tokens: Sequence[str]) -> str:
        return ("" if self.level == "char" else " ").join(tokens)

    def encode(self, tokens: Sequence[str]) -> tuple[list[int], list[str]]:
        """Ids for tokens, and the tokens that were not in the vocabulary (mapped to <unk>)."""
        ids, unknown = [], []
        for tok in tokens:
            idx = self.stoi.get(tok)
            if idx is None:
                unknown.append(tok)
                idx = self.unk_id
            ids.append(idx)
        return ids, unknown

    def decode(self, ids: Iterable[int], strip: bool = True) -> list[str]:
        """Tokens for ids; with ``strip``, stop at <eos> and drop pad/bos."""
        out = []
        for i in ids:
            i = int(i)
            if strip and i == self.eos_id:
                break
            if strip and i in (self.pad_id, self.bos_id):
                continue
            out.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return out

    def to_json(self) -> str:
        return json.dumps({"level": self.level, "tokens": self.itos}, ensure_ascii=False)

    def save(self, path: Path) -> None:
        atomic_write_text(Path(path), self.to_json() + "\n")

    @classmethod
    def load(cls, path: Path) -> Vocab:
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise VocabError(f"{path}: vocabulary file missing") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise VocabError(f"{path}: not a vocabulary JSON file ({err})") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("tokens"), list):
            raise VocabError(f"{path}: expected an object with a 'tokens' list")
        if not all(isinstance(t, str) for t in raw["tokens"]):
            raise VocabError(f"{path}: every token must be a string")
        try:
            return cls(raw["tokens"], level=raw.get("level", "word"))
        except VocabError as err:
            raise VocabError(f"{path}: {err}") from None
