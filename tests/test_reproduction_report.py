"""The reproduction report (experiments.reproduction) on fake eval.json files: a claim that holds, one that fails,
missing runs; and on the shipped checkpoints, the committed docs/REPRODUCTION.md byte for byte."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from experiments.grid import load_grid
from textvae_core.config import RunConfig, TrainConfig
from textvae_core.paths import ROOT
from textvae_core.rundir import CONFIG, EVAL, METRICS


@pytest.fixture(scope="module")
def report() -> Any:
    """The report's modules under one name, as the tests use them."""
    from experiments import reproduction
    from experiments.reproduction import engine, why

    script = importlib.import_module("experiments.reproduction_report")
    return SimpleNamespace(
        build=reproduction.build,
        main=script.main,
        n_grid=len(load_grid()),
        monotone=engine.monotone,
        rises_capped=engine.rises_capped,
        falls_to_zero=engine.falls_to_zero,
        spearman=engine.spearman,
        cell=engine.cell,
        fmt_apart=engine.fmt_apart,
        greedy_fce_why=lambda evals: why.greedy_fce(
            [engine.RunData(f"r{i}", e, None, [], "") for i, e in enumerate(evals)]
        ),
    )


def fake_eval(kl: float, rec: float, au: int, bleu: float, repeats: float, fce: float | None, vocab: str) -> dict:
    scores = {
        b: {"n": 10, "bleu2": bleu, "bleu4": bleu / 2, "rouge2": bleu, "rouge4": bleu / 3}
        for b in ("all", "<=10", "11-20", "21-30")
    }
    ev: dict[str, Any] = {
        "profile": "grid",
        "config": {"fce_sentences": 1000},
        "bounds": {"kl": kl, "rec": rec, "nll_bound": kl + rec, "kl_share": 0.01},
        "iw_nll": {"nll": kl + rec - 1, "k": 10},
        "latent": {
            "active_units": au,
            "z_dim": 32,
            "log_det_cov": -kl / 10,
            "mean_sq_norm": kl / 100,
            "kl_moment_matched": kl / 20,
            "mutual_information": 1.0,
        },
        "reconstruction": {"scores": scores},
        "generation": {"schemes": {"greedy": {"self_bleu4": 10 - kl / 20, "mean_length": 12.0, "pct_unk": 1.0}}},
        "homotopy": {"mean_repeats": repeats},
        "timings_s": {"likelihood": 1.0, "total": 2.5},
    }
    if fce is not None:
        lm = {"emb_dim": 64, "hidden": 128}
        ev["fce"] = {
            "vocab_fingerprint": vocab,
            "vocab_size": 100,
            "lm": lm,
            "schemes": {"nucleus0.9": {"fce": fce, "n_generated": 1000, "pct_unk_generated": 0.5}},
        }
    return ev


def write_run(root: Path, name: str, C: float | None, ev: dict | None) -> None:
    d = root / name
    d.mkdir(parents=True)
    cfg = {
        "model": {"encoder": "lstm", "decoder": "lstm", "emb_dim": 8, "hidden": 16, "z_dim": 32},
        "data": {"max_vocab": 100},
        "train": {"epochs": 1.0},
        "objective": {"m": 0.0, "beta": 1.0, "C": C},
        "vocab_size": 100,
    }
    (d / CONFIG).write_text(json.dumps(cfg))
    (d / METRICS).write_text('{"step": 1, "split": "valid", "elbo": -50.0}\n{"bad json\n')
    if ev is not None:
        (d / EVAL).write_text(json.dumps(ev))


def claim_row(text: str, start: str) -> str:
    rows = [line for line in text.splitlines() if line.startswith(f"| {start}")]
    assert len(rows) == 1, (start, rows)
    return rows[0]


