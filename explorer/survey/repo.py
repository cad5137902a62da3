"""What the pages do with the survey database: create and freeze surveys, open and close them, let judges
join, fetch their next item and store answers, and read everything back for the results.

Judge-facing functions take the public survey code and the judge's code and return views that hold texts
only (JudgeItem, PublicSurvey): no run name, path or database id can reach a judge's page through them.
"""

from __future__ import annotations

import os
import random
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import Select, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from . import assign
from .db import Answer, Assignment, Item, Join, Judge, Store, Survey, System, utcnow
from .errors import ItemRejected, JoinRefused, JudgeNotFound, NameTaken, SurveyError, SurveyNotFound, SurveyNotOpen

if TYPE_CHECKING:  # repo stays free of torch: judge processes only need the database
    from .design import Generated, SurveyDesign

TRANSITIONS = {("draft", "open"), ("open", "closed"), ("closed", "open")}
CHOICES = {"pairwise": ("left", "right"), "makes_sense": ("yes", "no")}
MAX_NAME = 120
MAX_JUDGES, MAX_JUDGES_ENV = 500, "TEXTVAE_SURVEY_MAX_JUDGES"  # judges one survey takes at most
JOINS_PER_CLIENT, JOINS_PER_CLIENT_ENV = 3, "TEXTVAE_SURVEY_JOINS_PER_CLIENT"  # joins one client may make to one survey


def new_token(nbytes: int = 16) -> str:
    """Random URL-safe code (128 bits by default): unguessable, and says nothing about what it names."""
    return secrets.token_urlsafe(nbytes)


# ---------------------------------------------------------------- admin: create, list, open, close


def create_survey(store: Store, design: SurveyDesign, generated: Generated) -> Survey:
    """Store the design, its systems and every item in one transaction; the survey starts as a draft."""

    def tx() -> Survey:
        with store.write() as s:
            survey = Survey(
                token=new_token(12),
                kind=design.kind,
                title=design.title.strip(),
                instructions=design.instructions.strip(),
                status="draft",
                items_per_judge=design.items_per_judge,
                design={**design.to_json(), "notes": generated.notes},
            )
            s.add(survey)
            s.flush()
            systems = [
                System(survey_id=survey.id, position=i, run_name=d.name, run_path=d.path, summary=d.summary)
                for i, d in enumerate(generated.systems)
            ]
            s.add_all(systems)
            s.flush()
            order = list(range(len(generated.items)))
            random.Random(design.seed).shuffle(order)  # item positions carry no hint of the model or pair
            for pos, k in enumerate(order):
                d = generated.items[k]
                s.add(
                    Item(
                        survey_id=survey.id,
                        token=new_token(),
                        position=pos,
                        source=d.source,
                        system_a_id=systems[d.a].id,
                        text_a=d.text_a,
                        system_b_id=None if d.b is None else systems[d.b].id,
                        text_b=d.text_b,
                        length=d.length,
                    )
                )
            return survey

    return store.retry(tx)


@dataclass
class SurveyRow:
    id: int
    token: str
    title: str
    kind: str
    status: str
    systems: list[str]
    items: int
    judges: int
    answers: int
    items_per_judge: int
    created_at: datetime

    def row(self) -> dict[str, object]:
        return {
            "title": self.title,
            "kind": self.kind,
            "status": self.status,
            "models": ", ".join(self.systems),
            "items": self.items,
            "judges": self.judges,
            "answers": self.answers,
            "per judge": self.items_per_judge,
            "created": self.created_at.strftime("%Y-%m-%d %H:%M"),
        }


