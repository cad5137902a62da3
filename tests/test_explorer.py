"""The explorer's browser-free logic: run families for sliders, text tools, latent maps."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from explorer.latent_map import MapConfig, load_map, precompute, project, sample_points
from explorer.runs import RunSummary, default_choice, find_runs, headline, headline_order, knob_family
from explorer.textlab import (
    Endpoints,
    decode_config,
    decode_latent,
    encoder_lens,
    homotopy_texts,
    prior_samples,
    reconstruct_table,
    repeat_mask,
    sentence_bleu,
)
from textvae_core.config import RunConfig
from textvae_core.inference import InputError, TextVAE
from textvae_core.rundir import CONFIG, EVAL, LATENT_MAP, WEIGHTS, read_metrics, write_eval


def _fake_run(root: Path, name: str, **changes: object) -> Path:
    """A run folder with only a config (enough for listing and families): β_C as printed (the recipe's knobs
    are set one at a time below)."""
    cfg = RunConfig(recipe="plain")
    cfg.objective.name, cfg.objective.C = "beta-c", 5.0
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        setattr(getattr(cfg, section), key, value)
    run = root / name
    run.mkdir()
    cfg.save(run / CONFIG)
    (run / WEIGHTS).write_bytes(b"")
    return run


def test_knob_family_changes_one_thing_at_a_time(tmp_path: Path) -> None:
    _fake_run(tmp_path, "c5")
    _fake_run(tmp_path, "c20", objective__C=20.0)
    _fake_run(tmp_path, "c10", objective__C=10.0)
    _fake_run(tmp_path, "gru-c10", objective__C=10.0, model__decoder="gru")
    _fake_run(tmp_path, "c10-big", objective__C=10.0, model__hidden=999)
    _fake_run(tmp_path, "c10-b2", objective__C=10.0, objective__beta=2.0)
    _fake_run(tmp_path, "c10-longer", objective__C=10.0, train__epochs=10.0)  # another budget: not a C step
    _fake_run(tmp_path, "c10-bn", objective__C=10.0, model__mu_norm="batchnorm")  # another rate recipe
    _fake_run(tmp_path, "c10-bow", objective__C=10.0, objective__bow=1.0, model__bow_head=True)
    runs, _ = find_runs(tmp_path)
    anchor = next(r for r in runs if r.name == "c5")
    family = knob_family(runs, anchor, "C")
    assert [(v, r.name) for v, r in family] == [(5.0, "c5"), (10.0, "c10"), (20.0, "c20")]
    _fake_run(tmp_path, "vae", objective__C=None)
    runs, _ = find_runs(tmp_path)
    assert knob_family(runs, next(r for r in runs if r.name == "vae"), "C") == []  # no C: no slider
    beta = knob_family(runs, next(r for r in runs if r.name == "c10"), "beta")
    assert [r.name for _, r in beta] == ["c10", "c10-b2"]
    labels = {r.name: r.row()["rate_recipe"] for r in runs}
    assert labels["c10"] == "—" and labels["c10-bn"] == "batch-normalised μ"
    assert labels["c10-bow"] == "bag-of-words × 1"


def test_pages_open_on_the_runs_that_reconstruct_best(tmp_path: Path) -> None:
    runs = []
    for name, bleu4, weights in (
        ("a", 1.0, True),
        ("b", 17.5, True),
        ("c", None, True),
        ("d", 30.0, False),
        ("e", 9.0, True),
    ):
        (tmp_path / name).mkdir()
        if bleu4 is not None:
            write_eval(tmp_path / name, {"reconstruction": {"scores": {"all": {"bleu4": bleu4}}}})
        runs.append(RunSummary(tmp_path / name, RunConfig(), None, weights))
    assert [r.name for r in default_choice(runs)] == ["b", "e", "a"]  # best first; no weights, no eval: last
    assert [r.name for r in default_choice(runs, n=5)] == ["b", "e", "a", "c"]
    chars = RunConfig()
    chars.data.train, chars.data.level = "data/snli_char/train.txt", "char"
    (tmp_path / "f").mkdir()
    write_eval(tmp_path / "f", {"reconstruction": {"scores": {"all": {"bleu4": 10.0}}}})
    runs.append(RunSummary(tmp_path / "f", chars, None, True))  # second best, but another corpus
    assert [r.name for r in default_choice(runs)] == ["b", "e", "a"]
    assert [r.name for r in default_choice(runs, n=5)] == ["b", "e", "a", "c", "f"]
    small = RunConfig()
    small.vocab_size = 5000  # the others: the default
    (tmp_path / "g").mkdir()
    write_eval(tmp_path / "g", {"reconstruction": {"scores": {"all": {"bleu4": 12.0}}}})
    runs.append(RunSummary(tmp_path / "g", small, None, True))  # second best, but a smaller vocabulary
    assert [r.name for r in default_choice(runs)] == ["b", "e", "a"]
    assert [r.name for r in default_choice(runs, n=6)] == ["b", "e", "a", "c", "g", "f"]
    other = RunConfig()
    other.data.train = "data/snli/train.txt"  # short sentences score higher: BLEU does not compare across corpora
    (tmp_path / "h").mkdir()
    write_eval(tmp_path / "h", {"reconstruction": {"scores": {"all": {"bleu4": 40.0}}}})
    runs.append(RunSummary(tmp_path / "h", other, None, True))
    assert [r.name for r in default_choice(runs)] == ["b", "e", "a"]  # the corpus most runs were trained on


def test_headline_prefers_eval_json(trained_run: Path, tmp_path: Path) -> None:
    run = shutil.copytree(trained_run, tmp_path / "r")
    (run / EVAL).write_text(
        '{"split": "test", "bounds": {"kl": 3.2, "rec": 40.0, "nll_bound": 43.2}, "latent": {"active_units": 7},'
        ' "train_fit": {"kl": 3.0, "rec": 31.5}}'
    )
    (summary,), _ = find_runs(tmp_path)
    row = headline(summary)
    assert (row["kl"], row["rec"], row["active_units"], row["source"]) == (3.2, 40.0, 7, "eval.json (test)")
    assert (row["train_kl"], row["train_rec"]) == (3.0, 31.5)  # beside test: the generalisation gaps
    assert read_metrics(run) and all("step" in r for r in read_metrics(run))
    # the Runs table shows the figures before the long model description, every column once
    order = headline_order(row)
    assert order[:2] == ["run", "objective"] and order.index("rec") < order.index("model") < order.index("corpus")
    assert sorted(order) == sorted(row)


def test_text_tools_on_a_trained_run(trained_run: Path) -> None:
    vae = TextVAE.load(trained_run, device="cpu")
    assert sentence_bleu("the cat sees the house", "the cat sees the house") == pytest.approx(100.0)
    assert repeat_mask(["a", "a", "b", "b", "a"]) == [False, True, False, True, False]
    table, unknown = reconstruct_table(vae, ["the cat sees a zeppelin"], decode_config("greedy"), True, 1)
    assert list(table.columns) == ["#", "sample", "input", "output", "BLEU"] and unknown == {
        "the cat sees a zeppelin": ["zeppelin"]
    }
    table, _ = reconstruct_table(vae, ["the cat sees the house"], decode_config("sample", top_k=5), False, 3, seed=1)
    assert len(table) == 3 and table["BLEU"].between(0, 100).all()
    greedy = decode_config("greedy")
    assert homotopy_texts(vae, Endpoints("prior", seed=4), 5, "slerp", greedy) == homotopy_texts(
        vae, Endpoints("prior", seed=4), 5, "slerp", greedy
    )
    path, unknown = homotopy_texts(
        vae, Endpoints("sentences", "the cat sees the house", "a dog finds the zeppelin"), 6, "linear", greedy
    )
    assert len(path) == 6 and unknown == ["zeppelin"]
    lens = encoder_lens(vae, "the cat sees the house")
    assert lens.kl.shape == (vae.z_dim,) and (lens.kl >= 0).all() and (lens.sigma > 0).all()
    assert decode_latent(vae, lens.mu, greedy) == vae.reconstruct(["the cat sees the house"], greedy)[0].outputs[0]
    with pytest.raises(InputError):
        encoder_lens(vae, "   ")
    texts, stats = prior_samples(vae, 8, greedy, seed=3)
    assert len(texts) == 8 and stats["n"] == 8 and texts == prior_samples(vae, 8, greedy, seed=3)[0]
    with pytest.raises(ValueError, match="top_p"):
        decode_config("sample", top_p=0.0)


def test_latent_map_round_trip_and_staleness(trained_run: Path, tmp_path: Path) -> None:
    run = shutil.copytree(trained_run, tmp_path / "r")
    precompute(run, MapConfig(n_posterior=50, n_prior=10), methods=("pca",))
    lm = load_map(run)
    assert lm is not None and lm.n_posterior == 50 and lm.z.shape[0] == 60 and lm.is_prior.sum() == 10
    assert lm.coords["pca"].shape == (60, 2) and len(set(lm.sentence_index.tolist())) == 50
    again = sample_points(TextVAE.load(run, device="cpu"), _sentences(run), MapConfig(n_posterior=50, n_prior=10))
    np.testing.assert_allclose(again.z, lm.z, atol=1e-2)  # seeded on the CPU; stored in float16
    weights = (run / WEIGHTS).read_bytes()  # other weights → the stored map is stale
    from textvae_core.checkpoint import load_run, weights_bytes

    model = load_run(run).model
    for p in model.parameters():
        p.data.add_(0.01)
    (run / WEIGHTS).write_bytes(weights_bytes(model, {"step": "1"}))
    assert load_map(run) is None
    (run / WEIGHTS).write_bytes(weights)
    assert load_map(run) is not None
    (run / LATENT_MAP).write_bytes(b"\x00" * 20)
    assert load_map(run) is None  # unreadable: ignored, never trusted


def _sentences(run: Path) -> list[str]:
    from explorer.latent_map import corpus_for

    return corpus_for(run)


def test_projections_keep_neighbours_apart_from_far_points() -> None:
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(0, 0.1, (60, 8)), rng.normal(5, 0.1, (60, 8))]).astype(np.float32)
    # UMAP is left to benchmarks/app_latency.py and the shipped maps: its numba compile costs ~30 s a process
    for method in ("pca", "tsne"):
        xy = project(z, method)
        a, b = xy[:60].mean(0), xy[60:].mean(0)
        spread = max(xy[:60].std(0).max(), xy[60:].std(0).max())
        assert np.linalg.norm(a - b) > 3 * spread, method  # two clusters stay two clusters
    with pytest.raises(ValueError):
        project(z, "mds")


def test_rate_distortion_shows_one_corpus_at_a_time_opening_on_the_chosen_runs() -> None:
    """D of a character-level run is not D of a word-level one: the corpora are offered one at a time,
    the chosen runs' corpus first, then the one with most runs."""
    from explorer.runs import corpora_first_chosen, corpus_label

    rows = [
        {"run": "a", "corpus": "ptb"},
        {"run": "b", "corpus": "ptb"},
        {"run": "c", "corpus": "snli_char (characters)"},
        {"run": "d", "corpus": "yahoo"},
    ]
    assert corpora_first_chosen(rows, []) == ["ptb", "snli_char (characters)", "yahoo"]
    assert corpora_first_chosen(rows, ["d"]) == ["yahoo", "ptb", "snli_char (characters)"]
    cfg = RunConfig()
    cfg.data.train, cfg.data.level = "data/snli_char/train.txt", "char"
    assert corpus_label(RunSummary(Path("x"), cfg, None, True)) == "snli_char (characters)"
    cfg.data.train, cfg.data.level = "train.txt", "word"
    assert corpus_label(RunSummary(Path("x"), cfg, None, True)) == "train"