def test_report_holds_fails_and_missing(report: Any, tmp_path: Path) -> None:
    ck = tmp_path / "checkpoints"
    # KL within ±1 of C everywhere (holds); D rises with C (fails); AU rises to the cap (holds)
    write_run(ck, "ptb-lstm-bc3", 3.0, fake_eval(3.2, 100.0, 20, 5.0, 2.0, 80.0, "aaa"))
    ev15 = fake_eval(14.5, 101.0, 32, 6.0, 0.0, 79.0, "aaa")
    ev15["fce"]["schemes"]["nucleus0.9"]["n_generated"] = 998  # empty generations dropped: still comparable
    write_run(ck, "ptb-lstm-bc15", 15.0, ev15)
    write_run(ck, "ptb-lstm-bc100", 100.0, fake_eval(99.6, 105.0, 32, 7.0, 0.0, 90.0, "bbb"))
    write_run(ck, "sweep-lstm-c10", 10.0, fake_eval(12.5, 90.0, 30, 5.0, 0.0, None, "ccc"))  # misses C by 2.5
    write_run(ck, "ptb-lstm-vae", None, None)  # training, no eval.json yet
    text = report.build(ck)

    kl_row = claim_row(text, "C − 1 ≤ KL ≤ C + 1 for every C (Table 1 runs)")
    assert "3 of 3 measured runs within" in kl_row and "| holds |" in kl_row
    d_row = claim_row(text, "D falls as C rises")
    assert "100.00 → 101.00 → 105.00" in d_row and "**does not hold**" in d_row
    assert "decoder" in d_row.split("**does not hold**")[1]  # the explanation is there
    au_row = claim_row(text, "active units rise with C")
    assert "20/32 → 32/32 → 32/32" in au_row and "| holds |" in au_row  # flat only at the cap
    assert "| holds |" in claim_row(text, "homotopy: repeats")  # 2 → 0 → 0 has fallen as far as it can
    # a claim about every run fails as soon as one measured run misses, even while others are missing
    sweep_row = claim_row(text, "C − 1 ≤ KL ≤ C + 1 for every C (sweep, LSTM")
    assert "C = 10: KL 12.50" in sweep_row and "**does not hold**" in sweep_row
    assert "no training-batch KL in the log of C = 10" in sweep_row
    gru_row = claim_row(text, "C − 1 ≤ KL ≤ C + 1 for every C (sweep, GRU")
    assert "not yet measured (missing: sweep-gru-c10" in gru_row
    # FCE under different vocabularies is not compared; a missing section is named
    assert "not comparable" in claim_row(text, "nucleus p = 0.9: FCE at C = 100")
    assert "| holds |" in claim_row(text, "nucleus p = 0.9: FCE at C = 3 ≈ C = 15")  # 80 vs 79, same vocab
    assert "eval.json has no 'syntax'" in claim_row(text, "C = 3: p1 ≈ p2")
    assert "| greedy | 3 | 86.6 | not in this eval (grid profile) |" in text  # FCE greedy: full profile only
    # missing runs are listed, in the claims and in the run list
    assert "not yet measured (missing: ptb-lstm-vae)" in claim_row(text, "the plain VAE collapses")
    assert "| ptb-lstm-vae | autogen | training started, no weights yet |" in text
    assert "| ptb-lstm-autogen-m2 | autogen | not started |" in text
    assert f"Runs evaluated: 4 of {report.n_grid}." in text
    # the rate–distortion table shows what exists and dashes for the rest
    assert "| 10 | 12.50 | 90.00 | -1.25 | — |" in text


def test_constraint_misses_are_told_apart_by_the_training_log() -> None:
    """Off C on the training batches already (the penalty lost to the other terms), or only on test."""
    from experiments.reproduction import why
    from experiments.reproduction.engine import RunData

    def run(c: float, test_kl: float, train_kl: float) -> RunData:
        cfg = RunConfig(recipe="plain", train=TrainConfig(epochs=1.0))  # the β_C paper's setup as printed
        cfg.objective.C, cfg.objective.bow = c, 1.0
        curve = [{"step": s, "epoch": 3, "split": "train", "kl": train_kl, "steps_averaged": 10} for s in (10, 20)]
        return RunData(f"c{c:g}", {"bounds": {"kl": test_kl}}, cfg, curve, "complete")

    text = why.constraint([run(10, 11.9, 11.6), run(20, 20.3, 20.0), run(50, 48.5, 49.9), run(90, 87.0, 88.5)])
    assert (
        "above C on the training batches of the weights' last epoch already (C = 10: test 11.90, training batches 11.60)"
        in text
    )
    assert "bag-of-words loss" in text and "C = 20" not in text  # within C ± 1: not a miss
    assert "off on test (C = 50: test 48.50, training batches 49.90): the generalisation gap" in text
    assert "below C on the training batches of the weights' last epoch already (C = 90" in text
    assert "the bag-of-words loss (weight 1) gain from more rate outweighs the penalty's slope β = 1" in text
    hair = why.constraint([run(90, 91.004, 90.5)])  # off by 0.004: the figure must not print as the bound
    assert "(C = 90: test 91.004, training batches 90.50)" in hair
    # the kept weights' KL on training sentences (eval.json's train_fit) tells the weights' own miss from the test set's
    kept = run(90, 91.004, 90.01)
    kept.eval["train_fit"] = {"kl": 91.05}
    told = why.constraint([kept])
    assert "off C on training sentences too, though within C ± 1 on the last epoch's training batches" in told
    assert "(C = 90: test 91.004, training sentences 91.05, training batches 90.01)" in told
    assert "generalisation gap" not in told
    gap = run(100, 95.44, 100.18)
    gap.eval["train_fit"] = {"kl": 100.41}
    gap_text = (
        "off on test (C = 100: test 95.44, training sentences 100.41, training batches 100.18): the generalisation gap"
    )
    assert gap_text in why.constraint([gap])
    stronger = run(10, 11.9, 11.6)
    stronger.config.objective.beta, stronger.config.objective.bow = 2.0, 0.5  # read from the config, not assumed
    assert "(weight 0.5) gain from more rate outweighs the penalty's slope β = 2" in why.constraint([stronger])


