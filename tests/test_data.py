"""Corpora and vocabularies: real files, bad files, bucketing."""

from __future__ import annotations

from pathlib import Path

import pytest

from textvae_core.data import Corpus, CorpusError, make_batch, read_corpus
from textvae_core.vocab import SPECIALS, Vocab, VocabError


def write(tmp_path: Path, data: bytes | str, name: str = "c.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\n  \n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("caf\u00e9 au lait\n".encode("latin-1"), "not UTF-8.*line 1"),
        (b"ok line\nbad \xff\xfe here\n", "line 2"),
        (b"one two\nthree\n", "filtered out"),  # every line shorter than min_len=5
    ],
)
def test_bad_corpora_give_clear_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(CorpusError, match=message) as info:
        read_corpus(path, min_len=5)
    assert str(path) in str(info.value)  # the message names the file


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="not found"):
        read_corpus(tmp_path / "nope.txt")
    with pytest.raises(CorpusError, match="folder"):
        read_corpus(tmp_path)


def test_length_filter_and_levels(tmp_path: Path) -> None:
    path = write(tmp_path, "a b\n a b c d e \n\n" + " ".join(["w"] * 31) + "\nQ R S T U\n")
    assert read_corpus(path, min_len=5, max_len=30) == [list("abcde"), list("QRSTU")]
    assert read_corpus(path, min_len=5, max_len=30, lowercase=True)[1] == list("qrstu")
    chars = read_corpus(write(tmp_path, "ab c\n", "ch.txt"), level="char")
    assert chars == [["a", "b", " ", "c"]]


def test_vocab_build_specials_limits_and_roundtrip(tmp_path: Path) -> None:
    sents = [["b", "a", "<unk>"], ["a", "c"], ["a", "b"]]
    vocab = Vocab.build(sents, max_size=6)
    assert vocab.itos[:4] == list(SPECIALS)
    assert vocab.itos[4:] == ["a", "b"]  # by frequency, capped; the corpus's own <unk> is ours
    ids, unknown = vocab.encode(["a", "zebra", "<unk>", "c"])
    assert ids == [4, vocab.unk_id, vocab.unk_id, vocab.unk_id]
    assert unknown == ["zebra", "c"]  # reported back, "<unk>" itself is not unknown
    assert Vocab.build(sents, min_count=2).itos[4:] == ["a", "b"]
    vocab.save(tmp_path / "v.json")
    again = Vocab.load(tmp_path / "v.json")
    assert again.itos == vocab.itos and again.level == "word"
    assert again.decode([4, 5, vocab.eos_id, 4]) == ["a", "b"]


@pytest.mark.parametrize(
    "content",
    ['{"tokens": ["a", "b"]}', "not json", '{"tokens": ["<pad>", "<unk>", "<bos>", "<eos>", 3]}', "[1, 2]"],
)
def test_bad_vocab_files(tmp_path: Path, content: str) -> None:
    with pytest.raises(VocabError):
        Vocab.load(write(tmp_path, content, "v.json"))


def test_make_batch_layout() -> None:
    vocab = Vocab.build([["x", "y", "z"]])
    x, y, z = (vocab.stoi[t] for t in "xyz")
    b = make_batch([[x, y, z], [z]], vocab)
    assert b.src.tolist() == [[x, y, z], [z, 0, 0]]
    assert b.dec_in.tolist() == [[vocab.bos_id, x, y, z], [vocab.bos_id, z, 0, 0]]
    assert b.target.tolist() == [[x, y, z, vocab.eos_id], [z, vocab.eos_id, 0, 0]]
    assert b.lengths.tolist() == [3, 1] and b.n_target_tokens == 6


def test_bucketing_covers_everything_once_reduces_padding_and_is_seeded() -> None:
    import random

    rng = random.Random(0)
    sents = [["w"] * rng.randint(1, 60) for _ in range(2000)]
    corpus = Corpus(sents, Vocab.build(sents))
    bucketed = corpus.batches(32, shuffle=True, seed=3)
    assert sorted(i for b in bucketed for i in b) == list(range(2000))
    assert bucketed == corpus.batches(32, shuffle=True, seed=3)
    assert bucketed != corpus.batches(32, shuffle=True, seed=4)

    def padding(batches: list[list[int]]) -> int:
        return sum(max(corpus.lengths[i] for i in b) * len(b) - sum(corpus.lengths[i] for i in b) for b in batches)

    order = list(range(2000))
    rng.shuffle(order)
    random_batches = [order[i : i + 32] for i in range(0, 2000, 32)]
    assert padding(bucketed) < 0.1 * padding(random_batches)


def test_labelled_corpora_train_on_the_text_and_keep_the_labels(tmp_path: Path) -> None:
    from textvae_core.corpus import guess_format, parse_corpus, read_labels

    path = write(tmp_path, "POS\tthe food was great\nNEG\tcold and late\n\nPOS\tyes\n", "yelp.tsv")
    assert guess_format(path.read_text()) == "labelled"
    assert read_corpus(path, fmt="labelled", min_len=2) == [["the", "food", "was", "great"], ["cold", "and", "late"]]
    assert read_labels(path, min_len=2) == ["POS", "NEG"]  # aligned with the sentences the filter keeps
    assert read_corpus(path)[0] == ["POS", "the", "food", "was", "great"]  # read as plain text, the label is a word
    with pytest.raises(CorpusError, match=r"bad.tsv: line 2 is not 'label<TAB>sentence'"):
        parse_corpus("POS\tfine\nno tab here\n", "bad.tsv", fmt="labelled")
    assert guess_format("a plain sentence\nanother one\n") == "text"


def test_verbatim_overlap_finds_whole_sentences_only() -> None:
    from textvae_core.corpus import verbatim_overlap

    train = [["the", "cat", "sat"], ["revenue", "rose"], ["a", "b"]]
    test = [
        ["the", "cat", "sat"],
        ["the", "cat"],
        ["cat", "sat", "the"],
        ["revenue", "rose"],
        ["A", "b"],
        ["the", "cat", "sat"],
    ]
    assert verbatim_overlap(test, train) == [0, 3, 5]  # a prefix, a reordering or another case is not the sentence
    assert verbatim_overlap(test, iter(train)) == [0, 3, 5]  # the reference is read once: a generator will do
    assert verbatim_overlap([], train) == [] and verbatim_overlap(test, []) == []


def test_ptb_test_split_repeats_64_training_sentences() -> None:
    from textvae_core.corpus import verbatim_overlap

    ptb = Path(__file__).resolve().parents[1] / "data" / "ptb"
    test = read_corpus(ptb / "ptb.test.txt")
    train = read_corpus(ptb / "ptb.train.txt")
    seen = verbatim_overlap(test, train)
    assert (len(test), len(seen)) == (3761, 64)
    assert ["revenue", "rose", "to", "$", "N", "million", "from", "$", "N", "million"] in [test[i] for i in seen]