def list_surveys(store: Store) -> list[SurveyRow]:
    """Every survey, newest first, with its counts."""
    with store.read() as s:
        surveys = s.scalars(select(Survey).order_by(Survey.created_at.desc(), Survey.id.desc())).all()
        counts = {
            name: dict(s.execute(stmt).all())
            for name, stmt in (
                ("items", select(Item.survey_id, func.count()).group_by(Item.survey_id)),
                ("judges", select(Judge.survey_id, func.count()).group_by(Judge.survey_id)),
                ("answers", select(Item.survey_id, func.count()).join(Answer).group_by(Item.survey_id)),
            )
        }
        return [
            SurveyRow(
                v.id,
                v.token,
                v.title,
                v.kind,
                v.status,
                [x.run_name for x in v.systems],
                counts["items"].get(v.id, 0),
                counts["judges"].get(v.id, 0),
                counts["answers"].get(v.id, 0),
                v.items_per_judge,
                v.created_at,
            )
            for v in surveys
        ]


def open_survey_runs(store: Store) -> set[str]:
    """The run folders (resolved) of every open survey: the explorer pages keep them from visitors who hold no
    secret, so a judge cannot retype a sentence there and see which run wrote which side."""
    from pathlib import Path

    with store.read() as s:
        paths = s.scalars(select(System.run_path).join(Survey).where(Survey.status == "open")).all()
    return {str(Path(p).expanduser().resolve()) for p in paths}


def get_survey(store: Store, survey_id: int) -> Survey:
    with store.read() as s:
        survey = s.get(Survey, survey_id)
        if survey is None:
            raise SurveyNotFound(f"no survey with id {survey_id}")
        _ = survey.systems  # loaded while the session is open
        return survey


def set_status(store: Store, survey_id: int, status: str) -> Survey:
    """Open a draft, close an open survey, or reopen a closed one; items never change."""

    def tx() -> Survey:
        with store.write() as s:
            survey = s.get(Survey, survey_id)
            if survey is None:
                raise SurveyNotFound(f"no survey with id {survey_id}")
            if (survey.status, status) not in TRANSITIONS:
                raise SurveyError(f"a {survey.status} survey cannot become {status}")
            survey.status = status
            if status == "open" and survey.opened_at is None:
                survey.opened_at = utcnow()
            survey.closed_at = utcnow() if status == "closed" else None
            return survey

    return store.retry(tx)


def delete_draft(store: Store, survey_id: int) -> None:
    """Drafts can be thrown away; a survey that was ever opened keeps its answers."""

    def tx() -> None:
        with store.write() as s:
            survey = s.get(Survey, survey_id)
            if survey is None:
                raise SurveyNotFound(f"no survey with id {survey_id}")
            if survey.status != "draft":
                raise SurveyError("only a draft can be deleted; close the survey instead")
            item_ids = select(Item.id).where(Item.survey_id == survey_id)
            s.execute(delete(Item).where(Item.id.in_(item_ids)))
            s.execute(delete(System).where(System.survey_id == survey_id))
            s.delete(survey)

    store.retry(tx)


def items_frame(store: Store, survey_id: int) -> pd.DataFrame:
    """The frozen items with the models behind them (admin preview)."""
    a, b = aliased(System), aliased(System)
    stmt = (
        select(Item.position, Item.source, a.run_name, Item.text_a, b.run_name, Item.text_b, Item.length)
        .join(a, Item.system_a_id == a.id)
        .outerjoin(b, Item.system_b_id == b.id)
        .where(Item.survey_id == survey_id)
        .order_by(Item.position)
    )
    cols = ["#", "input", "model A", "output A", "model B", "output B", "length"]
    with store.read() as s:
        return pd.DataFrame(s.execute(stmt).all(), columns=cols)


# ---------------------------------------------------------------- judges


@dataclass(frozen=True)
class PublicSurvey:
    """What a judge may know of a survey."""

    token: str
    kind: str
    title: str
    instructions: str
    items_per_judge: int


@dataclass(frozen=True)
class JudgeItem:
    """One item as a judge sees it: an opaque id and texts, in the order shown."""

    token: str
    kind: str
    source: str | None
    texts: tuple[str, ...]  # (left, right) for pairwise; (sentence,) for makes-sense
    number: int  # 1-based position among the judge's items
    total: int


