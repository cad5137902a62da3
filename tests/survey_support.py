"""Shared helpers for the survey tests (imported by tests/test_survey_*.py)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from explorer.survey import repo
from explorer.survey.db import Store, Survey, connect
from explorer.survey.design import Generated, ItemDraft, SurveyDesign, SystemDraft, generate
from textvae_core.decoding import DecodeConfig
from textvae_core.inference import TextVAE

# the tiny test models decode greedily to the same few words; sampling gives every item distinct texts
SAMPLING = DecodeConfig(method="sample", max_len=12)
_MODELS: dict[str, TextVAE] = {}


def load(path: str) -> TextVAE:
    """Models cached per test session: loading is the slow part of generating items."""
    if path not in _MODELS:
        _MODELS[path] = TextVAE.load(path)
    return _MODELS[path]


def sqlite_store(tmp_path: Path) -> Store:
    return connect(f"sqlite:///{tmp_path / 'surveys.sqlite3'}")


def make_survey(
    store: Store,
    runs: list[Path],
    kind: str = "pairwise",
    n: int = 12,
    per_judge: int = 20,
    status: str = "open",
    **kw: object,
) -> Survey:
    """Design, generate (real tiny models) and store a survey, opened by default."""
    kw.setdefault("decoding", SAMPLING)
    design = SurveyDesign(
        kind=kind,
        title=kw.pop("title", "Which sentence is better?"),
        runs=[str(r) for r in runs],
        n=n,
        items_per_judge=per_judge,
        **kw,
    )  # type: ignore[arg-type]
    survey = repo.create_survey(store, design, generate(design, load))
    if status != "draft":
        survey = repo.set_status(store, survey.id, "open")
    if status == "closed":
        survey = repo.set_status(store, survey.id, "closed")
    return survey


def answer_all(store: Store, survey_token: str, judge_token: str, rng: random.Random, pick: str | None = None) -> int:
    """Answer every item of a judge (random choices unless ``pick``); returns how many were stored."""
    stored = 0
    while (item := repo.next_item(store, survey_token, judge_token)) is not None:
        options = repo.CHOICES[item.kind]
        stored += repo.submit(store, survey_token, judge_token, item.token, pick or rng.choice(options), 1500)
    return stored


# ---------------------------------------------------------------- synthetic items (storage tests need no model)


def synthetic(kind: str = "pairwise", systems: int = 2, per_unit: int = 12) -> Generated:
    """Items with made-up texts: what the storage, assignment and concurrency tests need, without decoding."""
    names = [f"zebra-run-{i}" for i in range(systems)]
    drafts = [SystemDraft(n, f"/runs/secret-folder/{n}", {"objective": "beta-c"}) for n in names]
    items = []
    if kind == "pairwise":
        for a, b in itertools.combinations(range(systems), 2):
            items += [
                ItemDraft(a, f"out {a} {k}", 5 + k % 10, f"input {k}", b, f"out {b} {k}") for k in range(per_unit)
            ]
    else:
        items = [
            ItemDraft(a, f"sample {a} {k} " + "w " * (k % 15), 3 + k % 15)
            for a in range(systems)
            for k in range(per_unit)
        ]
    return Generated(drafts, items, {})


def synthetic_survey(
    store: Store,
    kind: str = "pairwise",
    systems: int = 2,
    per_unit: int = 12,
    per_judge: int = 20,
    status: str = "open",
) -> Survey:
    gen = synthetic(kind, systems, per_unit)
    design = SurveyDesign(kind=kind, title="A study", runs=[d.path for d in gen.systems], items_per_judge=per_judge)
    survey = repo.create_survey(store, design, gen)
    for step in {"draft": [], "open": ["open"], "closed": ["open", "closed"]}[status]:
        survey = repo.set_status(store, survey.id, step)
    return survey


@contextmanager
def fresh_or_sqlite_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database URL for one test: a SQLite file, or a fresh PostgreSQL database (skips if none)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'surveys.sqlite3'}"
        return
    from tests.survey_fixtures import fresh_postgres

    with fresh_postgres(request.getfixturevalue("postgres_url")) as url:
        yield url
