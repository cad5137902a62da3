"""The Training page in AppTest: who may train, launching a tiny run, its live curves, stop and resume,
and uploads refused with the CLI's messages. AppTest sends no request headers, so a page here can never prove
it is local: these tests hold the admin secret (the browser tests open training on localhost without one)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from explorer import jobs
from textvae_core.rundir import read_metrics_since

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "pages/training.py"


@pytest.fixture
def address() -> Iterator[callable]:
    """Set Streamlit's server.address for the page (AppTest runs in this process), restored afterwards."""
    before = config.get_option("server.address")
    yield lambda value: config.set_option("server.address", value)
    config.set_option("server.address", before)


SECRET = "s3cret"


@pytest.fixture
def root(tmp_path: Path, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TEXTVAE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("TEXTVAE_CORPORA", str(corpus_dir))  # the tests' corpus folder is one the page may read
    monkeypatch.setenv("TEXTVAE_SURVEY_ADMIN", SECRET)
    yield tmp_path / "runs"
    for st in jobs.list_jobs(tmp_path / "runs"):  # stop whatever a failed test left running
        if st.state in jobs.ACTIVE:
            jobs.stop(st.run_dir)
    deadline = time.monotonic() + 60
    while any(jobs.is_active(s.run_dir) for s in jobs.list_jobs(tmp_path / "runs")) and time.monotonic() < deadline:
        time.sleep(0.2)


def open_page(secret: str | None = SECRET) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    if secret is not None and at.text_input and at.text_input[0].label == "Admin secret":
        at.text_input[0].set_value(secret)
        at.button[0].click().run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def until(at: AppTest, check, timeout: float = 120) -> AppTest:
    """Rerun the page (as its fragment does every 1.5 s) until ``check(at)`` holds."""
    deadline = time.monotonic() + timeout
    while not check(at):
        assert time.monotonic() < deadline, "the page never showed what was expected"
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def plain(markdown: str) -> str:
    """What a message says, without the escapes that keep user text from being read as markdown (md_escape)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def text(at: AppTest) -> str:
    return "\n".join(
        plain(e.value) for kind in ("error", "warning", "success", "info", "caption") for e in getattr(at, kind)
    )


def test_without_a_secret_training_is_locked_unless_the_request_is_local(
    root: Path, address, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEXTVAE_SURVEY_ADMIN")
    address("")
    at = open_page(None)
    assert "Training is locked" in at.error[0].value and "every network interface" in at.error[0].value
    assert "TEXTVAE_SURVEY_ADMIN" in at.error[0].value and not at.button
    address("0.0.0.0")
    assert "Training is locked" in open_page(None).error[0].value
    address("127.0.0.1")  # a localhost-only server, but this request shows no local Host: it may be rebound
    at = open_page(None)
    assert "Training is locked" in at.error[0].value and "gives no host name" in at.error[0].value


def test_training_opens_on_localhost_only_to_a_request_that_is_local_by_every_sign() -> None:
    from explorer.training import training_access

    local = {"Host": "127.0.0.1:8501", "Origin": "http://localhost:8501"}
    assert training_access("127.0.0.1", False, local)[0] == "open"
    assert training_access("127.0.0.1", False, {"Host": "[::1]:8501"})[0] == "open"
    for headers in (
        {"Host": "evil.example:8622"},  # DNS rebinding: a foreign name resolving to 127.0.0.1
        {"Host": "localhost:8622", "Origin": "http://evil.example:8622"},
        {"Host": "127.0.0.1:8501", "X-Forwarded-For": "203.0.113.9"},  # a reverse proxy in front of it
        {},
    ):
        assert training_access("127.0.0.1", False, headers)[0] == "locked", headers
    assert training_access("0.0.0.0", False, local)[0] == "locked"  # served beyond this machine: the secret
    assert training_access("127.0.0.1", True, {"Host": "evil.example"})[0] == "secret"


def test_with_a_secret_only_its_holders_train(root: Path, address) -> None:
    address("127.0.0.1")  # the secret gates even a local server once it is set
    at = open_page(None)
    assert not any(b.label == "Launch" for b in at.button)
    at.text_input[0].set_value("wrong")
    at.button[0].click().run()
    assert any("not the admin secret" in plain(e.value) for e in at.error)
    at = open_page()
    assert any(b.label == "Launch" for b in at.button)


def test_the_form_marks_the_test_size(root: Path) -> None:
    """The tiny size reconstructs next to nothing on a real corpus: the form says it is a test size."""
    size = dict((s.label, s) for s in open_page().selectbox)["Size"]
    assert "tiny (a test size: learns next to nothing)" in size.options
    assert all("test size" not in o for o in size.options if not o.startswith("tiny"))


def test_a_stopped_jobs_bar_and_row_speak_plainly(corpus_dir: Path, root: Path) -> None:
    """A stopped job's table row has no "None" and its bar gives no time left; the times and the message are not
    cut off."""
    at = open_page()
    from tests.helpers import tiny_config

    cfg = tiny_config(corpus_dir, root / "stopped", "beta-c", C=2.0)
    cfg.train.epochs, cfg.train.num_threads = 1000, 1
    jobs.submit(root, "stopped", cfg)
    until(at, lambda at: any("tokens/s" in (p.proto.text or "") for p in at.get("progress")))
    assert any(" left" in p.proto.text for p in at.get("progress"))
    jobs.stop(root / "stopped")
    until(at, lambda at: any("stopped" in plain(w.value) for w in at.warning), 60)
    until(at, lambda at: "stopped here" in at.get("progress")[0].proto.text, 30)
    bar = at.get("progress")[0].proto.text
    assert "left" not in bar and "ETA" not in bar and "tokens/s" not in bar, bar
    table = at.dataframe[0]
    row = table.value.iloc[0]
    assert (
        "None" not in " ".join(map(str, row.values)) and row["pid"] == "" and row["last checkpoint"].startswith("step")
    )
    widths = {c: v.get("width") for c, v in json.loads(table.proto.columns or "{}").items()}  # not cut off
    assert widths["message"] == "large" and widths["started"] == "medium", widths


def test_an_upload_of_the_wrong_kind_is_refused_with_the_cli_message(root: Path) -> None:
    at = open_page()
    at.radio[0].set_value("Upload a file").run()
    at.file_uploader[0].set_value(("weights.bin", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "application/octet-stream"))
    at.run()
    assert any("weights.bin: looks like a binary file" in plain(e.value) for e in at.error)
    assert next(b for b in at.button if b.label == "Launch").disabled
    at.file_uploader[0].set_value(("short.txt", b"one line\nanother line\n", "text/plain")).run()
    assert any("short.txt: only 2 sentence(s)" in plain(e.value) for e in at.error)
    labelled = "".join(f"{i % 3}\tthe cat sees sentence number {i}\n" for i in range(80)).encode()
    at.file_uploader[0].set_value(("reviews.tsv", labelled, "text/tab-separated-values")).run()
    assert any("80 sentences, 3 labels" in plain(s.value) for s in at.success), text(at)
    assert any("format: labelled" in c.value for c in at.caption)
    long = b"\xef\xbb\xbf" + b"".join(b"sentence %d of a corpus\n" % i for i in range(60)) + b"w " * 300_000
    at.file_uploader[0].set_value(("long.txt", long, "text/plain")).run()
    assert any("line 61 has 300,000 words; a sentence may have at most 500" in plain(e.value) for e in at.error), text(
        at
    )


def test_free_bits_beside_a_capacity_are_refused_before_a_job_starts(corpus_dir: Path, root: Path) -> None:
    at = open_page()
    at.radio[0].set_value("A folder on this server").run()
    at.text_input[0].input(str(corpus_dir)).run()
    dict((n.label, n) for n in at.number_input)["Free bits λ (nats/dim)"].set_value(0.5)
    dict((t.label, t) for t in at.text_input)["Run name"].input("fb-and-c")
    next(b for b in at.button if b.label == "Launch").click().run()  # β_C's preset keeps its C = 15
    assert any("choose a capacity (β_C) or a floor per dimension" in plain(e.value) for e in at.error), text(at)
    assert not (root / "fb-and-c").exists()
    dict((s.label, s) for s in at.selectbox)["Objective"].set_value("vae").run()
    assert dict((n.label, n) for n in at.number_input)["Free bits λ (nats/dim)"].value == 0.0


def test_launch_watch_stop_and_resume_a_tiny_run(corpus_dir: Path, root: Path) -> None:
    at = open_page()
    at.radio[0].set_value("A folder on this server").run()
    at.text_input[0].input(str(corpus_dir)).run()
    assert any("format: text" in c.value for c in at.caption), text(at)
    dict((s.label, s) for s in at.selectbox)["Size"].set_value("tiny")
    dict((s.label, s) for s in at.selectbox)["Weights to keep"].set_value("rec")
    dict((n.label, n) for n in at.number_input)["Epochs"].set_value(1000.0)  # long enough to stop it midway
    dict((s.label, s) for s in at.selectbox)["LR schedule"].set_value("cosine").run()
    dict((n.label, n) for n in at.number_input)["Final LR (cosine)"].set_value(1e-5)
    dict((n.label, n) for n in at.number_input)["Hold (epochs, cosine)"].set_value(500.0)  # at most the epochs
    dict((n.label, n) for n in at.number_input)["Average weights from (epoch)"].set_value(800.0).run()
    dict((n.label, n) for n in at.number_input)["… one sample every (updates)"].set_value(5)
    dict((n.label, n) for n in at.number_input)["C (nats; empty: none)"].set_value(2.0)
    dict((n.label, n) for n in at.number_input)["CPU threads"].set_value(1)  # the suite shares two cores
    dict((t.label, t) for t in at.text_input)["Run name"].input("tiny-page")
    dict((c.label, c) for c in at.checkbox)["Evaluate when done"].uncheck()
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.error, text(at)
    run = root / "tiny-page"
    t = jobs.status(run).job["config"]["train"]  # the job carries the form's configuration, not a command line
    assert (t["keep_best"], t["lr_schedule"], t["lr_final"], t["lr_hold"]) == ("rec", "cosine", 1e-5, 500.0)
    assert (t["average_from"], t["average_every"], t["num_threads"]) == (800.0, 5, 1)
    # the live view: progress with steps, tokens/s and the time left, then the curves with the C line on the KL panel
    until(at, lambda at: any("tokens/s" in (p.proto.text or "") for p in at.get("progress")))
    until(at, lambda at: at.get("plotly_chart"))
    figure = at.get("plotly_chart")[0].proto.spec
    assert "KL (rate" in figure and "C = 2" in figure
    assert jobs.status(run).state == "running"
    next(b for b in at.button if b.label == "Stop").click().run()
    until(at, lambda at: any("stopped" in plain(w.value) for w in at.warning), 60)
    stopped_at = jobs.status(run).checkpoint_step
    assert stopped_at and f"last good checkpoint: step {stopped_at}" in plain(at.warning[0].value)
    next(b for b in at.button if b.label == "Resume").click().run()
    starts = lambda: [r["resumed"] for r in read_metrics_since(run)[0] if r.get("event") == "start"]  # noqa: E731
    until(at, lambda at: starts() == [False, True], 60)
    assert jobs.status(run).state == "running"
    until(at, lambda at: max(r["step"] for r in read_metrics_since(run)[0]) > stopped_at, 60)
    jobs.stop(run)


def test_start_from_a_runs_recipe_trains_its_model_on_the_chosen_corpus(
    corpus_dir: Path, run_folder: Path, root: Path
) -> None:
    import shutil

    from textvae_core.config import RunConfig
    from textvae_core.recipe import resolve
    from textvae_core.rundir import CONFIG

    shutil.copytree(run_folder / "tiny-bc10", root / "tiny-bc10")  # a run already here: its recipe to start from
    at = open_page()
    at.radio[0].set_value("A folder on this server").run()
    at.text_input[0].input(str(corpus_dir)).run()
    dict((s.label, s) for s in at.selectbox)["Start from"].set_value("tiny-bc10").run()
    assert any("16/32/4" in c.value and "beta-c (m 0, β 1, C 10)" in c.value for c in at.caption), text(at)
    assert "Objective" not in {s.label for s in at.selectbox}  # the recipe is the run's, not the form's
    assert dict((n.label, n) for n in at.number_input)["Epochs"].value == 12.0  # the run's own budget to start
    dict((n.label, n) for n in at.number_input)["Epochs"].set_value(0.5)
    dict((n.label, n) for n in at.number_input)["CPU threads"].set_value(1)
    dict((t.label, t) for t in at.text_input)["Run name"].input("like-bc10")
    dict((c.label, c) for c in at.checkbox)["Evaluate when done"].uncheck()
    next(b for b in at.button if b.label == "Launch").click().run()
    assert not at.error, text(at)
    run = root / "like-bc10"
    queued = resolve(RunConfig.from_dict(jobs.status(run).job["config"]))  # the ramp is derived again, alike
    assert queued.model == RunConfig.load(root / "tiny-bc10" / CONFIG).model
    until(at, lambda at: jobs.status(run).state == "finished", 120)
    made, base = RunConfig.load(run / CONFIG), RunConfig.load(root / "tiny-bc10" / CONFIG)
    assert made.model == base.model and made.objective.C == 10.0 and made.train.epochs == 0.5
    assert made.data.train == str((corpus_dir / "train.txt").resolve())


def test_a_labelled_run_colours_its_posterior_map_by_label(corpus_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """A label<TAB>sentence corpus trains on the sentences; the map offers its labels as colours."""
    from conftest import tiny_config

    from explorer.latent_map import MapConfig, labels_for, precompute
    from textvae_core.checkpoint import load_run
    from textvae_core.train import train

    for split in ("train", "valid", "test"):
        lines = (corpus_dir / f"{split}.txt").read_text().splitlines()
        labelled = [f"{'ANIMAL' if ln.split()[1] in {'cat', 'dog', 'bird'} else 'OTHER'}\t{ln}" for ln in lines]
        (tmp_path / f"{split}.tsv").write_text("\n".join(labelled) + "\n")
    cfg = tiny_config(tmp_path, tmp_path / "runs" / "labelled", "vae")
    cfg.data.train, cfg.data.valid, cfg.data.test = (str(tmp_path / f"{s}.tsv") for s in ("train", "valid", "test"))
    cfg.data.format, cfg.train.max_steps = "labelled", 5
    train(cfg)
    run = tmp_path / "runs" / "labelled"
    assert "ANIMAL" not in load_run(run).vocab.itos and set(labels_for(run)) == {"ANIMAL", "OTHER"}
    precompute(run, MapConfig(n_posterior=40, n_prior=5), methods=("pca",))
    monkeypatch.setenv("TEXTVAE_RUNS", str(tmp_path / "runs"))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/posterior.py").run()
    colour = next(r for r in at.radio if r.label == "Colour by")
    colour.set_value("label").run()
    assert not at.exception
    spec = at.get("plotly_chart")[0].proto.spec
    assert '"label ANIMAL"' in spec and '"label OTHER"' in spec