def test_curve_names_tell_the_rate_recipe_apart() -> None:
    """A run trained with the rate recipe is another curve than one without, at the same size and budget."""
    from explorer.runs import recipe_mark

    assert recipe_mark(RunConfig()) == ", BN-μ + BoW + dual"  # the default: the rate recipe
    cfg = RunConfig(recipe="plain")
    assert recipe_mark(cfg) == ""
    cfg.model.mu_norm, cfg.objective.bow = "batchnorm", 1.0
    assert recipe_mark(cfg) == ", BN-μ + BoW"
    cfg.objective.bow = 0.5
    assert recipe_mark(cfg) == ", BN-μ + BoW×0.5"  # another weight: the legend says which
    cfg.objective.bow = 1.0
    cfg.model.mu_norm = "none"
    assert recipe_mark(cfg) == ", BoW"
    cfg.objective.bow, cfg.objective.free_bits = 0.0, 0.25
    assert recipe_mark(cfg) == ", FB0.25"  # free bits: another curve than the plain objective's
    cfg.train.aggressive = True
    assert recipe_mark(cfg) == ", FB0.25 + aggr"  # so is a run trained with He et al.'s aggressive updates
    cfg.train.aggressive, cfg.model.dropout, cfg.model.emb_dropout = False, 0.3, 0.3
    assert recipe_mark(cfg) == ", FB0.25 + DO0.3"  # decoder dropout regularises: another curve
    cfg.model.emb_dropout, cfg.model.z_mode = 0.5, "both"
    assert recipe_mark(cfg) == ", FB0.25 + DO0.5in/0.3out + z→h₀"
    cfg.model.bidirectional = True
    assert recipe_mark(cfg) == ", FB0.25 + DO0.5in/0.3out + z→h₀ + bi-enc"
    cfg.model.tie_embeddings = True
    assert recipe_mark(cfg).endswith(" + bi-enc + tied")


