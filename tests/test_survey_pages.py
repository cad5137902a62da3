"""The survey pages, run headlessly with AppTest on two tiny trained runs: the judge page is blind (no run name,
path or model id anywhere in what it sends or keeps), bad links get a plain message, and the admin pages are
locked behind their secret and work end to end."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from explorer.survey import repo, stats
from explorer.survey.db import connect
from tests.survey_support import answer_all, make_survey
from textvae_core.paths import ROOT

pytest_plugins = ["tests.survey_fixtures"]
APP = str(ROOT / "app.py")
DESIGN, RESULTS, JUDGE = (f"pages/survey_{n}.py" for n in ("design", "results", "judge"))
ADMIN, VIEWER = "admin-pass-1234", "viewer-pass-5678"


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, survey_runs: list[Path]) -> str:
    url = f"sqlite:///{tmp_path / 'surveys.sqlite3'}"
    monkeypatch.setenv("TEXTVAE_SURVEY_DB", url)
    monkeypatch.setenv("TEXTVAE_SURVEY_ADMIN", ADMIN)
    monkeypatch.setenv("TEXTVAE_SURVEY_VIEWER", VIEWER)
    monkeypatch.setenv("TEXTVAE_RUNS", str(survey_runs[0].parent))
    return url


def forbidden(runs: list[Path]) -> list[str]:
    """Strings that would tell a judge which model wrote a text."""
    words = [r.name for r in runs] + [str(r) for r in runs] + [r.parent.name for r in runs]
    return [*words, "zebra", "walrus", "capacity", "vanilla", "beta-c", "survey_system", "run_name", "run_path"]


def everything_sent(at: AppTest) -> str:
    """Every element (its full protobuf), widget id, widget state, session state entry and URL parameter."""
    parts: list[str] = []

    def walk(node: object) -> None:
        if (proto := getattr(node, "proto", None)) is not None:
            parts.append(str(proto))
        parts.append(str(getattr(node, "key", "")))
        children = getattr(node, "children", None)
        for child in children.values() if isinstance(children, dict) else []:
            walk(child)

    walk(at._tree)
    parts += [str(at._tree.get_widget_states()), repr(at.session_state._state), repr(dict(at.query_params))]
    return "\n".join(parts)


def judge_app(token: str, judge: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["survey"] = token
    if judge:
        at.query_params["judge"] = judge
    return at.run()


def assert_blind(at: AppTest, runs: list[Path]) -> None:
    assert not at.exception, at.exception
    sent = everything_sent(at).casefold()
    for word in forbidden(runs):
        assert word.casefold() not in sent, f"{word!r} reached the judge page"


@pytest.mark.parametrize("kind", ["pairwise", "makes_sense"])
def test_judge_page_is_blind_from_start_to_finish(kind: str, db_url: str, survey_runs: list[Path]) -> None:
    store = connect(db_url)
    survey = make_survey(store, survey_runs, kind=kind, n=4, per_judge=4)
    at = judge_app(survey.token)
    assert_blind(at, survey_runs)
    at.text_input[0].set_value("Grace")
    at.button[0].click().run()
    judge = at.query_params["judge"]
    texts = []
    for step in range(4):
        assert_blind(at, survey_runs)
        assert at.get("progress")[0].proto.text == f"{step} of 4 answered"
        texts.append(at.markdown[-1].value if kind == "pairwise" else at.markdown[0].value)
        at.button[step % 2].click().run()  # left / yes, then right / no
    assert_blind(at, survey_runs)
    assert "All done" in at.success[0].value
    frame = repo.answers_frame(store, survey.id)
    assert len(frame) == 4 and set(frame["judge_name"]) == {"Grace"} and frame["elapsed_ms"].notna().all()
    assert judge not in stats.to_csv(frame).decode()  # the export never holds a judge's link code
    if kind == "pairwise":
        assert list(frame["side"]) == ["left", "right", "left", "right"]
    else:
        assert list(frame["makes_sense"]) == [True, False, True, False]


def test_judge_comes_back_with_their_link(db_url: str, survey_runs: list[Path]) -> None:
    store = connect(db_url)
    survey = make_survey(store, survey_runs, kind="makes_sense", n=4, per_judge=5)
    at = judge_app(survey.token)
    at.button[0].click().run()  # anonymous
    judge = at.query_params["judge"]
    at.button[0].click().run()
    at.button[1].click().run()
    back = judge_app(survey.token, judge)  # a new browser session, same link
    assert not back.exception
    assert back.get("progress")[0].proto.text == "2 of 5 answered"
    assert judge in back.caption[-1].value  # the personal link to come back is on the page


def test_judge_page_without_a_link_asks_for_the_survey_code(db_url: str, survey_runs: list[Path]) -> None:
    survey = make_survey(connect(db_url), survey_runs, n=2)
    at = open_page(JUDGE)
    assert at.text_input[0].label == "Survey code" and not at.exception
    at.text_input[0].set_value(survey.token)
    at.button[0].click().run()
    assert at.query_params["survey"] == survey.token
    assert at.title[0].value == survey.title and not at.exception


def test_join_a_survey_keeps_the_way_back_and_a_survey_shows_none(db_url: str, survey_runs: list[Path]) -> None:
    """The sidebar's "Join a survey" opens the code form with the sidebar (the way back to the explorer); once a
    survey's code is given, its page has no link to any other page."""
    survey = make_survey(connect(db_url), survey_runs, n=2)
    at = open_page(JUDGE)
    links = {e.proto.page for e in at.get("page_link")}  # each page's URL path ("" for the Runs page)
    assert {"", "posterior", "neighbours"} <= links and at.text_input[0].label == "Survey code"
    at.text_input[0].set_value(survey.token)
    at.button[0].click().run()
    assert at.title[0].value == survey.title and not at.get("page_link") and not at.exception
    assert not any(r.name in everything_sent(at) for r in survey_runs)  # (this session saw the Runs page first)
    fresh = judge_app(survey.token)  # a judge's own link: no navigation either, and blind
    assert not fresh.get("page_link")
    assert_blind(fresh, survey_runs)