def test_kept_weights_are_judged_by_their_own_epoch_of_training() -> None:
    """Under train.keep_best the measured weights are an earlier step's: the KL the penalty saw then counts."""
    from experiments.reproduction import why
    from experiments.reproduction.engine import RunData

    cfg = RunConfig(recipe="plain", train=TrainConfig(epochs=1.0))
    cfg.objective.C = 100.0
    curve = [
        {"step": s, "epoch": e, "split": "train", "kl": kl, "steps_averaged": 10}
        for s, e, kl in ((10, 0, 90.0), (20, 0, 110.0), (30, 1, 100.0), (40, 1, 100.2), (50, 2, 96.0))
    ]
    last = RunData("c100", {"bounds": {"kl": 97.0}}, cfg, curve, "complete")
    assert why.last_epoch_mean(last, "kl") == pytest.approx(96.0)
    kept = RunData("c100", {"bounds": {"kl": 102.0}, "kept": {"by": "rec", "step": 40}}, cfg, curve, "complete")
    assert why.last_epoch_mean(kept, "kl") == pytest.approx(100.1)
    assert "off on test (C = 100: test 102.00, training batches 100.10)" in why.constraint([kept])


def test_overfit_is_said_only_when_validation_d_turned_up() -> None:
    """The C = 100 note says a run overfits when validation D rose after its low while training D fell; it
    averages the final epoch's training lines by how many steps each stands for."""
    from experiments.reproduction import why
    from experiments.reproduction.engine import RunData

    def run(valid: list[float]) -> RunData:
        train = [
            {"step": s, "epoch": e, "split": "train", "rec": d, "steps_averaged": n}
            for s, e, d, n in ((10, 0, 120.0, 10), (20, 1, 90.0, 10), (30, 2, 60.0, 10), (31, 2, 50.0, 30))
        ]
        vals = [{"step": 10 * (e + 1), "epoch": e + 1, "split": "valid", "rec": d} for e, d in enumerate(valid)]
        return RunData("c100", {"bounds": {"kl": 100.0}}, None, train + vals, "complete")

    text = why.overfit(run([100.0, 80.0, 85.0]))
    assert "lowest after epoch 2 of 3 (80.0), then rose to 85.0" in text and "fell 90.0 → 52.5" in text
    assert why.overfit(run([100.0, 90.0, 80.0])) == ""  # still falling at the end
    assert why.overfit(run([])) == ""
    rising = run([100.0, 80.0, 85.0])
    rising.curve = [
        dict(rec, rec=200.0) if rec["epoch"] == 2 and rec["split"] == "train" else rec for rec in rising.curve
    ]
    assert why.overfit(rising) == ""  # training D rose too: not overfitting
    assert why.still_falling(rising) == ""  # lowest before the end: not still falling
    falling = why.still_falling(run([100.0, 90.0, 80.0]))
    assert "still falling at the end (90.0 → 80.0 over epoch 3)" in falling
    assert why.still_falling(run([100.0])) == ""  # one validation: no trend to read


