"""Survey storage on SQLite (the default) and PostgreSQL (where available): frozen items, blind judge views,
balanced assignment, stop-and-resume, idempotent answers, and clear errors for bad input."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from explorer.survey import assign, repo
from explorer.survey.db import DB_ENV, DEFAULT_DB, Answer, Item, connect, database_url
from explorer.survey.errors import (
    ItemRejected,
    JoinRefused,
    JudgeNotFound,
    NameTaken,
    SurveyError,
    SurveyNotFound,
    SurveyNotOpen,
)
from tests.survey_support import answer_all, synthetic_survey

pytest_plugins = ["tests.survey_fixtures"]


def count_answers(store) -> int:
    with store.read() as s:
        return s.scalar(select(func.count()).select_from(Answer))


def test_default_database_is_a_wal_sqlite_file_under_var(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)
    assert database_url() == f"sqlite:///{DEFAULT_DB}" and DEFAULT_DB.parent.name == "var"
    monkeypatch.setenv(DB_ENV, f"sqlite:///{tmp_path / 'x' / 'env.sqlite3'}")
    store = connect()
    with store.read() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (tmp_path / "x" / "env.sqlite3").exists()


def test_items_are_frozen_and_judges_see_texts_only(any_store) -> None:
    survey = synthetic_survey(any_store, per_unit=6)
    before = repo.items_frame(any_store, survey.id)
    assert len(before) == 6 and set(before["model A"]) == {"zebra-run-0"}
    ticket = repo.join(any_store, survey.token, rng=random.Random(1))
    item = repo.next_item(any_store, survey.token, ticket.token)
    shown = repr(item) + repr(ticket) + repr(repo.public_survey(any_store, survey.token))
    assert "zebra" not in shown and "secret-folder" not in shown and "beta-c" not in shown
    assert len(item.token) >= 22 and item.token not in {str(i) for i in range(100)}
    assert sorted(item.texts) == sorted(
        before.loc[before["input"] == item.source, ["output A", "output B"]].iloc[0].tolist()
    )
    answer_all(any_store, survey.token, ticket.token, random.Random(0))
    pd_after = repo.items_frame(any_store, survey.id)
    assert pd_after.equals(before)  # answering changes no item


def test_each_judge_gets_at_most_n_items_spread_evenly_in_their_own_order(any_store) -> None:
    survey = synthetic_survey(any_store, kind="makes_sense", systems=4, per_unit=10, per_judge=10)
    models = {row["output A"]: row["model A"] for _, row in repo.items_frame(any_store, survey.id).iterrows()}
    orders, seen = [], Counter()
    for j in range(8):
        ticket = repo.join(any_store, survey.token, rng=random.Random(j))
        assert ticket.total == 10
        texts = []
        while (item := repo.next_item(any_store, survey.token, ticket.token)) is not None:
            texts.append(item.texts[0])
            repo.submit(any_store, survey.token, ticket.token, item.token, "yes")
        per_model = Counter(models[t] for t in texts)
        assert max(per_model.values()) - min(per_model.values()) <= 1 and len(per_model) == 4
        orders.append(texts)
        seen.update(texts)
    assert len({tuple(o) for o in orders}) == 8  # shuffled per judge
    assert max(seen.values()) - min(seen.values()) <= 1  # 80 views over 40 items: each item seen twice


def test_choose_balances_groups_and_sides() -> None:
    cands = [assign.Candidate(i, i % 3, seen=0) for i in range(30)]
    picks = assign.choose(cands, 20, random.Random(0))
    groups = Counter(p.item_id % 3 for p in picks)
    assert len(picks) == 20 and sorted(groups.values()) == [6, 7, 7]
    assert sum(p.swapped for p in picks) == 10
    assert len({p.item_id for p in picks}) == 20
    # items seen least come first within a group, and the least-served group gets the extra item
    cands = [assign.Candidate(i, "g" if i < 4 else "h", seen=1 if i in (0, 1, 4, 5) else 0) for i in range(8)]
    picks = assign.choose(cands, 3, random.Random(3))
    assert {p.item_id for p in picks} <= {2, 3, 6, 7}
    assert len(assign.choose(cands, 50, random.Random(0))) == 8  # fewer items than N: all of them


def test_a_judge_comes_back_by_their_code_and_no_one_takes_their_place_by_name(any_store) -> None:
    survey = synthetic_survey(any_store, per_unit=12, per_judge=8)
    ticket = repo.join(any_store, survey.token, name="  Ada   Lovelace ")
    firsts = []
    for _ in range(3):
        item = repo.next_item(any_store, survey.token, ticket.token)
        firsts.append(item.token)
        repo.submit(any_store, survey.token, ticket.token, item.token, "left")
    back = repo.resume(any_store, survey.token, ticket.token)
    assert (back.done, back.total, back.name) == (3, 8, "Ada Lovelace")
    for impostor in ("Ada Lovelace", "ada lovelace", " ADA  LOVELACE"):  # the impersonation of issue 43
        with pytest.raises(NameTaken, match="already taken"):
            repo.join(any_store, survey.token, name=impostor)
    nxt = repo.next_item(any_store, survey.token, ticket.token)
    assert nxt.number == 4 and nxt.token not in firsts
    other = repo.join(any_store, survey.token)  # anonymous: a new judge every time
    assert other.token != ticket.token and other.name is None


def test_joins_are_capped_per_client_and_per_survey(any_store, monkeypatch: pytest.MonkeyPatch) -> None:
    survey = synthetic_survey(any_store, per_unit=4, per_judge=2)
    tokens = {repo.join(any_store, survey.token, client="c1").token for _ in range(repo.JOINS_PER_CLIENT)}
    assert len(tokens) == repo.JOINS_PER_CLIENT
    with pytest.raises(JoinRefused, match="as many times as it may"):
        repo.join(any_store, survey.token, client="c1")  # one person, five identities: refused from the fourth
    repo.join(any_store, survey.token, client="c2")  # another client still joins
    monkeypatch.setenv(repo.MAX_JUDGES_ENV, str(repo.JOINS_PER_CLIENT + 1))  # as many as have joined
    with pytest.raises(JoinRefused, match="all the judges it needs"):
        repo.join(any_store, survey.token, client="c3")
    from explorer.survey import access

    a, b = access.client_key("203.0.113.9", survey.token), access.client_key("203.0.113.9", "other")
    assert a and a != b and "203.0.113.9" not in a and access.client_key(None, survey.token) is None


def test_a_double_submit_is_stored_once(any_store) -> None:
    survey = synthetic_survey(any_store, per_unit=4)
    ticket = repo.join(any_store, survey.token)
    item = repo.next_item(any_store, survey.token, ticket.token)
    assert repo.submit(any_store, survey.token, ticket.token, item.token, "left") is True
    assert repo.submit(any_store, survey.token, ticket.token, item.token, "left") is False
    assert repo.submit(any_store, survey.token, ticket.token, item.token, "right") is False  # first answer stands
    frame = repo.answers_frame(any_store, survey.id)
    assert len(frame) == 1 and frame.loc[0, "side"] == "left" and count_answers(any_store) == 1
    assert repo.resume(any_store, survey.token, ticket.token).done == 1


def test_left_and_right_map_back_to_the_models_shown(any_store) -> None:
    survey = synthetic_survey(any_store, per_unit=10, per_judge=10)
    ticket = repo.join(any_store, survey.token, rng=random.Random(5))
    chosen = {}
    while (item := repo.next_item(any_store, survey.token, ticket.token)) is not None:
        chosen[item.token] = item.texts[0]
        repo.submit(any_store, survey.token, ticket.token, item.token, "left")
    frame = repo.answers_frame(any_store, survey.id)
    for _, row in frame.iterrows():
        left_text = chosen[row["item"]]
        assert row["winner"] == (row["model_a"] if left_text == row["output_a"] else row["model_b"])
    assert 3 <= (frame["choice"] == "a").sum() <= 7  # left is a or b, counterbalanced


def test_bad_input_gives_clear_errors(any_store) -> None:
    survey = synthetic_survey(any_store, per_unit=6, per_judge=3)  # two judges: disjoint items
    draft = synthetic_survey(any_store, per_unit=2, status="draft")
    ticket = repo.join(any_store, survey.token)
    other = repo.join(any_store, survey.token)
    item = repo.next_item(any_store, survey.token, ticket.token)
    with pytest.raises(SurveyNotFound, match="No survey has this code"):
        repo.public_survey(any_store, "no-such-code")
    with pytest.raises(SurveyNotFound):
        repo.join(any_store, "")
    with pytest.raises(SurveyNotOpen, match="not open yet"):
        repo.join(any_store, draft.token)
    with pytest.raises(JudgeNotFound):
        repo.next_item(any_store, survey.token, ticket.token[:-1] + ("A" if ticket.token[-1] != "A" else "B"))
    tampered = item.token[:-2] + ("xy" if not item.token.endswith("xy") else "zz")
    for bad in (tampered, "", "1", item.token + "x"):
        with pytest.raises(ItemRejected, match="not one of yours"):
            repo.submit(any_store, survey.token, ticket.token, bad, "left")
    theirs = repo.next_item(any_store, survey.token, other.token).token
    with pytest.raises(ItemRejected, match="not one of yours"):  # another judge's item
        repo.submit(any_store, survey.token, ticket.token, theirs, "left")
    with pytest.raises(ItemRejected, match="Unknown answer"):
        repo.submit(any_store, survey.token, ticket.token, item.token, "yes")
    with any_store.read() as s:  # an item id of another survey is refused too
        foreign = s.scalar(select(Item.token).where(Item.survey_id == draft.id))
    with pytest.raises(ItemRejected):
        repo.submit(any_store, survey.token, ticket.token, foreign, "left")
    assert count_answers(any_store) == 0
    repo.set_status(any_store, survey.id, "closed")
    with pytest.raises(SurveyNotOpen, match="closed"):
        repo.submit(any_store, survey.token, ticket.token, item.token, "left")
    with pytest.raises(SurveyNotOpen, match="closed"):
        repo.join(any_store, survey.token)
    assert count_answers(any_store) == 0


def test_status_changes_and_deleting_drafts(any_store) -> None:
    survey = synthetic_survey(any_store, status="draft")
    with pytest.raises(SurveyError, match="cannot become closed"):
        repo.set_status(any_store, survey.id, "closed")
    repo.set_status(any_store, survey.id, "open")
    with pytest.raises(SurveyError, match="only a draft"):
        repo.delete_draft(any_store, survey.id)
    repo.set_status(any_store, survey.id, "closed")
    reopened = repo.set_status(any_store, survey.id, "open")
    assert reopened.status == "open" and reopened.closed_at is None and reopened.opened_at is not None
    draft = synthetic_survey(any_store, status="draft")
    repo.delete_draft(any_store, draft.id)
    assert [s.id for s in repo.list_surveys(any_store)] == [survey.id]
    with any_store.read() as s:
        assert s.scalar(select(func.count()).select_from(Item).where(Item.survey_id == draft.id)) == 0