def test_a_judge_can_leave_a_survey_and_the_way_out_names_no_model(db_url: str, survey_runs: list[Path]) -> None:
    """Every state of a survey's page has "Leave this survey" (and no other link): it goes back to the code form,
    whose sidebar leads to the explorer; the explorer keeps the survey's runs hidden, and the personal link
    brings the judge back to their questions."""
    store = connect(db_url)
    survey = make_survey(store, survey_runs, kind="makes_sense", n=2, per_judge=2)

    def leave(at: AppTest):
        return next(b for b in at.button if b.label == "Leave this survey")

    assert leave(judge_app("not-a-real-code")) and leave(judge_app(survey.token))  # a bad link; the join form
    at = judge_app(survey.token)
    at.button[0].click().run()  # joins
    judge = at.query_params["judge"]
    at.button[0].click().run()  # one answer
    assert_blind(at, survey_runs)
    assert not at.get("page_link") and leave(at).proto.help and "Leave" not in at.button[0].label
    leave(at).click().run()
    assert not at.exception and "survey" not in at.query_params and "judge" not in at.query_params
    assert at.text_input[0].label == "Survey code"
    assert {"", "posterior", "reconstructions"} <= {e.proto.page for e in at.get("page_link")}
    at.switch_page("app.py").run()  # the sidebar's first link: the Runs page
    assert not at.exception and not any(r.name in everything_sent(at) for r in survey_runs)
    back = judge_app(survey.token, judge)  # the personal link: nothing was lost
    assert back.get("progress")[0].proto.text == "1 of 2 answered"
    back.button[0].click().run()
    assert "All done" in back.success[0].value and leave(back)


def test_bad_links_get_a_plain_message(db_url: str, survey_runs: list[Path]) -> None:
    store = connect(db_url)
    survey = make_survey(store, survey_runs, n=2)
    draft = make_survey(store, survey_runs, n=2, status="draft")
    cases = {
        "No survey has this code": judge_app("not-a-real-code"),
        "not open yet": judge_app(draft.token),
        "judge code is not part of this survey": judge_app(survey.token, "forged-judge-code"),
    }
    repo.set_status(store, survey.id, "closed")
    cases["closed"] = judge_app(survey.token)
    for message, at in cases.items():
        assert not at.exception
        assert message in at.error[0].value
        assert_blind(at, survey_runs)


