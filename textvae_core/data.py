"""Corpora: reading with clear errors, length filtering, id tensors, length-bucketed batches."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .corpus import CorpusError as CorpusError  # reading lives in corpus (no torch); re-exported
from .corpus import read_corpus as read_corpus
from .vocab import Vocab


@dataclass
class Batch:
    """One padded batch. ``src`` is what the encoder reads; the decoder reads ``dec_in`` (bos + x)
    and predicts ``target`` (x + eos); ``lengths`` counts the tokens of x."""

    src: torch.Tensor  # [B, L] token ids, pad-filled
    lengths: torch.Tensor  # [B] tokens per sentence (CPU, for packing)
    dec_in: torch.Tensor  # [B, L+1]
    target: torch.Tensor  # [B, L+1]

    def to(self, device: torch.device) -> Batch:
        nb = device.type == "cuda"
        return Batch(
            self.src.to(device, non_blocking=nb),
            self.lengths,
            self.dec_in.to(device, non_blocking=nb),
            self.target.to(device, non_blocking=nb),
        )

    @property
    def n_target_tokens(self) -> int:
        return int(self.lengths.sum()) + len(self.lengths)


def make_batch(seqs: Sequence[Sequence[int]], vocab: Vocab) -> Batch:
    """Pad id sequences into a Batch (no Python loop over time steps)."""
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    if (lengths == 0).any():
        raise CorpusError("empty sentence in batch")
    width = int(lengths.max()) + 1
    src = torch.full((len(seqs), width), vocab.pad_id, dtype=torch.long)
    # one masked write of all ids (row-major order matches the mask's) instead of a copy per row
    flat = torch.as_tensor(np.fromiter(itertools.chain.from_iterable(seqs), dtype=np.int64))
    src[torch.arange(width) < lengths.unsqueeze(1)] = flat
    dec_in = torch.cat([torch.full((len(seqs), 1), vocab.bos_id, dtype=torch.long), src[:, :-1]], 1)
    target = src.clone()
    target[torch.arange(len(seqs)), lengths] = vocab.eos_id
    return Batch(src[:, :-1].contiguous(), lengths, dec_in, target)


class Corpus:
    """Sentences of one split as id lists, with the tokens that were out of vocabulary counted."""

    def __init__(self, sentences: list[list[str]], vocab: Vocab, name: str = "") -> None:
        self.name = name
        self.vocab = vocab
        self.ids: list[list[int]] = []
        self.n_unknown = 0
        for sent in sentences:
            ids, unknown = vocab.encode(sent)
            self.ids.append(ids)
            self.n_unknown += len(unknown)
        self.lengths = [len(s) for s in self.ids]

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, idx: Sequence[int]) -> Corpus:
        """The sentences at ``idx`` as a corpus of their own (same vocabulary, no re-encoding)."""
        sub = Corpus([], self.vocab, self.name)
        sub.ids = [self.ids[i] for i in idx]
        sub.lengths = [self.lengths[i] for i in idx]
        return sub

    @property
    def n_tokens(self) -> int:
        return sum(self.lengths)

    def batches(self, batch_size: int, shuffle: bool = False, seed: int = 0, chunk: int = 50) -> list[list[int]]:
        """Index lists of length-bucketed batches.

        Sentences are sorted by length within chunks of ``chunk`` batches, so each batch holds
        sentences of nearly equal length (little padding); the batch order is then shuffled.
        The result depends only on ``seed``, so a resumed run can replay an epoch's order.
        """
        order = list(range(len(self.ids)))
        rng = random.Random(seed)
        if shuffle:
            rng.shuffle(order)
            span = max(1, batch_size * chunk)
            chunks = [order[i : i + span] for i in range(0, len(order), span)]
        else:
            chunks = [order]
        batches = []
        for c in chunks:
            c = sorted(c, key=self.lengths.__getitem__)
            batches += [c[i : i + batch_size] for i in range(0, len(c), batch_size)]
        if shuffle:
            rng.shuffle(batches)
        return batches

    def batch(self, idx: Sequence[int]) -> Batch:
        return make_batch([self.ids[i] for i in idx], self.vocab)

    def iter_batches(self, batch_size: int, shuffle: bool = False, seed: int = 0, chunk: int = 50) -> Iterator[Batch]:
        for idx in self.batches(batch_size, shuffle, seed, chunk):
            yield self.batch(idx)
