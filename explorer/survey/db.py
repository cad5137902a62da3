"""Survey storage: the SQLAlchemy 2 tables and the engine.

A SQLite file under var/ by default (WAL, so judges read while others write), or any database URL from
$TEXTVAE_SURVEY_DB (PostgreSQL is tested); the engine and its sessions are explorer.sqlstore's.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from textvae_core.paths import ROOT

from .. import sqlstore
from ..sqlstore import Store as Store

DATA_DIR = ROOT / "var"  # gitignored; the default SQLite file lives here
DEFAULT_DB = DATA_DIR / "surveys.sqlite3"
DB_ENV = "TEXTVAE_SURVEY_DB"  # any SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db

KINDS = ("pairwise", "makes_sense")
STATUSES = ("draft", "open", "closed")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Survey(Base):
    """One study. ``token`` is the public code in judge links; ``design`` (admin only) says how items were made."""

    __tablename__ = "survey"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(8), default="draft")
    items_per_judge: Mapped[int] = mapped_column(Integer, default=20)
    design: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    systems: Mapped[list[System]] = relationship(
        back_populates="survey", order_by="System.position", cascade="all, delete-orphan", passive_deletes=True
    )


class System(Base):
    """A run taking part in a survey. Never shown to judges: they only see items' texts."""

    __tablename__ = "survey_system"
    __table_args__ = (UniqueConstraint("survey_id", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    run_name: Mapped[str] = mapped_column(String(300))
    run_path: Mapped[str] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    survey: Mapped[Survey] = relationship(back_populates="systems")


class Item(Base):
    """One frozen question: an input with reconstructions by systems a and b, or one sample (text_a) of system a.

    ``token`` is the opaque, unguessable id the judge page uses; the integer id never leaves the server."""

    __tablename__ = "survey_item"
    __table_args__ = (UniqueConstraint("survey_id", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    position: Mapped[int] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
    system_a_id: Mapped[int] = mapped_column(ForeignKey("survey_system.id", ondelete="CASCADE"))
    text_a: Mapped[str] = mapped_column(Text)
    system_b_id: Mapped[int | None] = mapped_column(ForeignKey("survey_system.id", ondelete="CASCADE"), nullable=True)
    text_b: Mapped[str | None] = mapped_column(Text, nullable=True)
    length: Mapped[int] = mapped_column(Integer)  # words of the judged sentence (makes-sense) or of the input


class Judge(Base):
    """A person answering. ``token`` (in their URL, given once when they join) is the only way back: a name is a
    label, unique in its survey, and never gives anyone a judge's place."""

    __tablename__ = "survey_judge"
    __table_args__ = (UniqueConstraint("survey_id", "name_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    name_key: Mapped[str | None] = mapped_column(String(120), nullable=True)  # casefolded name; NULL = anonymous
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Join(Base):
    """Who joined a survey from where: ``client`` is a keyed hash of the client's address (never the address),
    so joins per client can be capped (repo.join) without keeping anyone's IP."""

    __tablename__ = "survey_join"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("survey_judge.id", ondelete="CASCADE"))
    client: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Assignment(Base):
    """An item given to a judge, fixed when they join: their order and whether a/b are shown swapped."""

    __tablename__ = "survey_assignment"
    __table_args__ = (UniqueConstraint("judge_id", "item_id"), UniqueConstraint("judge_id", "position"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("survey_judge.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("survey_item.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    swapped: Mapped[bool] = mapped_column(Boolean, default=False)  # True: b on the left


class Answer(Base):
    """One judgement; unique per judge and item, so a reload or a double click stores it once."""

    __tablename__ = "survey_answer"
    __table_args__ = (UniqueConstraint("judge_id", "item_id"), Index("ix_survey_answer_item", "item_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("survey_judge.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("survey_item.id", ondelete="CASCADE"))
    choice: Mapped[str] = mapped_column(String(4))  # pairwise: a | b (the item's systems); makes-sense: yes | no
    side: Mapped[str | None] = mapped_column(String(5), nullable=True)  # pairwise: left | right, as shown
    elapsed_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def database_url(url: str | None = None) -> str:
    """The URL given, else $TEXTVAE_SURVEY_DB, else the SQLite file var/surveys.sqlite3."""
    return url or os.environ.get(DB_ENV) or f"sqlite:///{DEFAULT_DB}"


def connect(url: str | None = None, create: bool = True) -> Store:
    """Open (and by default create the tables of) the survey database."""
    return sqlstore.connect(database_url(url), Base.metadata, create)