@dataclass(frozen=True)
class Ticket:
    """A judge's identity and progress."""

    token: str
    name: str | None
    done: int
    total: int


def _survey_by_token(s: Session, token: str | None) -> Survey:
    token = (token or "").strip()
    survey = s.scalar(select(Survey).where(Survey.token == token)) if token else None
    if survey is None:
        raise SurveyNotFound("No survey has this code. Check the link you were given.")
    return survey


def _open_survey(s: Session, token: str | None) -> Survey:
    survey = _survey_by_token(s, token)
    if survey.status == "draft":
        raise SurveyNotOpen("This survey is not open yet. Try the link again later.")
    if survey.status == "closed":
        raise SurveyNotOpen("This survey is closed and takes no more answers. Thank you for your interest.")
    return survey


def _judge(s: Session, survey: Survey, judge_token: str | None) -> Judge:
    judge = (
        s.scalar(select(Judge).where(Judge.survey_id == survey.id, Judge.token == judge_token)) if judge_token else None
    )
    if judge is None:
        raise JudgeNotFound("This judge code is not part of this survey. Start again from the survey link.")
    return judge


def public_survey(store: Store, token: str | None) -> PublicSurvey:
    """The survey behind a judge link, if it takes answers; otherwise a SurveyError saying why."""
    with store.read() as s:
        v = _open_survey(s, token)
        return PublicSurvey(v.token, v.kind, v.title, v.instructions, v.items_per_judge)


def _name_key(name: str | None) -> str | None:
    name = " ".join((name or "").split())
    return name.casefold()[:MAX_NAME] if name else None


def join_caps() -> tuple[int, int]:
    """(judges a survey takes at most, joins one client may make to one survey): $TEXTVAE_SURVEY_MAX_JUDGES and
    $TEXTVAE_SURVEY_JOINS_PER_CLIENT, else 500 and 3 (raise the second for a lab whose judges share one address)."""

    def env(name: str, default: int) -> int:
        try:
            return max(1, int(os.environ.get(name, "") or default))
        except ValueError:
            return default

    return env(MAX_JUDGES_ENV, MAX_JUDGES), env(JOINS_PER_CLIENT_ENV, JOINS_PER_CLIENT)


def join(
    store: Store,
    survey_token: str,
    name: str | None = None,
    rng: random.Random | None = None,
    client: str | None = None,
) -> Ticket:
    """A new judge joins and gets their code, once: it is the only way back to their items (their link holds
    it). A name is a label: one already taken in this survey, in any case or spacing, is refused rather than
    handing out that judge's code. ``client`` (access.client_key: a hash of the address) caps the joins one
    client may make; the survey takes at most so many judges (join_caps).

    Their items are chosen and ordered here, once (see assign.choose)."""
    rng = rng or random.Random(secrets.randbits(64))
    key = _name_key(name)
    most, per_client = join_caps()

    def tx() -> Ticket:
        with store.write() as s:
            survey = _open_survey(s, survey_token)
            if key is not None and s.scalar(
                select(Judge.id).where(Judge.survey_id == survey.id, Judge.name_key == key)
            ):
                raise NameTaken(
                    "That name is already taken in this survey. If it is yours, come back with your personal link "
                    "(or the judge code in it); otherwise choose another name, or none."
                )
            joined = s.scalar(select(func.count()).select_from(Judge).where(Judge.survey_id == survey.id)) or 0
            if joined >= most:
                raise JoinRefused("This survey has all the judges it needs. Thank you for your interest.")
            if client is not None:
                mine = select(func.count()).select_from(Join).where(Join.survey_id == survey.id, Join.client == client)
                if (s.scalar(mine) or 0) >= per_client:
                    raise JoinRefused(
                        "This computer has already joined this survey as many times as it may. If you joined "
                        "before, come back with your personal link."
                    )
            judge = Judge(
                survey_id=survey.id, token=new_token(), name=" ".join(name.split()) if key else None, name_key=key
            )
            s.add(judge)
            s.flush()
            s.add(Join(survey_id=survey.id, judge_id=judge.id, client=client))
            _assign(s, survey, judge, rng)
            return _ticket(s, judge)

    try:
        return store.retry(tx)
    except IntegrityError:  # PostgreSQL: the same name joined at the same moment; the other judge has it
        raise NameTaken("That name was just taken in this survey; choose another name, or none.") from None


