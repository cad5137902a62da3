"""Admin and viewer secrets, and the links judges are given."""

from __future__ import annotations

import pytest

from explorer.survey import access


class NoSecretsFile(dict):
    """Like st.secrets without a secrets.toml: every lookup raises."""

    def get(self, key: str, default: object = None) -> object:
        raise FileNotFoundError("no secrets.toml")


def test_secrets_from_env_first_then_streamlit_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(access.ADMIN_ENV, raising=False)
    monkeypatch.delenv(access.VIEWER_ENV, raising=False)
    assert access.configured("admin", NoSecretsFile()) is None and access.configured("admin", None) is None
    assert not access.check("", "admin", {}) and not access.check("anything", "admin", {})
    secrets = {access.ADMIN_KEY: "from-toml", access.VIEWER_KEY: "look-only"}
    assert access.check("from-toml", "admin", secrets) and access.check("from-toml", "viewer", secrets)
    assert access.check("look-only", "viewer", secrets) and not access.check("look-only", "admin", secrets)
    monkeypatch.setenv(access.ADMIN_ENV, "from-env")
    assert access.check("from-env", "admin", secrets) and not access.check("from-toml", "admin", secrets)


def test_judge_links_land_on_the_app_root() -> None:
    assert access.judge_link("abc") == "/?survey=abc"
    assert access.judge_link("abc", "http://host:8501/survey_design") == "http://host:8501/?survey=abc"
    assert (
        access.judge_link("a b", "https://lab.example/apps/textvae/survey_design", "j1", base_path="apps/textvae")
        == "https://lab.example/apps/textvae/?survey=a+b&judge=j1"
    )