def test_report_helpers(report: Any) -> None:
    assert report.monotone([1, 2, 3], True) and not report.monotone([1, 1, 3], True)
    assert report.rises_capped([20, 32, 32], 32) and not report.rises_capped([20, 25, 25], 32)
    assert (
        report.falls_to_zero([2, 0, 0]) and not report.falls_to_zero([0, 0, 0]) and not report.falls_to_zero([2, 3, 0])
    )
    assert report.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert report.spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert report.cell("mean |p1 − p2|") == "mean \\|p1 − p2\\|"
    assert report.fmt_apart(91.004, 91.0) == "91.004"  # a hair off the bound shows the hair
    assert report.fmt_apart(91.3, 91.0) == "91.30"
    assert report.fmt_apart(91.00004, 91.0) == "91.0000"  # at most four decimals


def test_report_cli_on_an_empty_folder(report: Any, tmp_path: Path) -> None:
    out = tmp_path / "REPRO.md"
    assert report.main(["--checkpoints", str(tmp_path / "none"), "--out", str(out)]) == 0
    text = out.read_text()
    assert f"Runs evaluated: 0 of {report.n_grid}." in text and "0 hold, 0 do not hold" in text


def test_the_shipped_report_regenerates_byte_for_byte(report: Any) -> None:
    """docs/REPRODUCTION.md is what the report makes of checkpoints/: regenerate it after changing either."""
    assert report.build(ROOT / "checkpoints") == (ROOT / "docs" / "REPRODUCTION.md").read_text(encoding="utf-8")


def test_adding_a_claim_is_one_entry(tmp_path: Path) -> None:
    from experiments.reproduction.engine import Claim, Falls, Metric, RunData, judge

    ev = lambda kl: {"bounds": {"kl": kl}}  # noqa: E731
    runs = {n: RunData(n, ev(k), None, [], "evaluated") for n, k in (("a", 3.0), ("b", 2.0), ("c", 2.5))}
    claim = Claim("KL falls", "a paper's figure", ("a", "b", "c"), (Metric("bounds/kl"),), Falls(), "because")
    row = judge(claim, runs)
    assert (row.verdict, row.figure, row.note) == ("fails", "3.00 → 2.00 → 2.50", "because")
    assert judge(Claim("KL falls", "", ("a", "b"), (Metric("bounds/kl"),), Falls()), runs).verdict == "holds"
    assert "eval.json has no 'latent'" in judge(Claim("x", "", ("a",), (Metric("latent/au"),), Falls()), runs).status
    assert judge(Claim("x", "", ("a", "zz"), (Metric("bounds/kl"),), Falls()), runs).status.endswith("(missing: zz)")


