"""The run folder's readers and its metrics log (textvae_core.rundir): what a killed or half-written run leaves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from textvae_core.rundir import (
    EVAL,
    METRICS,
    MetricsLog,
    last_validation,
    read_eval,
    read_metrics,
    read_metrics_since,
    run_status,
    weights_digest,
    weights_meta,
    weights_step,
    write_eval,
)


def test_the_log_skips_a_line_cut_off_by_a_kill_and_filters_by_split(tmp_path: Path) -> None:
    lines = [
        {"step": 1, "split": "train", "rec": 10.0},
        {"step": 1, "split": "valid", "rec": 9.0},
        {"step": 2, "split": "train", "rec": 8.0},
    ]
    (tmp_path / METRICS).write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"step": 3, "spl')
    assert read_metrics(tmp_path) == lines
    assert [r["step"] for r in read_metrics(tmp_path, "train")] == [1, 2]
    assert last_validation(tmp_path) == lines[1]
    assert read_metrics(tmp_path / "nothing") == [] and last_validation(tmp_path / "nothing") is None


def test_the_live_reader_waits_for_whole_lines_and_notices_a_rewrite(tmp_path: Path) -> None:
    """read_metrics_since: what the Training page's live view reads every 1.5 s (only the bytes appended)."""
    path = tmp_path / METRICS
    assert read_metrics_since(tmp_path) == ([], 0)  # no log yet
    path.write_text('{"step": 1, "split": "train"}\n{"step": 2, "spl')
    records, offset = read_metrics_since(tmp_path)
    assert [r["step"] for r in records] == [1] and offset == len('{"step": 1, "split": "train"}\n')
    with open(path, "a") as f:
        f.write('it": "train"}\n')
    records, offset = read_metrics_since(tmp_path, offset)
    assert [r["step"] for r in records] == [2] and offset == path.stat().st_size
    assert read_metrics_since(tmp_path, offset) == ([], offset)  # nothing new
    path.write_text('{"step": 1, "split": "train"}\n')  # a resume dropped replayed steps
    assert read_metrics_since(tmp_path, offset) == ([], -1)


def test_a_resumed_log_drops_the_steps_it_will_replay(tmp_path: Path) -> None:
    log = MetricsLog(tmp_path / METRICS)
    for step in range(1, 6):
        log.write({"step": step, "split": "train"})
    log.close()
    with open(tmp_path / METRICS, "a") as f:
        f.write('{"step": 6, "spl')  # killed while writing
    log = MetricsLog(tmp_path / METRICS, keep_until_step=3)  # the checkpoint was at step 3
    log.write({"step": 4, "split": "train", "again": True})
    log.close()
    assert [(r["step"], "again" in r) for r in read_metrics(tmp_path)] == [
        (1, False),
        (2, False),
        (3, False),
        (4, True),
    ]


def test_eval_json_round_trip_and_unreadable_files(tmp_path: Path) -> None:
    assert read_eval(tmp_path) is None and run_status(tmp_path) == "training started, no weights yet"
    write_eval(tmp_path, {"profile": "grid", "iw_nll": {"k": 5}, "x": float("nan")}, default=str)
    assert read_eval(tmp_path)["profile"] == "grid" and run_status(tmp_path) == "evaluated (grid profile, k = 5)"
    (tmp_path / EVAL).write_text("[1, 2")
    assert read_eval(tmp_path) is None
    assert run_status(tmp_path / "missing") == "not started"


def test_the_weights_header_is_read_without_torch(trained_run: Path) -> None:
    meta = weights_meta(trained_run)
    assert weights_step(trained_run) == int(meta["step"]) > 0 and len(weights_digest(trained_run)) == 64
    code = (
        "import sys; from textvae_core.rundir import weights_step, read_metrics; "
        f"print(weights_step({str(trained_run)!r}), len(read_metrics({str(trained_run)!r})) > 0, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(weights_step(trained_run)), "True", "False"]
    assert weights_step(trained_run.parent / "none") is None and weights_meta(trained_run.parent / "none") == {}
