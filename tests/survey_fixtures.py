"""Fixtures of the survey tests: two tiny trained runs, and PostgreSQL when it can be had.

Test modules load this with ``pytest_plugins = ["tests.survey_fixtures"]`` (helpers are in survey_support)."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from explorer.survey.db import Store, connect
from tests.survey_support import sqlite_store


@pytest.fixture(scope="session")
def survey_runs(trained_run: Path, corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two tiny runs with distinctive names (so a leak of a name is unmistakable): the shared β_C run and a
    one-epoch plain VAE."""
    from tests.helpers import tiny_config
    from textvae_core.train import train

    root = tmp_path_factory.mktemp("survey-runs")
    first = shutil.copytree(trained_run, root / "zebra-capacity-run")
    second = root / "walrus-vanilla-run"
    cfg = tiny_config(corpus_dir, second, "vae")
    train(cfg)
    return [first, second]


# ---------------------------------------------------------------- PostgreSQL: a throwaway cluster per test session

PG_ENV = "TEXTVAE_TEST_PG_URL"  # a running server to use instead (its user must be allowed to CREATE DATABASE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path | None:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server URL: $TEXTVAE_TEST_PG_URL, or a cluster started now in a temp dir (initdb + pg_ctl,
    as user postgres when the tests run as root). Skips, saying why, where neither is possible."""
    if url := os.environ.get(PG_ENV):
        yield url
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("PostgreSQL tests skipped: psycopg is not installed (pip install 'psycopg[binary]')")
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL tests skipped: no initdb/pg_ctl found (Debian: bash scripts/ci_postgres.sh, or "
            f"apt-get install postgresql); or set {PG_ENV} to a running server"
        )
    root = Path(tempfile.mkdtemp(prefix="textvae-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("PostgreSQL tests skipped: running as root and there is no 'postgres' user to run the server")
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    steps = [
        [*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "-N"],
        [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o", opts, "start"],
    ]
    for cmd in steps:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip(f"PostgreSQL tests skipped: {Path(cmd[len(run_as)]).name} failed: {done.stderr[-400:]}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    """A new, empty database on the server for one test; dropped afterwards."""
    import psycopg

    name = f"survey_test_{secrets.token_hex(6)}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The default SQLite file, and a PostgreSQL database where one can be had."""
    if request.param == "sqlite":
        store = sqlite_store(tmp_path)
        yield store
        store.dispose()
        return
    with fresh_postgres(request.getfixturevalue("postgres_url")) as url:
        store = connect(url)
        yield store
        store.dispose()
