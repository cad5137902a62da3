"""Survey storage: the SQLAlchemy 2 tables and the engine.

A SQLite file under var/ by default (WAL, so judges read while others write), or any database URL from
$TEXTVAE_SURVEY_DB (PostgreSQL is tested). Writes on SQLite take the write lock up front (BEGIN IMMEDIATE):
a deferred transaction that reads and then writes can fail with "database is locked" under concurrent judges
instead of waiting its turn.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from textvae_core.paths import ROOT

DATA_DIR = ROOT / "var"  # gitignored; the default SQLite file lives here
DEFAULT_DB = DATA_DIR / "surveys.sqlite3"
DB_ENV = "TEXTVAE_SURVEY_DB"  # any SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db

KINDS = ("pairwise", "makes_sense")
STATUSES = ("draft", "open", "closed")

T = TypeVar("T")


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
    """A person answering. ``token`` (in their URL) lets them come back; a name, if given, does too."""

    __tablename__ = "survey_judge"
    __table_args__ = (UniqueConstraint("survey_id", "name_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    name_key: Mapped[str | None] = mapped_column(String(120), nullable=True)  # casefolded name; NULL = anonymous
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


def _sqlite_setup(engine: Engine) -> None:
    """WAL, foreign keys, a generous busy wait, and explicit BEGIN so writers can ask for IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # pysqlite must not emit its own BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 60000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints, never corrupt (WAL)
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("survey_write") else "BEGIN")


@dataclass
class Store:
    """An engine and its sessions; ``write()`` for transactions that change data, ``read()`` for the rest."""

    engine: Engine

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with _WRITE(bind=self.engine.execution_options(survey_write=True)) as session, session.begin():
            yield session

    def retry(self, fn: Callable[[], T], attempts: int = 5) -> T:
        """Run ``fn`` again when SQLite still reports a lock after its busy wait (rare; heavy load)."""
        for attempt in range(attempts):
            try:
                return fn()
            except OperationalError as err:
                if "locked" not in str(err).lower() or attempt == attempts - 1:
                    raise
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


_WRITE = sessionmaker(expire_on_commit=False)


def connect(url: str | None = None, create: bool = True) -> Store:
    """Open (and by default create the tables of) the survey database."""
    url = database_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
        _sqlite_setup(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    store = Store(engine)
    if create:
        try:
            store.retry(lambda: _create_tables(store))
        except (IntegrityError, ProgrammingError):
            store.retry(lambda: _create_tables(store))  # another process created the tables meanwhile
    return store


def _create_tables(store: Store) -> None:
    # inside one write transaction: two processes starting at once do not both try to create a table
    with store.engine.execution_options(survey_write=True).begin() as conn:
        Base.metadata.create_all(conn)