def test_record_section_lists_full_vocabulary_runs_and_judges_the_record(report: Any, tmp_path: Path) -> None:
    ck = tmp_path / "checkpoints"

    def full_vocab_run(name: str, kl: float, rec: float) -> None:
        ev = fake_eval(kl, rec, 32, 5.0, 0.0, None, "aaa")
        ev["bounds"] |= {"n_sentences": 3761, "n_tokens": 82430, "ppl_bound": 2.0}
        write_run(ck, name, 7.0, ev)
        cfg = json.loads((ck / name / CONFIG).read_text())
        cfg["data"]["max_vocab"], cfg["vocab_size"] = 20000, 10002
        (ck / name / CONFIG).write_text(json.dumps(cfg))

    full_vocab_run("ptb-lstm-vae", 0.5, 100.0)  # collapsed: listed, but not the best non-collapsed run
    full_vocab_run("ptb-lstm-record", 7.1, 94.0)  # −ELBO 101.10 with KL > 5: the goal is met
    ev = json.loads((ck / "ptb-lstm-record" / EVAL).read_text())
    ev["iw_nll"]["ppl"] = 97.3
    (ck / "ptb-lstm-record" / EVAL).write_text(json.dumps(ev))
    text = report.build(ck)
    assert (
        "| ptb-lstm-record | emb 8 / hidden 16 / z 32, 1 epochs | 7.10 | 101.10 | 100.10 (10) | 4.613 | 2.0 | 97.3 |"
        in text
    )
    assert "| ptb-lstm-vae |" in text.split("## PTB test likelihood")[1]
    assert "| holds |" in claim_row(text, "a likelihood-tuned LSTM VAE")
    assert "Best non-collapsed run so far: ptb-lstm-record, −ELBO 101.10" in text

    shutil.rmtree(ck)
    full_vocab_run("ptb-lstm-record", 3.0, 97.0)  # −ELBO 100, but collapsed towards KL 3: a miss
    row = claim_row(report.build(ck), "a likelihood-tuned LSTM VAE")
    assert "**does not hold**" in row and "CPU" in row and "KL 3.00 ≤ 5" in row

    # not collapsed, 2 nats short, validation still falling 0.5 nats per epoch: ≥ 4 more epochs
    shutil.rmtree(ck)
    full_vocab_run("ptb-lstm-record", 7.0, 96.5)
    valid = [
        {"split": "valid", "epoch": e, "nll_bound": 110.0 - e / 2, "lr": 1e-3 if e < 3 else 5e-4} for e in range(7)
    ]
    (ck / "ptb-lstm-record" / METRICS).write_text("".join(json.dumps(r) + "\n" for r in valid))
    row = claim_row(report.build(ck), "a likelihood-tuned LSTM VAE")
    assert "**does not hold**" in row and "IW-NLL 102.50 (k = 10)" in row
    assert "109.50 → 107.00 over the last 5 epochs, learning rate lowered 1 time: still falling 0.50" in row
    assert "the 2.00 nats left are at least 4 more epochs" in row

    # one noisy last epoch does not make a falling curve look flat; a decay at the last record is named
    valid[-1] |= {"nll_bound": 107.6, "lr": 2.5e-4}
    (ck / "ptb-lstm-record" / METRICS).write_text("".join(json.dumps(r) + "\n" for r in valid))
    row = claim_row(report.build(ck), "a likelihood-tuned LSTM VAE")
    assert "lowered 2 times (the last at the final validation: no step trained at the lower rate)" in row
    assert "still falling 0.41 nats per epoch" in row

    # best at epoch 4, then two validations above it at lower learning rates: levelled off, although the
    # window's slope (from the epochs before the best) still falls
    decayed = [{"split": "valid", "epoch": e, "nll_bound": 110.0 - e / 2, "lr": 1e-3} for e in range(5)]
    decayed += [
        {"split": "valid", "epoch": 5, "nll_bound": 108.05, "lr": 5e-4},
        {"split": "valid", "epoch": 6, "nll_bound": 108.02, "lr": 2.5e-4},
    ]
    (ck / "ptb-lstm-record" / METRICS).write_text("".join(json.dumps(r) + "\n" for r in decayed))
    row = claim_row(report.build(ck), "a likelihood-tuned LSTM VAE")
    assert "lowest 108.00 at epoch 4, above it in the 2 validations after it although the learning rate" in row
    assert "fell to 0.00025: levelled off, so more epochs of this recipe would not close the 2.00 nats" in row
    assert "still falling" not in row

    # still creeping down, but at a learning rate decayed to 1/16 of its start: a spent schedule, no pace
    spent = [
        {"split": "valid", "epoch": e, "nll_bound": 108.0 - e / 20, "lr": 1e-3 / 2 ** max(0, e - 2)} for e in range(7)
    ]
    (ck / "ptb-lstm-record" / METRICS).write_text("".join(json.dumps(r) + "\n" for r in spent))
    row = claim_row(report.build(ck), "a likelihood-tuned LSTM VAE")
    assert "still falling 0.05 nats per epoch, but at a learning rate decayed to 6.3e-05 (1/16 of 0.001)" in row
    assert "so more epochs of this recipe would close little of the 2.00 nats" in row and "more epochs at" not in row

    flat = [{"split": "valid", "epoch": e, "nll_bound": 108.0 + (e == 6) * 0.1} for e in range(7)]  # stalled
    (ck / "ptb-lstm-record" / METRICS).write_text("".join(json.dumps(r) + "\n" for r in flat))
    row = claim_row(report.build(ck), "a likelihood-tuned LSTM VAE")
    assert "no longer falling, so more epochs at this size would not close the 2.00 nats" in row


def test_greedy_fce_why_checks_the_papers_unk_explanation(report: Any) -> None:
    def ev(fce: float, unk: float, sb: float) -> dict:
        return {
            "fce": {"schemes": {"greedy": {"fce": fce, "pct_unk_generated": unk}}},
            "generation": {"schemes": {"greedy": {"self_bleu4": sb}}},
        }

    # FCE exactly inverse to %unk, %unk not rising with C: the paper's mechanism, our order
    why = report.greedy_fce_why([ev(190.0, 21.0, 98.0), ev(206.0, 20.0, 97.0), ev(182.0, 24.0, 92.0)])
    assert "%unk of the greedy corpora 21.0 / 20.0 / 24.0, FCE 190.00 / 206.00 / 182.00" in why
    assert "FCE falls exactly where %unk rises" in why and "near copies" in why
    why = report.greedy_fce_why([ev(190.0, 21.0, 80.0), ev(206.0, 25.0, 70.0), ev(182.0, 24.0, 60.0)])
    assert "ours do not order FCE" in why and "near copies" not in why


