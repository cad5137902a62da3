"""``bash scripts/run_app.sh`` serves the app on this machine alone, where the Training page opens without a
secret; serving it to others is asked for by name and needs the admin secret (explorer.serve)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from explorer import serve
from explorer.training import training_access
from textvae_core.paths import ROOT

STUB = '#!/usr/bin/env bash\necho "$(basename "$0") $*"\n'  # a command that says how it was called


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[list[str]]:
    """The commands explorer.serve would replace itself with (none is run); no secret, no address set."""
    for name in ("TEXTVAE_SURVEY_ADMIN", "TEXTVAE_ADDRESS", "TEXTVAE_BEHIND_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.streamlit/secrets.toml of this machine's user
    monkeypatch.chdir(tmp_path)  # the project folder: no .streamlit/secrets.toml yet
    calls: list[list[str]] = []
    monkeypatch.setattr(os, "execv", lambda path, argv: calls.append([path, *argv[1:]]))
    return calls


def test_run_app_starts_the_app_on_this_machine_alone(tmp_path: Path, started: list[list[str]]) -> None:
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "run_app.sh", project / "scripts")
    (project / "scripts" / "setup.sh").write_text("true\n")
    (project / ".venv" / "bin").mkdir(parents=True)
    for name in ("python", "streamlit"):
        (project / ".venv" / "bin" / name).write_text(STUB)
        (project / ".venv" / "bin" / name).chmod(0o755)
    ran = subprocess.run(
        ["bash", str(project / "scripts" / "run_app.sh"), "--server.port", "8502"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert ran.stdout.strip() == "python -m explorer.serve --server.port 8502", ran.stdout + ran.stderr
    assert serve.main(["--server.port", "8502"]) == 0
    python = sys.executable
    assert started == [
        [python, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port", "8502"]
    ]
    # so a browser on this machine that opens http://localhost:8502 may train without a secret
    assert (
        training_access("127.0.0.1", False, {"Host": "localhost:8502", "Origin": "http://localhost:8502"})[0] == "open"
    )


@pytest.mark.parametrize(
    ("args", "env"),
    [
        ([], {"TEXTVAE_ADDRESS": "0.0.0.0"}),
        (["--server.address", "0.0.0.0"], {}),
        (["--server.address=192.0.2.7"], {}),
        ([], {"TEXTVAE_ADDRESS": "::"}),
        ([], {"TEXTVAE_BEHIND_PROXY": "1"}),  # on 127.0.0.1, but a proxy brings others in
    ],
)
def test_serving_to_others_needs_the_admin_secret(
    args: list[str], env: dict[str, str], started: list[list[str]], monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert serve.main(args) == 2 and not started
    said = capsys.readouterr().err
    assert "TEXTVAE_SURVEY_ADMIN" in said and "docs/DEPLOYMENT.md" in said
    monkeypatch.setenv("TEXTVAE_SURVEY_ADMIN", "a-long-admin-secret")
    assert serve.main(args) == 0
    command = started[0]
    where = serve.given_address(command) or ""
    assert where == (env.get("TEXTVAE_ADDRESS") or serve.given_address(args) or "127.0.0.1")
    assert sum(a == "--server.address" or a.startswith("--server.address=") for a in command) == 1


def test_the_secret_may_come_from_the_projects_secrets_file(tmp_path: Path, started: list[list[str]]) -> None:
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('survey_admin_secret = "from-the-file"\n')
    assert serve.main(["--server.address", "0.0.0.0"]) == 0
    assert started[0][-2:] == ["--server.address", "0.0.0.0"]
    assert serve.given_address(["--server.address", "127.0.0.1"]) == "127.0.0.1"  # the loopback: no secret asked
    assert serve.streamlit_args(["--server.address", "localhost"], {}, secret_set=False)[-1] == "localhost"
