"""Survey items decoded by real (tiny) models: sources from the test set or pasted, filters, identical outputs
skipped, makes-sense samples per model, reproducible by seed; and design checks that protect blindness."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from explorer.survey.design import SurveyDesign, generate, source_sentences
from explorer.survey.errors import DesignError
from tests.survey_support import SAMPLING, load
from textvae_core.decoding import DecodeConfig
from textvae_core.rundir import WEIGHTS

pytest_plugins = ["tests.survey_fixtures"]


def design(runs: list[Path], **kw: object) -> SurveyDesign:
    kw.setdefault("decoding", SAMPLING)
    kw.setdefault("title", "Pick one")
    return SurveyDesign(kind=kw.pop("kind", "pairwise"), runs=[str(r) for r in runs], **kw)


def test_pairwise_items_are_the_models_reconstructions_of_test_sentences(survey_runs, corpus_dir: Path) -> None:
    d = design(survey_runs, n=8, min_len=5, max_len=7, seed=3)
    gen = generate(d, load)
    test = {line.strip() for line in (corpus_dir / "test.txt").read_text().splitlines()}
    sources = {i.source for i in gen.items}
    assert sources <= test and all(5 <= len(s.split()) <= 7 for s in sources)
    skipped = sum(gen.notes["identical_outputs_skipped"].values())
    assert len(gen.items) + skipped == 8 and gen.notes["sentences"] == 8
    assert [s.name for s in gen.systems] == [r.name for r in survey_runs]
    chosen, _ = source_sentences(d)
    decoded = [
        [r.outputs[0] for r in load(str(run)).reconstruct(chosen, SAMPLING, seed=3 + 7919 * k)]
        for k, run in enumerate(survey_runs)
    ]
    for item in gen.items:  # exactly what each model decodes, in the same batch and seed
        k = chosen.index(item.source)
        assert (item.text_a, item.text_b) == (decoded[item.a][k], decoded[item.b][k])
    assert generate(d, load).items == gen.items  # same design and seed: same survey


def test_identical_outputs_are_not_asked(survey_runs, tmp_path: Path) -> None:
    # the same weights under two names decode (greedy, from μ) to the same sentences: nothing to choose between
    twin = shutil.copytree(survey_runs[0], tmp_path / "twin")
    with pytest.raises(DesignError, match="identical"):
        generate(design([survey_runs[0], twin], n=5, decoding=DecodeConfig(method="greedy", max_len=8)), load)
    gen = generate(design([survey_runs[0], twin, survey_runs[1]], n=5), load)  # sampling: draws differ per model
    assert set(gen.notes["identical_outputs_skipped"]) == {
        "zebra-capacity-run vs twin",
        "zebra-capacity-run vs walrus-vanilla-run",
        "twin vs walrus-vanilla-run",
    }


def test_pasted_sources_are_filtered_and_deduplicated(survey_runs) -> None:
    pasted = "the cat sees the moon\n\nthe cat sees the moon\na dog likes the market today <unk>\nshort\n"
    chosen, notes = source_sentences(design(survey_runs, source="pasted", pasted=pasted, min_len=2, skip_unk=True))
    assert chosen == ["the cat sees the moon"] and notes["source"] == "pasted"
    with pytest.raises(DesignError, match="no source sentence"):
        source_sentences(design(survey_runs, source="pasted", pasted="one two", min_len=5))


def test_makes_sense_draws_n_samples_per_model_within_the_filters(survey_runs) -> None:
    d = design(survey_runs, kind="makes_sense", n=6, min_len=3, max_len=9)
    gen = generate(d, load)
    assert [sum(i.a == k for i in gen.items) for k in range(2)] == [6, 6]
    assert all(3 <= i.length <= 9 and i.length == len(i.text_a.split()) and i.b is None for i in gen.items)


def test_designs_that_would_leak_or_cannot_work_are_refused(survey_runs, tmp_path: Path) -> None:
    cases = {
        "name the run": dict(title=f"Is {survey_runs[0].name} better?"),
        "at least 2": dict(runs=survey_runs[:1]),
        "listed twice": dict(runs=[survey_runs[0], survey_runs[0]]),
        "length range": dict(min_len=8, max_len=3),
        "paste at least": dict(source="pasted", pasted="  \n"),
        "top_p": dict(decoding=DecodeConfig(method="sample", top_p=0.0)),
        "give the survey a title": dict(title="  "),
    }
    for message, kw in cases.items():
        runs = kw.pop("runs", survey_runs)
        d = design(runs, **kw)
        with pytest.raises(DesignError, match=message):
            generate(d, load)
    with pytest.raises(DesignError, match="config"):
        generate(design([survey_runs[0], tmp_path]), load)  # not a run folder


def test_a_run_whose_weights_cannot_be_read_is_reported_plainly(survey_runs, tmp_path: Path) -> None:
    broken = shutil.copytree(survey_runs[1], tmp_path / "half-written")
    (broken / WEIGHTS).write_bytes(b"not safetensors")  # e.g. caught while training rewrites it
    with pytest.raises(DesignError, match="half-written: the model cannot be loaded"):
        generate(design([survey_runs[0], broken], n=3), load)