def _assign(s: Session, survey: Survey, judge: Judge, rng: random.Random) -> None:
    seen = func.count(Assignment.id)
    rows = s.execute(
        select(Item.id, Item.system_a_id, Item.system_b_id, seen)
        .outerjoin(Assignment, Assignment.item_id == Item.id)
        .where(Item.survey_id == survey.id)
        .group_by(Item.id, Item.system_a_id, Item.system_b_id)
    ).all()
    candidates = [
        assign.Candidate(item_id, (a,) if b is None else tuple(sorted((a, b))), n) for item_id, a, b, n in rows
    ]
    picks = assign.choose(candidates, survey.items_per_judge, rng)
    s.add_all(
        Assignment(judge_id=judge.id, item_id=p.item_id, position=i, swapped=p.swapped) for i, p in enumerate(picks)
    )


def _ticket(s: Session, judge: Judge) -> Ticket:
    total = s.scalar(select(func.count()).select_from(Assignment).where(Assignment.judge_id == judge.id)) or 0
    done = s.scalar(select(func.count()).select_from(Answer).where(Answer.judge_id == judge.id)) or 0
    return Ticket(judge.token, judge.name, done, total)


def resume(store: Store, survey_token: str, judge_token: str) -> Ticket:
    """A returning judge (code from their URL): who they are and how far they got."""
    with store.read() as s:
        return _ticket(s, _judge(s, _open_survey(s, survey_token), judge_token))


def _pending(judge_id: int) -> Select:
    answered = select(Answer.item_id).where(Answer.judge_id == judge_id)
    return (
        select(Assignment, Item)
        .join(Item, Item.id == Assignment.item_id)
        .where(Assignment.judge_id == judge_id, Assignment.item_id.not_in(answered))
        .order_by(Assignment.position)
    )


def next_item(store: Store, survey_token: str, judge_token: str) -> JudgeItem | None:
    """The judge's first unanswered item in their own order, or None when they are done."""
    with store.read() as s:
        survey = _open_survey(s, survey_token)
        judge = _judge(s, survey, judge_token)
        row = s.execute(_pending(judge.id).limit(1)).first()
        if row is None:
            return None
        a, item = row
        total = s.scalar(select(func.count()).select_from(Assignment).where(Assignment.judge_id == judge.id)) or 0
        texts = (item.text_a,) if item.text_b is None else (item.text_a, item.text_b)
        if a.swapped and len(texts) == 2:
            texts = texts[::-1]
        return JudgeItem(item.token, survey.kind, item.source, texts, a.position + 1, total)


def submit(
    store: Store,
    survey_token: str,
    judge_token: str,
    item_token: str,
    choice: str,
    elapsed_ms: int | None = None,
) -> bool:
    """Store a judgement; True if stored now, False if this judge had already answered this item.

    The item must be one given to this judge: an unknown or altered id is refused (ItemRejected)."""

    def tx() -> bool:
        with store.write() as s:
            survey = _open_survey(s, survey_token)
            judge = _judge(s, survey, judge_token)
            if choice not in CHOICES[survey.kind]:
                raise ItemRejected(f"Unknown answer {choice!r}.")
            row = s.execute(
                select(Assignment, Item)
                .join(Item, Item.id == Assignment.item_id)
                .where(Assignment.judge_id == judge.id, Item.token == item_token, Item.survey_id == survey.id)
            ).first()
            if row is None:
                raise ItemRejected("This question is not one of yours (unknown or altered id). Reload the page.")
            a, item = row
            if survey.kind == "pairwise":
                stored, side = ("a" if (choice == "left") != a.swapped else "b"), choice
            else:
                stored, side = choice, None
            values = {
                "judge_id": judge.id,
                "item_id": item.id,
                "choice": stored,
                "side": side,
                "elapsed_ms": None if elapsed_ms is None else max(0, int(elapsed_ms)),
                "answered_at": utcnow(),
            }
            return _insert_once(s, values)

    return store.retry(tx)