def test_training_curves_draw_the_aggressive_phase_and_the_lr_only_for_runs_that_log_them() -> None:
    from explorer.plots import CURVES, training_curves

    step = {"split": "train", "loss": 1.0, "rec": 1.0, "kl": 1.0, "elbo": -2.0, "step": 1}
    titles = lambda fig: [a.text for a in fig.layout.annotations]  # noqa: E731
    plain = training_curves([step, {"split": "valid", "step": 1, "rec": 1.0}])
    assert len(titles(plain)) == len(CURVES) and plain.layout.height == 290 * 3
    aggressive = training_curves([{**step, "enc_updates": 42.0}, {"split": "valid", "step": 1, "rec": 1.0, "mi": 3.2}])
    assert titles(aggressive)[-2:] == [
        "encoder-only updates before a step",
        "I(x; z) on validation (ends the aggressive phase)",
    ]
    assert aggressive.layout.height == 290 * 4
    mi = [t for t in aggressive.data if list(t.y) == [3.2]]
    assert len(mi) == 1 and mi[0].name == "validation"
    cosine = training_curves([{**step, "lr": 1e-3}, {**step, "step": 2, "lr": 5e-4}])  # a schedule logs its lr
    assert titles(cosine)[-1] == "learning rate" and list(cosine.data[-1].y) == [1e-3, 5e-4]