def test_a_forged_item_id_in_the_request_stores_nothing(db_url: str, survey_runs: list[Path]) -> None:
    """A browser that sends a click for a widget whose item id it altered: the server never issued that widget,
    so nothing is stored, nothing breaks, and the judge sees the same question again."""
    store = connect(db_url)
    survey = make_survey(store, survey_runs, kind="makes_sense", n=3, per_judge=3)
    at = judge_app(survey.token)
    at.button[0].click().run()
    before = at.markdown[0].value
    states = at._tree.get_widget_states()
    real = at.button[0].proto.id
    token = at.button[0].key.removeprefix("yes-")
    forged = WidgetState(id=real.replace(token, token[::-1]), trigger_value=True)
    states.widgets.append(forged)
    at._run(states)
    assert not at.exception
    assert at.markdown[0].value == before and at.get("progress")[0].proto.text == "0 of 3 answered"
    assert repo.answers_frame(store, survey.id).empty


def open_page(page: str, timeout: float = 60) -> AppTest:
    """A page as a visitor opens it: the app's entry point first, then the page (its own URL)."""
    at = AppTest.from_file(APP, default_timeout=timeout).run()
    return at.switch_page(page).run()


def login(page: str, secret: str) -> AppTest:
    at = open_page(page)
    at.text_input[0].set_value(secret)
    at.button[0].click().run()
    return at


def test_admin_pages_stay_locked_without_a_configured_secret(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEXTVAE_SURVEY_ADMIN")
    for page in (DESIGN, RESULTS):
        at = open_page(page)
        assert not at.exception and "TEXTVAE_SURVEY_ADMIN" in at.error[0].value
        assert not at.text_input and not at.button


def test_wrong_secrets_are_refused(db_url: str) -> None:
    for page, secret in ((DESIGN, "nope"), (DESIGN, VIEWER), (RESULTS, "nope")):
        at = login(page, secret)
        assert not at.exception and at.error[0].value.startswith("That is n")
        assert not at.multiselect and not at.selectbox  # nothing behind the lock was rendered


def test_design_generate_open_and_read_results(db_url: str, survey_runs: list[Path]) -> None:
    at = login(DESIGN, ADMIN)
    assert not at.exception
    at.text_input[0].set_value("Judge the sentences")
    at.multiselect[0].set_value([str(r) for r in survey_runs])
    at.selectbox[0].set_value("sample")
    at.number_input[0].set_value(5)
    at.number_input[1].set_value(6)
    at.run()
    next(b for b in at.button if b.label.startswith("Generate")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "draft" in at.success[0].value
    surveys = repo.list_surveys(connect(db_url))
    assert len(surveys) == 1 and surveys[0].status == "draft" and surveys[0].items == 5
    assert at.code[0].value == f"/?survey={surveys[0].token}"
    next(b for b in at.button if b.label == "Open to judges").click().run()
    assert repo.list_surveys(connect(db_url))[0].status == "open"
    # a judge answers three items through the real judge page
    judge = judge_app(surveys[0].token)
    judge.button[0].click().run()
    for k in range(3):
        judge.button[k % 2].click().run()
    res = login(RESULTS, VIEWER)  # the read-only secret opens results
    assert not res.exception
    metrics = {m.label: m.value for m in res.metric}
    assert metrics["Answers"] == "3" and metrics["Judges (answered / joined)"] == "1 / 1"
    pairs = res.dataframe[0].value
    assert (
        len(pairs) == 1
        and pairs.loc[0, "answers"] == 3
        and set(pairs.loc[0, ["model 1", "model 2"]]) == {r.name for r in survey_runs}
    )
    assert res.get("download_button")
    ranking = res.dataframe[1].value
    assert list(ranking["rank"]) == [1, 2] and ranking["strength"].iloc[0] >= ranking["strength"].iloc[1]


def test_makes_sense_results_with_judges_left_out(db_url: str, survey_runs: list[Path]) -> None:
    store = connect(db_url)
    survey = make_survey(store, survey_runs, kind="makes_sense", n=6, per_judge=12)
    for name, choice in (("Ann", "yes"), ("Bob", "yes"), ("trial", "no")):
        ticket = repo.join(store, survey.token, name=name)
        answer_all(store, survey.token, ticket.token, random.Random(0), pick=choice)
    res = login(RESULTS, ADMIN)
    assert not res.exception
    table = res.dataframe[0].value.set_index("model")
    assert set(table.index) == {r.name for r in survey_runs}
    assert (table["n_all"] == 18).all() and (table["pct_yes_all"].round(1) == 66.7).all()
    assert any("Krippendorff" in m.value for m in res.markdown)
    res.multiselect[0].set_value(["trial"]).run()
    table = res.dataframe[0].value.set_index("model")
    assert (table["n_all"] == 12).all() and (table["pct_yes_all"] == 100.0).all()
    assert {m.label: m.value for m in res.metric}["Answers"] == "24"