def _insert_once(s: Session, values: dict[str, object]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING where the dialect has it, else a savepoint that swallows the duplicate."""
    dialect = s.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        ins = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(Answer).values(**values)
        stmt = ins.on_conflict_do_nothing(index_elements=["judge_id", "item_id"]).returning(Answer.id)
        return s.execute(stmt).scalar() is not None
    try:
        with s.begin_nested():
            s.add(Answer(**values))
        return True
    except IntegrityError:
        return False


# ---------------------------------------------------------------- results


ANSWER_COLUMNS = [
    "survey",
    "kind",
    "judge",
    "judge_name",
    "item",
    "position",
    "input",
    "length",
    "model_a",
    "output_a",
    "model_b",
    "output_b",
    "choice",
    "winner",
    "loser",
    "side",
    "makes_sense",
    "elapsed_ms",
    "answered_at",
]


def answers_frame(store: Store, survey_id: int) -> pd.DataFrame:
    """Every answer with its item and the models behind it: the raw data of the results and the CSV export.

    Judges appear as J<number>, not by the code in their link: an exported file must not let anyone answer
    in a judge's name."""
    a, b = aliased(System), aliased(System)
    stmt = (
        select(
            Survey.token,
            Survey.kind,
            Judge.id,
            Judge.name,
            Item.token,
            Item.position,
            Item.source,
            Item.length,
            a.run_name,
            Item.text_a,
            b.run_name,
            Item.text_b,
            Answer.choice,
            Answer.side,
            Answer.elapsed_ms,
            Answer.answered_at,
        )
        .join(Item, Item.id == Answer.item_id)
        .join(Survey, Survey.id == Item.survey_id)
        .join(Judge, Judge.id == Answer.judge_id)
        .join(a, a.id == Item.system_a_id)
        .outerjoin(b, b.id == Item.system_b_id)
        .where(Item.survey_id == survey_id)
        .order_by(Answer.answered_at, Answer.id)
    )
    with store.read() as s:
        rows = s.execute(stmt).all()
    records = []
    for r in rows:
        (survey, kind, judge, name, item, pos, src, length, ma, ta, mb, tb, choice, side, ms, at) = r
        pair = kind == "pairwise"
        winner = (ma if choice == "a" else mb) if pair else None
        loser = (mb if choice == "a" else ma) if pair else None
        records.append(
            {
                "survey": survey,
                "kind": kind,
                "judge": f"J{judge:04d}",
                "judge_name": name or "",
                "item": item,
                "position": pos,
                "input": src,
                "length": length,
                "model_a": ma,
                "output_a": ta,
                "model_b": mb,
                "output_b": tb,
                "choice": choice,
                "winner": winner,
                "loser": loser,
                "side": side,
                "makes_sense": (choice == "yes") if not pair else None,
                "elapsed_ms": ms,
                "answered_at": at,
            }
        )
    return pd.DataFrame(records, columns=ANSWER_COLUMNS)


def judge_counts(store: Store, survey_id: int) -> tuple[int, int]:
    """Judges who joined, and judges who answered at least once."""
    with store.read() as s:
        joined = s.scalar(select(func.count()).select_from(Judge).where(Judge.survey_id == survey_id)) or 0
        active = s.scalar(
            select(func.count(func.distinct(Answer.judge_id))).join(Judge).where(Judge.survey_id == survey_id)
        )
        return joined, active or 0