def test_neighbours_in_the_latent_space(trained_run: Path) -> None:
    from explorer.latent_map import corpus_for
    from explorer.neighbours import chance_level, code_bank, nearest, query_code, word_overlap

    vae = TextVAE.load(trained_run, device="cpu")
    sentences = corpus_for(trained_run, "test")
    bank = code_bank(vae, sentences)
    assert bank.shape == (len(sentences), vae.z_dim)
    mu, text, unknown = query_code(vae, sentences[0])
    assert text == sentences[0] and not unknown and np.allclose(mu, bank[0], atol=1e-5)
    hood = nearest(bank, sentences, mu, text, k=5)
    assert len(hood.table) == 5 and text not in list(hood.table["sentence"])  # its own code left out
    assert list(hood.table["distance"]) == sorted(hood.table["distance"]) and list(hood.table["rank"]) == [
        1,
        2,
        3,
        4,
        5,
    ]
    # the nearest by cosine are the bank's rows with the highest cosine similarity, the query's row excluded
    sims = bank @ mu / (np.linalg.norm(bank, axis=1) * np.linalg.norm(mu))
    sims[[i for i, s in enumerate(sentences) if s == text]] = -np.inf
    assert list(hood.table["sentence"]) == [sentences[i] for i in np.argsort(-sims, kind="stable")[:5]]
    assert 0.0 <= hood.overlap <= 1.0 and hood.length_gap >= 0
    far = nearest(bank, sentences, mu, text, k=5, metric="euclidean")
    assert far.table["distance"].iloc[0] == pytest.approx(
        min(np.linalg.norm(bank[i] - mu) for i, s in enumerate(sentences) if s != text), rel=1e-4
    )
    assert word_overlap("a b c", "b c d") == pytest.approx(0.5) and word_overlap("", "") == 0.0
    overlap, gap = chance_level(["a b", "a b c d", "x"], "a b")
    assert overlap == pytest.approx((2 / 4 + 0) / 2) and gap == pytest.approx((2 + 1) / 2)
    with pytest.raises(ValueError, match="one of cosine, euclidean"):
        nearest(bank, sentences, mu, text, k=5, metric="manhattan")


