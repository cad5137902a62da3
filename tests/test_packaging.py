"""Packaging: the library installs and trains without the app's packages, every part of the repository
declares the distributions it imports (pyproject.toml's dependencies and extras), one exact pin per package
(constraints.txt), an honest requires-python, and an app set-up without the test tools."""

from __future__ import annotations

import ast
import importlib.metadata as md
import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from functools import cache
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers import python_files, runtime_imports
from textvae_core.extras import EXTRAS
from textvae_core.paths import ROOT
from textvae_core.rundir import EVAL

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
FIRST_PARTY = {"textvae_core", "explorer", "experiments", "tests", "benchmarks", "scripts"}
FIRST_PARTY |= {p.stem for p in (ROOT / "tests").glob("*.py")}  # pytest puts tests/ on the path: conftest, helpers
# in every venv (python -m venv installs them): never blocked when the core install is simulated
VENV_BASE = {"pip", "setuptools", "pkg_resources", "_distutils_hack"}


def requirements(*parts: str) -> list[Requirement]:
    """The requirements of the library ("core") and of the named extras, the extras' own extras expanded."""
    out: list[Requirement] = []
    seen: set[str] = set()
    todo = list(parts)
    while todo:
        part = todo.pop()
        if part in seen:
            continue
        seen.add(part)
        for text in PROJECT["dependencies"] if part == "core" else PROJECT["optional-dependencies"][part]:
            req = Requirement(text)
            if canonicalize_name(req.name) == canonicalize_name(PROJECT["name"]):
                todo += sorted(req.extras)
            else:
                out.append(req)
    return out


def declared(*parts: str) -> set[str]:
    """Distribution names (canonical) that the parts list, psycopg[binary]'s psycopg-binary included."""
    names = set()
    for req in requirements(*parts):
        names.add(canonicalize_name(req.name))
        names |= {canonicalize_name(f"{req.name}-{extra}") for extra in req.extras}
    return names


def closure(names: set[str]) -> set[str]:
    """The installed distributions these need, their own requirements followed (markers evaluated, no extras)."""
    found: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        found.add(name)
        for text in requires:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    return found


@cache
def module_owners() -> dict[str, set[str]]:
    """Top-level module → the (canonical) distributions that install it, in this environment."""
    return {mod: {canonicalize_name(d) for d in dists} for mod, dists in md.packages_distributions().items()}


def not_in_a_core_install() -> list[str]:
    """Every top-level module here that ``pip install -e .`` (no extras) would not install."""
    core = closure(declared("core"))
    return sorted(
        mod
        for mod, dists in module_owners().items()
        if mod.isidentifier() and mod not in VENV_BASE | FIRST_PARTY and not dists & core
    )


CORE_ONLY = textwrap.dedent("""
    import json, sys
    for name in json.loads(sys.argv[1]):
        sys.modules[name] = None  # as if not installed: an import raises ModuleNotFoundError
    import importlib, pkgutil
    import textvae_core
    for info in pkgutil.walk_packages(textvae_core.__path__, "textvae_core."):
        importlib.import_module(info.name)
    from textvae_core import evaluate, train
    corpus, out = sys.argv[2], sys.argv[3]
    data = [f"--data.{s}={corpus}/{s}.txt" for s in ("train", "valid", "test")]
    assert train.main(["--size=tiny", *data, "--max_steps=6", f"--out={out}", "--progress=false"]) == 0
    assert evaluate.main([out, "--k", "2", "--max-sentences", "30", "--prior-samples", "10", "--homotopy-pairs",
                          "2", "--fce-schemes", "", "--syntax-dir", "", "--device", "cpu"]) == 0
    from experiments.grid import load_grid
    assert load_grid()  # the grid's scripts need the library alone: a GPU machine trains the grid with it
    errors = {}
    for part in ("explorer", "experiments.reproduction"):
        try:
            importlib.import_module(part)
        except ImportError as err:
            errors[part] = str(err)
    print(json.dumps(errors))
""")


def test_the_library_trains_and_evaluates_without_the_app_packages(corpus_dir: Path, tmp_path: Path) -> None:
    """What ``pip install -e .`` installs is enough: the other packages of this environment are hidden."""
    hidden = not_in_a_core_install()
    assert {"streamlit", "plotly", "pandas", "sklearn", "umap", "sqlalchemy", "scipy", "pytest"} <= set(hidden)
    assert not {"torch", "numpy", "safetensors", "sacrebleu", "rouge_score", "tqdm", "filelock"} & set(hidden)
    out = subprocess.run(
        [sys.executable, "-c", CORE_ONLY, json.dumps(hidden), str(corpus_dir), str(tmp_path / "run")],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "run" / EVAL).exists()
    errors = json.loads(out.stdout.strip().splitlines()[-1])
    assert "'app' extra" in errors["explorer"] and 'pip install -c constraints.txt -e ".[app]"' in errors["explorer"]
    assert "'lab' extra" in errors["experiments.reproduction"]