def test_active_units_at_the_cap_from_the_smallest_c_names_the_normalised_mean() -> None:
    """All 64 active at every C is a miss the report explains by batch-normalised μ, with C = 3's variances;
    without normalisation it says only that flat below the cap would be a miss."""
    from experiments.reproduction import engine, why

    def run(C: float, norm: str) -> engine.RunData:
        cfg = RunConfig(recipe="plain", train=TrainConfig(epochs=1.0))  # the β_C paper's setup as printed
        cfg.model.mu_norm, cfg.objective.C = norm, C
        latent = {"active_units": 64, "z_dim": 64, "mean_sq_norm": 0.1, "au_variances": [0.045, 0.2, 0.158]}
        return engine.RunData(f"c{C:g}", {"latent": latent}, cfg, [], "")

    text = why.active_units([run(3, "batchnorm"), run(15, "batchnorm"), run(100, "batchnorm")])
    assert "batch-normalised μ" in text and "at C = 3" in text and "0.045–0.200" in text and "all 64" in text
    plain = why.active_units([run(3, "none"), run(15, "none"), run(100, "none")])
    assert plain == "AU can not exceed z_dim (64 here, 64 in the paper); flat below the cap would be a miss"


def test_active_units_that_dip_between_two_capacities_say_how_far_under_the_threshold() -> None:
    """A fall in AU from one C to the next names the dimensions left out and whether they went quiet or only
    slipped under 0.01, from the per-dimension variances AU is counted on."""
    from experiments.reproduction import engine, why

    def run(C: float, variances: list[float]) -> engine.RunData:
        cfg = RunConfig(recipe="plain", train=TrainConfig(epochs=1.0))  # the β_C paper's setup as printed
        cfg.model.mu_norm, cfg.objective.C = "batchnorm", C
        au = sum(v > 0.01 for v in variances)
        latent = {"active_units": au, "z_dim": 4, "mean_sq_norm": 0.1, "au_variances": variances}
        return engine.RunData(f"c{C:g}", {"latent": latent}, cfg, [], "")

    top = run(100, [1.0, 1.1, 1.2, 1.3])
    near = why.active_units([run(3, [0.03, 0.05, 0.06, 0.07]), run(15, [0.006, 0.008, 0.5, 0.8]), top])
    assert near.startswith("falls from C = 3 to C = 15 (4 → 2 of 4): the 2 dimensions left out at C = 15")
    assert "0.0060–0.0080" in near and "just under AU's threshold of 0.01" in near and "0.0300" in near
    assert "sum rises 0.2 → 1.3" in near
    quiet = why.active_units([run(3, [0.03, 0.05, 0.06, 0.07]), run(15, [1e-5, 2e-5, 0.5, 0.8]), top])
    assert "vary by 1.0e-05–2.0e-05 across sentences: they went quiet" in quiet and "threshold" not in quiet


def test_a_flat_nucleus_fce_is_explained_by_the_spread_and_the_width_of_q_z() -> None:
    from experiments.reproduction import engine, why

    def run(C: float, fce: float, log_det_cov: float) -> engine.RunData:
        cfg = RunConfig(recipe="plain", train=TrainConfig(epochs=1.0))  # the β_C paper's setup as printed
        cfg.objective.C = C
        ev = {"fce": {"schemes": {"nucleus0.9": {"fce": fce}}}, "latent": {"log_det_cov": log_det_cov}}
        return engine.RunData(f"c{C:g}", ev, cfg, [], "")

    text = why.nucleus_fce([run(3, 150.0, -2.0), run(15, 151.5, -4.0), run(100, 149.0, 15.77)])
    assert "within 1.7 %" in text and "C = 100 run's q(z) is wider" in text and "log det Cov 15.77" in text