def test_the_embedding_projector_files_hold_each_sentences_code_row_for_row() -> None:
    from explorer.neighbours import projector_tsv

    codes = np.array([[0.5, -1.25], [3e-7, 2.0], [1.0, 1.0]], dtype=np.float32)
    vectors, metadata = projector_tsv(codes, ["the cat", "a\ttabbed  line", "x"], ["pos", "neg", "pos"])
    back = np.array([[float(v) for v in line.split("\t")] for line in vectors.splitlines()])
    assert np.allclose(back, codes, rtol=1e-6) and len(vectors.splitlines()) == 3
    assert metadata.splitlines() == ["sentence\tlength\tlabel", "the cat\t2\tpos", "a tabbed line\t3\tneg", "x\t1\tpos"]
    assert projector_tsv(codes[:1], ["only"])[1] == "sentence\tlength\nonly\t1\n"  # unlabelled: two columns
    with pytest.raises(ValueError, match="rows must match"):
        projector_tsv(codes, ["one", "two"])


def test_latent_arithmetic_moves_c_the_way_a_became_b(trained_run: Path) -> None:
    from explorer.textlab import analogy_texts, decode_config, decode_latent

    vae = TextVAE.load(trained_run, device="cpu")
    greedy = decode_config("greedy")
    a, b, c = "the cat sees the house", "a dog finds the house", "the bird sees a car"
    texts, unknown = analogy_texts(vae, a, b, c, [0.0, 1.0], greedy)
    mu = vae.encode([a, b, c]).mu
    assert texts[0] == decode_latent(vae, mu[2], greedy) and not unknown  # s = 0: c's own code
    assert texts[1] == decode_latent(vae, mu[2] + mu[1] - mu[0], greedy)
    same, _ = analogy_texts(vae, a, a, c, [0.0, 1.0, 2.0], greedy)  # no change from a to b: c at every scale
    assert same == [texts[0]] * 3
    _, unknown = analogy_texts(vae, a, b, "the zeppelin sees a car", [1.0], greedy)
    assert unknown == ["zeppelin"]


