"""Scores of text: BLEU / ROUGE of reconstructions by length bucket, self-BLEU, statistics of generated
sentences and repeats along a homotopy (sacrebleu and rouge-score, imported on first use)."""

from __future__ import annotations

import itertools
import random
from collections import Counter

# Length buckets of Prokhorov et al. Table 1 (tokens of the input sentence).
BUCKETS: dict[str, tuple[int, int]] = {"<=10": (1, 10), "11-20": (11, 20), "21-30": (21, 30)}


def bleu(hypotheses: list[str], references: list[str], order: int = 4) -> float:
    """Corpus BLEU-n (sacrebleu) of whitespace-tokenised text, 0-100."""
    from sacrebleu.metrics import BLEU

    if not hypotheses:
        return float("nan")
    # force: the text is tokenised on purpose, so sacrebleu's "forgot to detokenize" warning does not apply
    scorer = BLEU(max_ngram_order=order, tokenize="none", effective_order=False, force=True)
    return float(scorer.corpus_score(hypotheses, [references]).score)


def rouge(hypotheses: list[str], references: list[str], n: int = 2) -> float:
    """Mean ROUGE-n F1 (rouge-score) over sentence pairs, 0-100."""
    from rouge_score.rouge_scorer import RougeScorer

    if not hypotheses:
        return float("nan")
    scorer = RougeScorer([f"rouge{n}"])
    return (
        100.0
        * sum(scorer.score(r, h)[f"rouge{n}"].fmeasure for h, r in zip(hypotheses, references, strict=True))
        / len(hypotheses)
    )


def reconstruction_scores(inputs: list[str], outputs: list[str]) -> dict[str, dict[str, float]]:
    """BLEU-2/4 and ROUGE-2/4 of reconstructions, overall and per input-length bucket.

    ROUGE is a mean over sentence pairs, so each pair is scored once (rouge-score) and the buckets
    average those scores; BLEU is a corpus statistic, computed by sacrebleu per group.
    """
    from rouge_score.rouge_scorer import RougeScorer

    scorer = RougeScorer(["rouge2", "rouge4"])
    pair_scores = [scorer.score(r, h) for h, r in zip(outputs, inputs, strict=True)]
    groups: dict[str, list[int]] = {"all": list(range(len(inputs)))}
    for name, (lo, hi) in BUCKETS.items():
        groups[name] = [i for i, s in enumerate(inputs) if lo <= len(s.split()) <= hi]

    def mean_rouge(idx: list[int], key: str) -> float:
        if not idx:
            return float("nan")
        return 100.0 * sum(pair_scores[i][key].fmeasure for i in idx) / len(idx)

    out = {}
    for name, idx in groups.items():
        hyp, ref = [outputs[i] for i in idx], [inputs[i] for i in idx]
        out[name] = {
            "n": len(idx),
            "bleu2": bleu(hyp, ref, 2),
            "bleu4": bleu(hyp, ref, 4),
            "rouge2": mean_rouge(idx, "rouge2"),
            "rouge4": mean_rouge(idx, "rouge4"),
        }
    return out


def self_bleu(sentences: list[str], order: int = 4, max_sentences: int = 500, seed: int = 0) -> float:
    """Self-BLEU-n: each sentence scored against all the others as references (Zhu et al. 2018).

    The score of each sentence is sacrebleu's ``sentence_score`` (exp smoothing, effective order),
    fed with statistics gathered once rather than re-extracted from n − 1 references n times: per
    n-gram its largest and second-largest count over the sentences (so the largest count among the
    *others* is a lookup), and the closest other length from a length histogram. Computed on at most
    ``max_sentences`` sentences (a seeded sample, which the caller reports): the figure depends on n.
    """
    from sacrebleu.metrics import BLEU
    from sacrebleu.metrics.helpers import extract_all_word_ngrams

    if len(sentences) > max_sentences:
        sentences = random.Random(seed).sample(sentences, max_sentences)
    n = len(sentences)
    if n < 2:
        return float("nan")
    grams = [extract_all_word_ngrams(s.rstrip(), 1, order) for s in sentences]  # sacrebleu's preprocessing
    top: dict[tuple[str, ...], tuple[int, int, int]] = {}  # n-gram → (largest count, its sentence, second largest)
    for i, (counts, _) in enumerate(grams):
        for g, c in counts.items():
            best = top.get(g)
            if best is None:
                top[g] = (c, i, 0)
            elif c > best[0]:
                top[g] = (c, i, best[0])
            elif c > best[2]:
                top[g] = (best[0], best[1], c)
    lengths = Counter(length for _, length in grams)
    total_score = 0.0
    for i, (counts, hyp_len) in enumerate(grams):
        others = [ln for ln, c in lengths.items() if c - (ln == hyp_len) > 0]
        ref_len = min(others, key=lambda ln: (abs(hyp_len - ln), ln))  # sacrebleu: closest, ties → shorter
        correct, total = [0] * order, [0] * order
        for g, c in counts.items():
            best, holder, second = top[g]
            total[len(g) - 1] += c
            correct[len(g) - 1] += min(c, second if holder == i else best)
        total_score += BLEU.compute_bleu(
            correct, total, hyp_len, ref_len, smooth_method="exp", effective_order=True, max_ngram_order=order
        ).score
    return total_score / n


def generation_stats(sentences: list[str], unk: str = "<unk>") -> dict[str, float]:
    """Mean length in tokens, % of tokens that are <unk>, and distinct sentences, of generated text."""
    tokens = [s.split() for s in sentences]
    n_tok = sum(len(t) for t in tokens)
    return {
        "n": len(sentences),
        "mean_length": n_tok / max(1, len(sentences)),
        "pct_unk": 100.0 * sum(t.count(unk) for t in tokens) / max(1, n_tok),
        "distinct": len(set(sentences)),
    }


def homotopy_repeats(decoded: list[str]) -> int:
    """Steps of a homotopy that decode to the same sentence as the step before (greyed out in the paper)."""
    return sum(a == b for a, b in itertools.pairwise(decoded))