def test_the_recipe_note_names_the_bag_of_words_run_and_whose_weights_were_kept() -> None:
    """Table 1's runs that differ only by the bag-of-words loss and by keeping their best weights share one
    recipe in the note; it says which run has the loss, which weights were kept and which are the last step's
    (with where that run's validation D was lowest, from its log)."""
    from experiments.reproduction import claims, engine
    from experiments.reproduction.report import Report

    def run(name: str, C: float, bow: float, keep: str, kept_step: int | None) -> engine.RunData:
        cfg = RunConfig(recipe="plain", train=TrainConfig(epochs=1.0))  # the β_C paper's setup as printed
        cfg.objective.C, cfg.objective.bow, cfg.model.bow_head, cfg.train.keep_best = C, bow, bow > 0, keep
        ev = {"step": 30, "bounds": {"rec": 90.0, "kl": C}} | (
            {"kept": {"by": "rec", "step": kept_step}} if kept_step else {}
        )
        curve = [{"split": "valid", "step": s, "rec": r} for s, r in ((10, 95.0), (20, 93.5), (30, 94.2))]
        return engine.RunData(name, ev, cfg, curve, "evaluated")

    runs = {
        claims.TABLE1[0]: run(claims.TABLE1[0], 3.0, 0.0, "rec", 20),
        claims.TABLE1[1]: run(claims.TABLE1[1], 15.0, 0.0, "rec", 20),
        claims.TABLE1[2]: run(claims.TABLE1[2], 100.0, 1.0, "", None),
        **{n: run(n, 10.0, 0.0, "", None) for n in claims.LONG},
    }
    note = Report(runs).budget_caveat()
    assert note.startswith("Recipe note: all three runs are emb 128 / hidden 256 / z 32, 1 epochs")
    assert "C = 100 alone adds the bag-of-words loss" in note
    assert "lowest validation D for C = 3 (step 20 of 30) and C = 15 (step 20 of 30)" in note
    assert "last step for C = 100, whose validation D was lowest at step 20 (93.50 against 94.20 at its end)" in note
    runs[claims.TABLE1[2]] = run(claims.TABLE1[2], 100.0, 1.0, "rec", 20)  # all three kept: no last-step clause
    note = Report(runs).budget_caveat()
    assert "C = 15 (step 20 of 30) and C = 100 (step 20 of 30) (PTB overfits at this size within 10 epochs)." in note
    assert "last step" not in note
    runs[claims.TABLE1[0]] = run(claims.TABLE1[0], 3.0, 0.0, "rec", 30)  # kept at the end: still falling
    note = Report(runs).budget_caveat()
    assert "lowest validation D for C = 15 (step 20 of 30) and C = 100 (step 20 of 30) (PTB overfits" in note
    assert "lowest at the last validation (step 30) for C = 3: no overfitting within the budget" in note
    assert note.endswith("the weights kept are the last step's.")
    # kept at the end with the weight average (train.average_from): the mean is what was kept, per run
    for name, C in zip(claims.TABLE1, (3.0, 15.0), strict=False):
        runs[name] = run(name, C, 0.0, "rec", 30)
    runs[claims.TABLE1[1]].config.train.average_from = 8.0
    note = Report(runs).budget_caveat()
    assert note.startswith("Recipe note: all three runs are")  # averaging alone does not split the recipe
    assert note.endswith(
        "the weights kept are the last step's for C = 3; the mean of the weights every 100 steps from epoch 8 on "
        "for C = 15."
    )
    assert "weights of the best valid D (the mean of the weights every 100 steps from epoch 8 on)" in (
        Report(runs).budgets(claims.TABLE1)
    )
    runs[claims.TABLE1[1]].config.train.keep_best = ""  # averaged without keeping the best: the mean is shipped
    assert Report(runs).budgets(claims.TABLE1).count("shipping the mean of the weights every 100 steps") == 1


def test_a_recipe_names_how_its_learning_rate_moved() -> None:
    """Two runs that differ only in their lr schedule read differently in the report's recipe notes."""
    from experiments.reproduction.report import recipe
    from textvae_core.config import RunConfig

    cfg = RunConfig(recipe="plain", train=TrainConfig(epochs=1.0))
    assert "lr" not in recipe(cfg)
    cfg.train.lr_schedule, cfg.train.lr_hold, cfg.train.lr_final = "cosine", 7.0, 1e-5
    assert "lr 0.001 held 7 epochs, then on a half cosine to 1e-5" in recipe(cfg)
    cfg.train.lr_schedule, cfg.train.lr_decay = "constant", 0.5
    assert "lr 0.001 × 0.5 on a plateau" in recipe(cfg)
