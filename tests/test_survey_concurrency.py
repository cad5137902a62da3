"""Reliability under real concurrency and crashes: many judge processes and threads writing at once, a judge
process killed in the middle of an answer, and a restart that must find every acknowledged answer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from explorer.survey import repo
from explorer.survey.db import Answer, Assignment, Item, Judge, connect
from tests.survey_support import fresh_or_sqlite_url, synthetic_survey
from textvae_core.paths import ROOT

pytest_plugins = ["tests.survey_fixtures"]

# One judge process: THREADS judges at once (threads, like sessions of one Streamlit server), each joining and
# answering every item given to them, and submitting every answer twice (a double click).
JUDGES = """
import json, random, sys, threading
from explorer.survey import repo
from explorer.survey.db import connect
url, code, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = connect(url, create=False)
start = threading.Barrier(threads)
out = []
def judge(k):
    rng = random.Random(k)
    start.wait()
    ticket = repo.join(store, code, rng=rng)
    stored = refused = 0
    while (item := repo.next_item(store, code, ticket.token)) is not None:
        choice = rng.choice(("left", "right"))
        stored += repo.submit(store, code, ticket.token, item.token, choice, 900)
        refused += not repo.submit(store, code, ticket.token, item.token, choice, 900)
    out.append({"judge": ticket.token, "stored": stored, "refused": refused, "total": ticket.total})
workers = [threading.Thread(target=judge, args=(k,)) for k in range(threads)]
[w.start() for w in workers]
[w.join() for w in workers]
print(json.dumps(out))
"""

# A judge process that freezes inside its answer's write transaction (after the INSERT, before COMMIT),
# so the test can kill it exactly there.
FREEZE_MID_ANSWER = """
import sys, time
from sqlalchemy import event
from explorer.survey import repo
from explorer.survey.db import connect
url, code, judge, item = sys.argv[1:5]
store = connect(url, create=False)
@event.listens_for(store.engine, "after_cursor_execute")
def freeze(conn, cursor, statement, params, context, many):
    if statement.lstrip().upper().startswith("INSERT INTO SURVEY_ANSWER"):
        print("inside the transaction", flush=True)
        time.sleep(120)
repo.submit(store, code, judge, item, "left", 1000)
print("committed", flush=True)
"""

# A judge process answering as fast as it can, saying which answers were acknowledged (submit returned).
BURST = """
import random, sys
from explorer.survey import repo
from explorer.survey.db import connect
url, code = sys.argv[1:3]
store = connect(url, create=False)
rng = random.Random(0)
tickets = [repo.join(store, code, rng=rng) for _ in range(30)]
print("joined", flush=True)
while True:
    for t in tickets:
        item = repo.next_item(store, code, t.token)
        if item is not None and repo.submit(store, code, t.token, item.token, "right", 10):
            print("ack", t.token, item.token, flush=True)