# which parts of the repository may import what: the library alone, the app, the surveys, the lab, the rest
PARTS = {
    "textvae_core": ("core",),
    "explorer/survey": ("core", "app", "survey"),
    "explorer": ("core", "app"),
    "experiments": ("core", "lab"),
    "pages": ("core", "app", "survey"),
    "app.py": ("core", "app"),
    "tests": ("core", "dev"),
    "benchmarks": ("core", "dev"),
    "scripts": ("core", "dev"),
}
NOT_OURS = {"experiments/anchors/sentence_vae_eval.py"}  # run by the anchor's own python, with its own modules


def part_of(rel: str) -> tuple[str, ...]:
    return next(parts for prefix, parts in PARTS.items() if rel == prefix or rel.startswith(prefix + "/"))


def test_every_part_declares_the_distributions_it_imports() -> None:
    """An import of a package the part's extras do not list would fail for a user who installed only those."""
    owners, undeclared = module_owners(), []
    for path in [*python_files("textvae_core", "explorer", "experiments", "pages", "tests", "benchmarks", "scripts"),
                 ROOT / "app.py"]:  # fmt: skip
        rel = path.relative_to(ROOT).as_posix()
        if rel in NOT_OURS:
            continue
        allowed = declared(*part_of(rel))
        for node in runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue
            names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for top in {(n or "").split(".")[0] for n in names}:
                if top in FIRST_PARTY or top in sys.stdlib_module_names:
                    continue
                if not owners.get(top, set()) & allowed:
                    undeclared.append(f"{rel}: {top} ({', '.join(sorted(owners.get(top, {'not installed'})))})")
    assert undeclared == []


def test_the_extras_checks_name_modules_their_extras_install() -> None:
    owners = module_owners()
    for extra, modules in EXTRAS.items():
        for mod in modules:
            assert owners.get(mod, set()) & declared(extra), (extra, mod)


def test_one_exact_pin_per_package_for_everything_pyproject_lists() -> None:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+]+)", line)
        assert match, f"not an exact pin: {line!r}"
        name = canonicalize_name(match[1])
        assert name not in pins, f"{name} pinned twice"
        pins[name] = match[2]
    assert pins["torch"] == "2.13.0"  # the CPU build on disk; a newer one pulls a multi-GB CUDA build
    assert declared("core", *PROJECT["optional-dependencies"]) <= set(pins)
    for req in requirements("core", *PROJECT["optional-dependencies"]):
        assert req.specifier.contains(pins[canonicalize_name(req.name)]), (req, pins[canonicalize_name(req.name)])


def test_requires_python_is_the_oldest_python_the_code_runs_on() -> None:
    """tomllib (config files, the grid, the published figures) came with 3.11; ruff checks the same target."""
    floor = tuple(int(x) for x in re.fullmatch(r">=\s*(\d+)\.(\d+)", PROJECT["requires-python"]).groups())
    uses_tomllib = [
        p for p in python_files("textvae_core", "explorer", "experiments") if re.search(r"^import tomllib", p.read_text(
            encoding="utf-8"), re.M)
    ]  # fmt: skip
    assert uses_tomllib and floor >= (3, 11)
    assert sys.version_info[:2] >= floor
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]
    assert ruff["target-version"] == f"py{floor[0]}{floor[1]}"


def test_the_app_set_up_installs_no_test_tool_and_the_test_set_up_does() -> None:
    setup = (ROOT / "scripts/setup.sh").read_text(encoding="utf-8")
    extras = dict(re.findall(r'^\s*(\w+)\) EXTRAS="([\w,]+)"', setup, re.M))
    tools = {"pytest", "ruff", "playwright"}
    assert not declared(*extras["app"].split(",")) & tools
    assert declared(*extras["dev"].split(",")) >= tools | declared("app", "survey", "lab")
    assert re.search(r"^bash scripts/setup.sh$", (ROOT / "scripts/run_app.sh").read_text(encoding="utf-8"), re.M)
    assert re.search(r"^bash scripts/setup.sh dev$", (ROOT / "scripts/test.sh").read_text(encoding="utf-8"), re.M)


@pytest.mark.parametrize("extra", ["app", "survey", "lab"])
def test_a_missing_extra_is_named_with_its_install_command(extra: str) -> None:
    module = EXTRAS[extra][-1]
    code = (
        f"import sys; sys.modules[{module!r}] = None\nfrom textvae_core.extras import require\nrequire({extra!r}, 'x')"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 1
    assert f"ImportError: x needs the '{extra}' extra ({module} not installed)" in out.stderr