def test_recipe_diff_names_the_settings_two_runs_differ_in(trained_run: Path, tmp_path: Path) -> None:
    from explorer.runs import flatten, recipe_diff
    from textvae_core.config import RunConfig
    from textvae_core.recipe import rate_settings

    assert flatten({"a": {"b": 1, "c": {"d": 2}}, "e": 3}) == {"a.b": 1, "a.c.d": 2, "e": 3}
    other = shutil.copytree(trained_run, tmp_path / "other")
    cfg = RunConfig.load(other / CONFIG)
    cfg.objective.C, cfg.model.dropout, cfg.train.out, cfg.train.num_threads = 42.0, 0.3, "elsewhere", 7
    cfg.model.mu_scale = rate_settings(cfg)["model"]["mu_scale"]  # as a run trained at C = 42 would have it
    cfg.save(other / CONFIG)
    shutil.copytree(trained_run, tmp_path / "base")
    runs, _ = find_runs(tmp_path)
    by_name = {r.name: r for r in runs}
    rows = recipe_diff([by_name["base"], by_name["other"]])
    base = RunConfig.load(trained_run / CONFIG)
    assert rows == [
        {"setting": "model.dropout", "base": str(base.model.dropout), "other": "0.3"},
        {
            "setting": "objective.C",
            "base": str(base.objective.C) if base.objective.C is not None else "—",
            "other": "42.0",
        },
    ]  # train.out and threads are bookkeeping, not recipe
    assert recipe_diff([by_name["base"], by_name["base"]]) == []


def test_tables_csv_puts_every_runs_rows_in_one_file() -> None:
    import io

    import pandas as pd

    from explorer.markup import tables_csv

    csv = tables_csv(
        {
            "a": pd.DataFrame({"sentence": ["x, y", "z"]}),
            "b": pd.DataFrame({"sentence": []}),
            "c": pd.DataFrame({"sentence": ["w"]}),
        }
    )
    back = pd.read_csv(io.StringIO(csv))
    assert list(back.columns) == ["run", "sentence"] and list(back["run"]) == ["a", "a", "c"]
    assert list(back["sentence"]) == ["x, y", "z", "w"]  # a comma inside a sentence survives
    assert tables_csv({}) == "" and tables_csv({"b": pd.DataFrame({"s": []})}) == ""


def test_corpus_neighbourhoods_against_a_code_that_holds_the_wording() -> None:
    """Codes built from the words themselves put sentences sharing words together; codes of noise do not."""
    from explorer.neighbours import corpus_neighbourhoods

    rng = np.random.default_rng(0)
    topics = [["cat", "dog", "bird"], ["bank", "stock", "market"], ["rain", "snow", "wind"]]
    sentences = [" ".join(rng.choice(topics[i % 3], 4)) + " today" * (i % 4) for i in range(90)]
    vocab = sorted({w for t in sentences for w in t.split()})
    wording = np.array([[t.split().count(w) for w in vocab] for t in sentences], dtype=np.float32)
    by_words = corpus_neighbourhoods(wording, sentences, k=5)
    by_noise = corpus_neighbourhoods(rng.normal(size=(90, 8)).astype(np.float32), sentences, k=5)
    assert by_words.chance_overlap == pytest.approx(by_noise.chance_overlap)  # chance: the sentences alone
    assert by_words.overlap > 2 * by_words.chance_overlap and by_words.overlap > by_noise.overlap
    assert abs(by_noise.overlap - by_noise.chance_overlap) < 0.1
    lengths = np.array([len(t.split()) for t in sentences])
    pairs = np.abs(lengths[:, None] - lengths[None, :])
    assert by_words.chance_length_gap == pytest.approx(pairs.sum() / (90 * 89))


