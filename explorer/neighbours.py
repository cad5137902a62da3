"""Nearest neighbours in a run's latent space: which held-out sentences a model codes close to a query.

The map of the Aggregated posterior page is a 2-D projection; neighbours here are found in the full
latent space, on the posterior means μ, so two runs can be compared on what their codes put together (a
code that describes its sentence groups by wording and topic, a collapsed one by nothing much). Each
neighbour also says how much of its wording and length it shares with the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # the Aggregated posterior page finds neighbours in stored codes before any model loads
    from textvae_core.inference import TextVAE

METRICS = ("cosine", "euclidean")


def code_bank(vae: TextVAE, sentences: list[str]) -> np.ndarray:
    """Posterior means μ of every sentence [N, z_dim] (float32), batched by length."""
    return vae.encode(sentences).mu.cpu().numpy().astype(np.float32)


def query_code(vae: TextVAE, text: str) -> tuple[np.ndarray, str, list[str]]:
    """The query's μ, its text as the model reads it (the bank's form), and its words outside the vocabulary."""
    enc = vae.encode([text])
    return enc.mu[0].cpu().numpy().astype(np.float32), vae.vocab.detokenize(enc.tokens[0]), list(enc.unknown[0])


def projector_tsv(codes: np.ndarray, sentences: list[str], labels: list[str] | None = None) -> tuple[str, str]:
    """The two files the TensorFlow Embedding Projector loads: the vectors (one tab-separated row per sentence)
    and their metadata (a header row, then sentence, length in words and the label if any), row for row, so
    a run's latent space can be explored there too."""
    import io

    if len(codes) != len(sentences) or (labels is not None and len(labels) != len(sentences)):
        raise ValueError(f"{len(codes)} codes for {len(sentences)} sentences: the rows must match")
    vectors = io.StringIO()
    np.savetxt(vectors, np.asarray(codes, dtype=np.float32), fmt="%.6g", delimiter="\t")
    flat = lambda text: " ".join(str(text).split())  # noqa: E731 (a tab or newline inside would split a row)
    header = "sentence\tlength" + ("\tlabel" if labels is not None else "")
    rows = [f"{flat(t)}\t{len(t.split())}" + (f"\t{flat(labels[i])}" if labels is not None else "")
            for i, t in enumerate(sentences)]  # fmt: skip
    return vectors.getvalue(), "\n".join([header, *rows]) + "\n"


def word_overlap(a: str, b: str) -> float:
    """Jaccard overlap of the two sentences' word sets (0–1): how much wording two neighbours share."""
    wa, wb = set(a.split()), set(b.split())
    return len(wa & wb) / len(wa | wb) if wa | wb else 0.0


@dataclass
class Neighbourhood:
    table: pd.DataFrame  # rank, sentence, distance, shared words, length
    overlap: float  # mean word overlap of the neighbours with the query
    length_gap: float  # mean |length − the query's length| in words


def nearest(
    bank: np.ndarray, sentences: list[str], query: np.ndarray, query_text: str, k: int, metric: str = "cosine"
) -> Neighbourhood:
    """The ``k`` sentences of the bank whose μ are closest to ``query`` (the query's own sentence left out
    when the bank holds it)."""
    from sklearn.neighbors import NearestNeighbors

    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}: one of {', '.join(METRICS)}")
    k = max(1, min(k, len(sentences) - 1))
    index = NearestNeighbors(n_neighbors=k + 1, metric=metric, algorithm="brute").fit(bank)
    dist, idx = index.kneighbors(query.reshape(1, -1).astype(np.float32))
    pairs = [(int(i), float(d)) for i, d in zip(idx[0], dist[0], strict=True) if sentences[int(i)] != query_text][:k]
    n_words = len(query_text.split())
    rows = [
        {
            "rank": r + 1,
            "sentence": sentences[i],
            "distance": d,
            "shared words": word_overlap(query_text, sentences[i]),
            "length": len(sentences[i].split()),
        }
        for r, (i, d) in enumerate(pairs)
    ]
    table = pd.DataFrame(rows, columns=["rank", "sentence", "distance", "shared words", "length"])
    return Neighbourhood(
        table=table,
        overlap=float(table["shared words"].mean()) if rows else 0.0,
        length_gap=float((table["length"] - n_words).abs().mean()) if rows else 0.0,
    )


def chance_level(sentences: list[str], query_text: str) -> tuple[float, float]:
    """Mean word overlap and length gap of every other sentence with the query: what neighbours chosen by
    a code that holds nothing of the sentence score on average."""
    pool = [s for s in sentences if s != query_text]
    if not pool:
        return 0.0, 0.0
    n_words = len(query_text.split())
    overlap = float(np.mean([word_overlap(query_text, s) for s in pool]))
    gap = float(np.mean([abs(len(s.split()) - n_words) for s in pool]))
    return overlap, gap


@dataclass
class CorpusNeighbourhoods:
    overlap: float  # mean word overlap of every sentence with its k nearest in z
    length_gap: float  # mean |length difference| in words, same pairs
    chance_overlap: float  # the same over 20,000 seeded random pairs of different sentences (a code of nothing)
    chance_length_gap: float  # the same over every pair of different sentences (exact)


def corpus_neighbourhoods(
    bank: np.ndarray, sentences: list[str], k: int = 5, metric: str = "cosine"
) -> CorpusNeighbourhoods:
    """How much wording and length each held-out sentence shares with its ``k`` nearest codes, over the whole
    set, against all pairs: one figure per run for what its latent space puts together."""
    from sklearn.neighbors import NearestNeighbors

    n = len(sentences)
    idx = NearestNeighbors(n_neighbors=k + 1, metric=metric, algorithm="brute").fit(bank).kneighbors(bank)[1]
    words = [set(t.split()) for t in sentences]
    lengths = np.array([len(t.split()) for t in sentences])

    def overlap(i: int, j: int) -> float:
        union = words[i] | words[j]
        return len(words[i] & words[j]) / len(union) if union else 0.0

    near = [[j for j in row if j != i][:k] for i, row in enumerate(idx)]
    pairs_overlap = np.mean([np.mean([overlap(i, j) for j in js]) for i, js in enumerate(near)])
    gap = np.mean([np.abs(lengths[js] - lengths[i]).mean() for i, js in enumerate(near)])
    # chance: the length gap over every pair of different sentences, the overlap over 20,000 seeded random pairs
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, n, 20_000), rng.integers(0, n, 20_000)
    keep = a != b
    chance_overlap = float(np.mean([overlap(i, j) for i, j in zip(a[keep], b[keep], strict=True)]))
    ordered = np.sort(lengths).astype(np.float64)  # Σ over pairs |l_i − l_j| = Σ_i l_(i) (2i − n + 1), no n × n matrix
    chance_gap = float(2 * (ordered * (2 * np.arange(n) - n + 1)).sum() / (n * (n - 1)))
    return CorpusNeighbourhoods(float(pairs_overlap), float(gap), chance_overlap, chance_gap)