"""


def python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def integrity(store) -> None:
    """The database is consistent: SQLite's own check, and no answer outside its judge's assignments."""
    with store.read() as s:
        if store.is_sqlite:
            assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert s.execute(text("PRAGMA foreign_key_check")).all() == []
        orphans = s.scalar(
            select(func.count())
            .select_from(Answer)
            .outerjoin(Assignment, (Assignment.judge_id == Answer.judge_id) & (Assignment.item_id == Answer.item_id))
            .where(Assignment.id.is_(None))
        )
        assert orphans == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_50_concurrent_judges_store_exactly_1000_answers(backend: str, tmp_path: Path, request) -> None:
    with fresh_or_sqlite_url(backend, tmp_path, request) as url:
        store = connect(url)
        survey = synthetic_survey(store, per_unit=40, per_judge=20)
        procs = [python(JUDGES, url, survey.token, "10") for _ in range(5)]  # 5 processes × 10 threads
        results = []
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err[-2000:]
            results += json.loads(out)
        assert len(results) == 50 and len({r["judge"] for r in results}) == 50
        assert all(r["total"] == 20 and r["stored"] == 20 and r["refused"] == 20 for r in results)
        with store.read() as s:
            assert s.scalar(select(func.count()).select_from(Answer)) == 1000
            assert s.scalar(select(func.count(func.distinct(Answer.judge_id)))) == 50
            per_judge = s.execute(select(Answer.judge_id, func.count()).group_by(Answer.judge_id)).all()
            assert {n for _, n in per_judge} == {20}
            doubled = s.execute(
                select(Answer.judge_id, Answer.item_id)
                .group_by(Answer.judge_id, Answer.item_id)
                .having(func.count() > 1)
            ).all()
            assert doubled == []
        integrity(store)
        assert len(repo.answers_frame(store, survey.id)) == 1000
        store.dispose()


def test_a_judge_killed_mid_answer_leaves_the_database_consistent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'surveys.sqlite3'}"
    store = connect(url)
    survey = synthetic_survey(store, per_unit=12, per_judge=10)
    ticket = repo.join(store, survey.token)
    for _ in range(5):
        item = repo.next_item(store, survey.token, ticket.token)
        assert repo.submit(store, survey.token, ticket.token, item.token, "right")
    pending = repo.next_item(store, survey.token, ticket.token)
    store.dispose()

    child = python(FREEZE_MID_ANSWER, url, survey.token, ticket.token, pending.token)
    assert child.stdout.readline().strip() == "inside the transaction", child.stderr.read()
    os.kill(child.pid, signal.SIGKILL)  # holding SQLite's write lock, answer inserted but not committed
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    restarted = connect(url)  # "restart the app": a new engine on the same file
    integrity(restarted)
    back = repo.resume(restarted, survey.token, ticket.token)
    assert (back.done, back.total) == (5, 10)  # the 5 committed answers are all there; the killed one is not
    assert repo.next_item(restarted, survey.token, ticket.token).token == pending.token
    t0 = time.monotonic()
    assert repo.submit(restarted, survey.token, ticket.token, pending.token, "left")  # the lock died with it
    assert time.monotonic() - t0 < 5
    assert repo.resume(restarted, survey.token, ticket.token).done == 6
    restarted.dispose()


def test_a_judge_process_killed_during_a_burst_loses_no_acknowledged_answer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'surveys.sqlite3'}"
    store = connect(url)
    survey = synthetic_survey(store, per_unit=40, per_judge=20)
    store.dispose()
    child = python(BURST, url, survey.token)
    assert child.stdout.readline().strip() == "joined", child.stderr.read()
    acked = set()
    while len(acked) < 150:
        _, judge, item = child.stdout.readline().split()
        acked.add((judge, item))
    os.kill(child.pid, signal.SIGKILL)  # it is writing continuously: killed at an arbitrary point
    child.wait(timeout=30)
    acked |= {tuple(line.split()[1:]) for line in child.stdout.read().splitlines() if line.startswith("ack")}

    restarted = connect(url)
    integrity(restarted)
    with restarted.read() as s:
        rows = s.execute(
            select(Judge.token, Item.token)
            .select_from(Answer)
            .join(Judge, Judge.id == Answer.judge_id)
            .join(Item, Item.id == Answer.item_id)
        ).all()
    stored = {tuple(r) for r in rows}
    assert acked <= stored  # nothing acknowledged was lost
    assert len(stored - acked) <= 1  # at most the answer committed just before the kill, never acknowledged
    with restarted.read() as s:
        assert s.scalar(select(func.count()).select_from(Judge).where(Judge.survey_id == survey.id)) == 30
    restarted.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_same_answer_sent_at_once_from_eight_threads_is_stored_once(backend: str, tmp_path: Path, request) -> None:
    """A double click that reaches the server as simultaneous requests: exactly one of them stores."""
    import threading

    with fresh_or_sqlite_url(backend, tmp_path, request) as url:
        store = connect(url)
        survey = synthetic_survey(store, per_unit=4)
        ticket = repo.join(store, survey.token)
        item = repo.next_item(store, survey.token, ticket.token)
        start, results = threading.Barrier(8), []

        def click() -> None:
            start.wait()
            results.append(repo.submit(store, survey.token, ticket.token, item.token, "left"))

        threads = [threading.Thread(target=click) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [False] * 7 + [True]
        assert len(repo.answers_frame(store, survey.id)) == 1
        store.dispose()
