"""experiments/gpu_grid.py on the CPU at tiny size: parallel training within a budget, evaluation, packing into
parts within the transfer limits, and unpacking that checks every byte and loads every run."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from textvae_core.checkpoint import load_run
from textvae_core.rundir import EVAL, read_eval, weights_meta


@pytest.fixture(scope="module")
def trained(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path, Path]:
    root = tmp_path_factory.mktemp("gpu_grid")
    grid = root / "grid.toml"
    data = {s: str(corpus_dir / f"{s}.txt") for s in ("train", "valid", "test")}
    grid.write_text(
        "[defaults]\n"
        f'data = {{ train = "{data["train"]}", valid = "{data["valid"]}", test = "{data["test"]}" }}\n'
        "model = { emb_dim = 16, hidden = 32, z_dim = 4 }\n"
        "train = { batch_size = 32, max_steps = 12 }\n"
        "[groups.tiny]\n"
        'objective = "beta-c"\n'
        'runs = [ { name = "tiny-c3", knobs = { C = 3.0 } }, { name = "tiny-c8", knobs = { C = 8.0 } },'
        ' { name = "tiny-long", knobs = { C = 5.0 }, train = { max_steps = 100000 } } ]\n'
    )
    mod = importlib.import_module("experiments.gpu_grid")
    work = root / "work"
    args = ["train", "tiny", f"--grid={grid}", f"--work={work}", "--device=cpu", "--parallel=3",
            "--budget_min=0.6", "--eval_min=0.25", "--profile=probe"]  # fmt: skip
    assert mod.main(args) == 0
    return mod, work, root


def test_runs_train_in_parallel_within_the_budget_and_are_evaluated(trained: tuple) -> None:
    _, work, _ = trained
    report = json.loads((work / "report.json").read_text())
    assert report["parallel"] == 3 and {r["run"] for r in report["runs"]} == {"tiny-c3", "tiny-c8", "tiny-long"}
    by_name = {r["run"]: r for r in report["runs"]}
    assert by_name["tiny-c3"]["step"] == 12 and by_name["tiny-c3"]["exit"] == 0
    long = by_name["tiny-long"]  # could never finish: stopped by the budget with a checkpoint, still shipped
    assert long["exit"] == 4 and 0 < long["step"] < long["target"]
    assert all(r["tok_per_s"] > 0 and "error" not in r for r in report["runs"])
    assert report["sum_tok_per_s"] == pytest.approx(sum(r["tok_per_s"] for r in report["runs"]), rel=1e-3)
    for name in by_name:
        assert read_eval(work / name)["profile"] == "probe" and weights_meta(work / name)["dtype"] == "float16"


def test_pack_splits_within_the_limits_and_unpack_restores_loadable_runs(trained: tuple, tmp_path: Path) -> None:
    mod, work, _ = trained
    out1, out2, into = tmp_path / "out1", tmp_path / "out2", tmp_path / "checkpoints"
    # room for about one run per pack: the others wait for the next pack
    size = max(sum(f.stat().st_size for f in (work / n).iterdir()) for n in ("tiny-c3", "tiny-c8", "tiny-long"))
    part_mb = (size + 80 * 1024) / 2 / (1 << 20)  # two parts (+ the manifest and report) hold one run
    limits = [f"--part_mb={part_mb}", "--max_files=4"]
    assert mod.main(["pack", f"--work={work}", f"--out={out1}", *limits]) == 0
    first = json.loads((out1 / "manifest.json").read_text())
    files = list(out1.iterdir())
    assert first["runs"] and first["left"] and len(files) <= 4  # parts, the manifest and report.json
    assert all(f.stat().st_size <= part_mb * (1 << 20) for f in out1.glob("runs.tar.part*"))
    assert mod.main(["pack", f"--work={work}", f"--out={out2}", "--part_mb=1"]) == 0
    second = json.loads((out2 / "manifest.json").read_text())
    assert set(first["runs"]) | set(second["runs"]) == {"tiny-c3", "tiny-c8", "tiny-long"} and not second["left"]
    for out in (out1, out2):
        assert mod.main(["unpack", str(out), f"--into={into}"]) == 0
    for name in ("tiny-c3", "tiny-c8", "tiny-long"):
        assert load_run(into / name).step > 0 and (into / name / EVAL).exists()
    part = next(out2.glob("runs.tar.part*"))
    part.write_bytes(part.read_bytes()[:-1] + b"x")  # one damaged byte: refused, nothing unpacked
    with pytest.raises(SystemExit, match="damaged"):
        mod.unpack(out2, tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists() or not any((tmp_path / "elsewhere").iterdir())
