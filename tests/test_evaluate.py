"""The evaluate CLI writes a complete eval.json for a run, FCE and syntactic test included."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from textvae_core.checkpoint import load_run
from textvae_core.evaluate import EVAL, PROFILES, EvalConfig, main
from textvae_core.metrics import vocab_fingerprint
from textvae_core.rundir import read_config, write_config

SMALL = ["--k", "3", "--prior-samples", "20", "--homotopy-pairs", "3", "--device", "cpu"]
TINY_FCE = ["--fce-sentences", "40", "--fce-lm-emb", "8", "--fce-lm-hidden", "16", "--fce-lm-epochs", "1"]


@pytest.fixture
def syntax_dir(tmp_path: Path) -> Path:
    """Two tiny categories in the Marvin & Linzen format, one with an NPI-style third column."""
    folder = tmp_path / "syntax"
    folder.mkdir()
    (folder / "agr.tsv").write_text(
        "condition\tgrammatical\tungrammatical\n"
        "sing\tthe cat sees the moon\tthe cat see the moon\n"
        "sing\ta dog likes the river\ta dog like the river\n"
        "plur\tthe cat sees a red car\tthe cat sees a red cars\n",
        encoding="utf-8",
    )
    (folder / "npi.tsv").write_text(
        "condition\tgrammatical\tintrusive\tungrammatical\n"
        "past\tthe teacher finds the house\tx\tthe teacher finds the house today\n",
        encoding="utf-8",
    )
    return folder


def test_evaluate_writes_every_section(trained_run: Path, tmp_path: Path, syntax_dir: Path, capsys) -> None:
    run = shutil.copytree(trained_run, tmp_path / "run")
    args = [str(run), "--profile", "grid", *SMALL, *TINY_FCE, "--syntax-dir", str(syntax_dir), "--syntax-pairs", "2"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "IW-NLL(k=3)" in out and "AU" in out and "[grid]" in out
    res = json.loads((run / EVAL).read_text())
    assert {"bounds", "iw_nll", "latent", "reconstruction", "generation", "homotopy", "fce", "syntax"} <= set(res)
    assert res["profile"] == "grid" and res["config"]["profile"] == "grid"
    assert res["config"]["k"] == 3 and res["config"]["syntax_pairs"] == 2  # explicit flags beat the profile
    assert res["config"]["fce_schemes"] == PROFILES["grid"]["fce_schemes"]  # the rest comes from the profile
    assert res["iw_nll"]["nll"] <= res["bounds"]["nll_bound"] + 1e-6  # same k samples: IW ≤ −ELBO estimate
    assert res["bounds"]["rec_samples"] == 3
    assert 0 <= res["latent"]["active_units"] <= res["latent"]["z_dim"]
    assert set(res["reconstruction"]["scores"]) == {"all", "<=10", "11-20", "21-30"}
    assert set(res["generation"]["schemes"]) >= {"greedy", "top15", "nucleus0.9"}
    assert all(s["n"] == 20 for s in res["generation"]["schemes"].values())  # stats on prior_samples, not 40
    assert 0 <= res["homotopy"]["mean_repeats"] <= res["homotopy"]["max_repeats"]
    fce = res["fce"]
    vocab = load_run(run).vocab
    assert fce["vocab_fingerprint"] == vocab_fingerprint(vocab) and fce["vocab_size"] == len(vocab)
    assert "max_vocab" in fce["vocab"] and fce["lm"]["hidden"] == 16
    ns = fce["schemes"]["nucleus0.9"]
    assert set(fce["schemes"]) == {"nucleus0.9"} and 0 < ns["n_generated"] <= 40 and ns["fce"] > 0
    assert ns["n_test"] == res["bounds"]["n_sentences"]
    syn = res["syntax"]
    assert set(syn["categories"]) == {"agr", "npi"} and syn["categories"]["agr"]["n_pairs"] == 2
    assert syn["categories"]["npi"]["pairs_fully_known"] == 1.0  # "today" is in the tiny grammar
    assert 0 < syn["coverage"] < 1  # "see", "like", "cars" are not
    for p in ("p1", "p2", "p1_bar", "p2_bar"):
        assert 0.0 <= syn["categories"]["agr"][p] <= 1.0
    assert {"likelihood", "reconstruct", "fce nucleus0.9", "syntax", "total"} <= set(res["timings_s"])


def test_fce_and_syntactic_test_can_be_switched_off(trained_run: Path, tmp_path: Path) -> None:
    run = shutil.copytree(trained_run, tmp_path / "run")
    assert main([str(run), *SMALL, "--fce-schemes", "", "--syntax-dir", "", "--max-sentences", "30"]) == 0
    res = json.loads((run / EVAL).read_text())
    assert "fce" not in res and "syntax" not in res
    assert res["profile"] == "full" and res["bounds"]["n_sentences"] == 30
    assert main([str(run), *SMALL, "--fce-sentences", "0", "--syntax-dir", str(tmp_path / "none")]) == 0
    res = json.loads((run / EVAL).read_text())
    assert "fce" not in res and "skipped" in res["syntax"]


def test_profiles_and_their_validation(trained_run: Path, capsys) -> None:
    grid = EvalConfig.for_profile("grid", k=7)
    assert grid.profile == "grid" and grid.k == 7 and grid.prior_samples == PROFILES["grid"]["prior_samples"]
    assert EvalConfig.for_profile("full") == EvalConfig()
    assert grid.self_bleu_n == EvalConfig().self_bleu_n  # self-BLEU stays comparable across profiles
    with pytest.raises(ValueError, match="unknown evaluation profile"):
        EvalConfig.for_profile("fast")
    assert main([str(trained_run), "--fce-schemes", "nucleus0.7"]) == 2
    assert "unknown FCE decoding scheme" in capsys.readouterr().err


def test_evaluate_bad_run_is_reported(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path / "missing"), "--profile", "grid"]) == 2
    assert "no such run" in capsys.readouterr().err


def test_only_refreshes_the_named_sections_with_the_recorded_settings(
    trained_run: Path, tmp_path: Path, syntax_dir: Path, capsys
) -> None:
    run = shutil.copytree(trained_run, tmp_path / "run")
    args = [str(run), *SMALL, "--fce-sentences", "0", "--syntax-dir", str(syntax_dir), "--max-sentences", "30"]
    assert main(args) == 0
    before = json.loads((run / EVAL).read_text())
    stale = json.loads(json.dumps(before))
    for cat in stale["syntax"]["categories"].values():  # an eval.json from before the distinct-pair figures
        del cat["distinct"], cat["n_distinct"]
    stale["syntax"]["categories"]["agr"]["p1"] = -1.0
    (run / EVAL).write_text(json.dumps(stale))
    assert main([str(run), "--only", "syntax"]) == 0
    after = json.loads((run / EVAL).read_text())
    assert after["syntax"] == before["syntax"]  # recomputed alike, with the settings eval.json recorded
    assert {k: v for k, v in after.items() if k not in {"syntax", "timings_s", "refreshed"}} == {
        k: v for k, v in before.items() if k not in {"syntax", "timings_s"}
    }
    assert "syntax" in after["refreshed"]
    assert main([str(run), "--only", "bounds"]) == 2
    assert "refreshable sections" in capsys.readouterr().err
    assert main([str(tmp_path / "nothing"), "--only", "syntax"]) == 2


def test_only_fce_adds_a_scheme_and_keeps_the_measured_ones(trained_run: Path, tmp_path: Path, capsys) -> None:
    base = [*SMALL, *TINY_FCE, "--profile", "grid", "--syntax-dir", "", "--max-sentences", "30"]
    run = shutil.copytree(trained_run, tmp_path / "run")
    assert main([str(run), *base, "--fce-schemes", "nucleus0.9"]) == 0
    before = json.loads((run / EVAL).read_text())
    both = shutil.copytree(trained_run, tmp_path / "both")  # the same run evaluated with both schemes at once
    assert main([str(both), *base, "--fce-schemes", "nucleus0.9,greedy"]) == 0
    expected = json.loads((both / EVAL).read_text())["fce"]["schemes"]

    marked = json.loads(json.dumps(before))
    marked["fce"]["schemes"]["nucleus0.9"]["fce"] = 12.345  # a kept scheme is not recomputed
    (run / EVAL).write_text(json.dumps(marked))
    assert main([str(run), "--only", "fce", "--fce-schemes", "nucleus0.9,greedy"]) == 0
    after = json.loads((run / EVAL).read_text())
    assert after["fce"]["schemes"]["nucleus0.9"]["fce"] == 12.345
    assert after["fce"]["schemes"]["greedy"] == expected["greedy"]  # what a whole evaluation gives
    assert after["config"]["fce_schemes"] == "nucleus0.9,greedy" and "fce" in after["refreshed"]
    assert {k: v for k, v in after.items() if k not in {"fce", "config", "timings_s", "refreshed"}} == {
        k: v for k, v in before.items() if k not in {"fce", "config", "timings_s"}
    }

    assert main([str(run), "--only", "syntax", "--fce-schemes", "greedy"]) == 2
    assert "--only fce" in capsys.readouterr().err
    assert main([str(run), "--only", "fce", "--k", "7"]) == 2
    assert "--k cannot change" in capsys.readouterr().err


def test_train_fit_measures_the_weights_on_training_sentences(trained_run: Path, tmp_path: Path, capsys) -> None:
    """The train_fit section is the closed-form KL of the same weights on training sentences: with the whole
    training file sampled it equals the KL an evaluation of the training split itself measures."""
    run = shutil.copytree(trained_run, tmp_path / "run")
    quick = [*SMALL, "--fce-sentences", "0", "--syntax-dir", ""]
    assert main([str(run), *quick, "--train-sentences", "100000"]) == 0
    fit = json.loads((run / EVAL).read_text())["train_fit"]
    assert main([str(run), *quick, "--split", "train"]) == 0
    on_train = json.loads((run / EVAL).read_text())
    assert "train_fit" not in on_train  # the evaluated split is the training data itself
    assert fit["n_sentences"] == on_train["bounds"]["n_sentences"] and fit["k"] == 1
    assert fit["kl"] == pytest.approx(on_train["bounds"]["kl"], rel=1e-5)
    assert fit["nll_bound"] == pytest.approx(fit["rec"] + fit["kl"])

    assert main([str(run), *quick, "--train-sentences", "7"]) == 0  # a seeded sample: the same 7 every time
    first = json.loads((run / EVAL).read_text())["train_fit"]
    assert first["n_sentences"] == 7
    assert main([str(run), *quick, "--train-sentences", "7"]) == 0
    assert json.loads((run / EVAL).read_text())["train_fit"] == first
    stale = json.loads((run / EVAL).read_text())
    del stale["train_fit"], stale["config"]["train_sentences"]  # an eval.json from before the section
    (run / EVAL).write_text(json.dumps(stale))
    assert main([str(run), "--only", "train_fit"]) == 0
    refreshed = json.loads((run / EVAL).read_text())
    assert refreshed["train_fit"]["n_sentences"] == min(5000, fit["n_sentences"])  # the default sample size
    assert refreshed["config"]["train_sentences"] == 5000 and "train_fit" in refreshed["refreshed"]

    cfg = read_config(run)  # the training file moved away: the rest is measured, the section says why
    cfg.data.train = str(tmp_path / "gone.txt")
    write_config(run, cfg)
    assert main([str(run), *quick]) == 0
    res = json.loads((run / EVAL).read_text())
    assert "gone.txt" in res["train_fit"]["skipped"] and res["bounds"]["n_sentences"] > 0
    assert main([str(run), *quick, "--train-sentences", "0"]) == 0
    assert "train_fit" not in json.loads((run / EVAL).read_text())


def test_overlap_counts_test_sentences_seen_in_training_and_scores_without_them(
    trained_run: Path, tmp_path: Path, corpus_dir: Path
) -> None:
    """The tiny grammar repeats sentences across its splits, as PTB does: eval.json says how many test
    sentences are training sentences, gives BLEU without them, and ``--only overlap`` recomputes it alike."""
    run = shutil.copytree(trained_run, tmp_path / "run")
    assert main([str(run), *SMALL, "--fce-sentences", "0", "--syntax-dir", "", "--train-sentences", "0"]) == 0
    res = json.loads((run / EVAL).read_text())
    train = set((corpus_dir / "train.txt").read_text().splitlines())
    test = (corpus_dir / "test.txt").read_text().splitlines()
    seen = sum(line in train for line in test)
    assert 0 < seen < len(test), "the fixture needs a test split that shares some sentences with training"
    assert res["overlap"]["in_train"] == seen and res["overlap"]["n_sentences"] == len(test)
    assert res["overlap"]["unseen"]["n"] == len(test) - seen
    before = res["overlap"]
    assert main([str(run), "--only", "overlap"]) == 0
    assert json.loads((run / EVAL).read_text())["overlap"] == before
