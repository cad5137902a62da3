"""The app's SQL stores (the survey database, the training queue): an engine and its sessions.

SQLite by default (WAL, so readers go on while one process writes), or any SQLAlchemy URL. Writes on SQLite
take the write lock up front (BEGIN IMMEDIATE): a deferred transaction that reads and then writes can fail with
"database is locked" under concurrent writers instead of waiting its turn.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


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
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("store_write") else "BEGIN")


_WRITE = sessionmaker(expire_on_commit=False)


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
        with _WRITE(bind=self.engine.execution_options(store_write=True)) as session, session.begin():
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


def connect(url: str, metadata: MetaData, create: bool = True) -> Store:
    """Open (and by default create the tables of ``metadata`` in) the database at ``url``."""
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

        def tables() -> None:
            # inside one write transaction: two processes starting at once do not both try to create a table
            with store.engine.execution_options(store_write=True).begin() as conn:
                metadata.create_all(conn)

        try:
            store.retry(tables)
        except (IntegrityError, ProgrammingError):
            store.retry(tables)  # another process created the tables meanwhile
    return store