def test_validation_curves_line_up_runs_by_epoch_unless_an_epoch_validates_twice() -> None:
    import pandas as pd

    from explorer.plots import validation_history

    once = [{"run": r, "step": s * e, "epoch": e, "rec": 100.0 - e, "kl": 3.0, "nll_bound": 103.0 - e}
            for r, s in (("batch64", 658), ("batch128", 329)) for e in (1, 2, 3)]  # fmt: skip
    with pytest.raises(KeyError):
        validation_history(pd.DataFrame(once), "−ELBO")  # a screen label is no key
    fig = validation_history(pd.DataFrame(once), "nll_bound")
    assert fig.layout.yaxis.title.text == "−ELBO (validation, nats / sentence)"
    assert fig.layout.xaxis.title.text == "epoch"
    assert {t.name: list(t.x) for t in fig.data} == {"batch128": [1, 2, 3], "batch64": [1, 2, 3]}
    assert list(fig.data[0].y) == [102.0, 101.0, 100.0]
    twice = [*once, {"run": "batch64", "step": 900, "epoch": 1, "rec": 98.5, "kl": 3.0, "nll_bound": 101.5}]
    fig = validation_history(pd.DataFrame(twice), "rec")
    assert fig.layout.xaxis.title.text == "optimizer step"
    assert list(next(t for t in fig.data if t.name == "batch64").x) == [658, 900, 1316, 1974]


def test_rate_distortion_legend_names_each_curve_by_its_runs_and_its_hover_rounds() -> None:
    """A legend entry is the short group name of its curve's runs (sweep-lstm-c10 … → "sweep-lstm-c*"), not the
    long model string (which the hover still gives); R, D and the latent statistics hover to two decimals."""
    import pandas as pd

    from explorer import plots
    from explorer.labels import label
    from explorer.runs import curve_names, group_name

    lstm, gru = "lstm→lstm 64/128/32, 5000 words, 4 epochs, BN-μ + BoW", "gru→gru 64/128/32, 5000 words, 4 epochs"
    rows = [
        {"run": f"sweep-{arch}-c{c}", "model": model, "C": float(c), "kl": c * 0.987654, "rec": 90 - c * 1.234567,
         "path": f"/runs/sweep-{arch}-c{c}", "active_units": 7, "log_det_cov": -3.14159}
        for arch, model in (("lstm", lstm), ("gru", gru)) for c in (10, 20, 30)
    ] + [{"run": "ptb-vae", "model": "lstm→lstm 128/256/32, 10002 words", "C": None, "kl": 1.23456, "rec": 95.4321,
          "path": "/runs/ptb-vae", "active_units": 2, "log_det_cov": -1.0}]  # fmt: skip
    fig = plots.rate_distortion(pd.DataFrame(rows))
    assert sorted(t.name for t in fig.data) == ["ptb-vae", "sweep-gru-c*", "sweep-lstm-c*"]
    for trace in fig.data:
        shown = trace.hovertemplate
        assert "%{x:.2f}" in shown and "%{y:.2f}" in shown, shown
        fields = dict(re.findall(r"<br>([^<]+?)=%\{([^}]*)\}", shown))  # label → what it shows
        assert all(fields[label(k)].endswith(":.2f") for k in ("log_det_cov", "C")), shown
        assert fields["model"].startswith("customdata") and fields[label("active_units")].endswith("]"), shown
    lstm_trace = next(t for t in fig.data if t.name == "sweep-lstm-c*")
    assert lstm in [str(v) for row in lstm_trace.customdata for v in row]  # the model, whole, in the hover
    assert group_name(["ptb-lstm-vae", "ptb-lstm-autogen-m1"]) == "ptb-lstm-*"
    assert group_name(["sweep-lstm-c10-e10", "sweep-lstm-c100-e10"]) == "sweep-lstm-c*-e10"
    same = [{"run": f"a-{i}", "model": "x, BoW" if i < 3 else "x, FB"} for i in range(1, 5)]  # a-* twice
    assert curve_names(same) == {"x, BoW": "x, BoW", "x, FB": "x, FB"}  # never merged into one line
    vague = [{"run": f"{p}-c{c}", "model": "y"} for p in ("before", "gamma") for c in (3, 15)]  # they share "-c"
    assert curve_names(vague) == {"y": "y"}  # "*-c*" names nothing: the model string instead
