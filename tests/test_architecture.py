"""The layout rules of docs/ARCHITECTURE.md, checked on the source: no import cycle, the floors import
downwards only, one module owns the run folder's file names, one ROOT, thin pages, scripts that import
packages rather than each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from textvae_core.paths import ROOT

PACKAGES = ("textvae_core", "explorer")
RUN_FILES = {"config.json", "vocab.json", "model.safetensors", "metrics.jsonl", "eval.json", "latent_map.safetensors"}
JOB_FILES = {"job.log", ".job.lock", ".train.lock"}  # what training from the app adds (the job itself is in var/)


def python_files(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py") if ".venv" not in p.parts)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import the module can execute, at its top or inside functions; not those under TYPE_CHECKING."""
    found = []

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for orelse in child.orelse:
                    walk(orelse)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            walk(child)

    walk(tree)
    return found


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module → the modules of ``packages`` it imports (relative imports resolved; ``from pkg import sub``
    points at the submodule when there is one)."""
    files = {module_name(p, root): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = mod.split(".")[: len(mod.split(".")) - node.level + (1 if is_pkg else 0)]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            graph[mod] |= {t for t in targets if t in files and t != mod}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_lazy_import_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "config.py").write_text("def apply():\n    from .objectives import preset\n")  # the old cycle's shape
    (pkg / "objectives.py").write_text("from .config import apply\n")
    (pkg / "plain.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import config\n")
    assert cycles(import_graph(tmp_path, ("pkg",))) == [["pkg.config", "pkg.objectives"]]


def test_no_import_cycle_in_the_packages() -> None:
    graph = import_graph(ROOT, PACKAGES)
    assert "textvae_core.objectives" in graph["textvae_core.cli"]  # the graph sees the real imports
    assert "textvae_core.objectives" not in graph["textvae_core.config"]
    assert cycles(graph) == []


def test_floors_import_downwards_only() -> None:
    """textvae_core knows nothing of the app; only explorer.ui (and the pages) import Streamlit."""
    for path in python_files(*PACKAGES):
        names = {
            (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
            for n in _runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
            for a in n.names
        }
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("textvae_core/"):
            assert not {n for n in names if n.split(".")[0] in {"explorer", "streamlit"}}, rel
        elif not rel.startswith("explorer/ui/"):
            assert not {n for n in names if n.split(".")[0] == "streamlit"}, rel


def string_constants(path: Path) -> list[str]:
    return [n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.Constant)]


def test_one_module_names_the_run_folder_files() -> None:
    """A run folder's file names appear as strings in textvae_core/rundir.py alone (everywhere else: its constants)."""
    from textvae_core import rundir

    assert {rundir.CONFIG, rundir.VOCAB, rundir.WEIGHTS, rundir.METRICS, rundir.EVAL, rundir.LATENT_MAP} == RUN_FILES
    assert {rundir.JOB_LOG, rundir.JOB_LOCK, rundir.TRAIN_LOCK} == JOB_FILES
    owners: dict[str, list[str]] = {}
    for path in [*python_files("textvae_core", "explorer", "pages", "scripts", "benchmarks", "tests"), ROOT / "app.py"]:
        if path.name == "test_architecture.py":
            continue  # the names' contract, above
        for value in string_constants(path):
            if isinstance(value, str) and value in RUN_FILES | JOB_FILES:
                owners.setdefault(value, []).append(path.relative_to(ROOT).as_posix())
    assert owners and all(files == ["textvae_core/rundir.py"] for files in owners.values()), owners


def test_one_reader_of_the_training_log() -> None:
    """metrics.jsonl is parsed by rundir.parse_metrics only: nothing else opens the METRICS file to read it."""
    readers = []
    for path in [*python_files("textvae_core", "explorer", "pages", "scripts", "benchmarks"), ROOT / "app.py"]:
        text = path.read_text(encoding="utf-8")
        if "METRICS" in text and path.name != "rundir.py" and ("read_text" in text or "open(" in text):
            tree = ast.parse(text)
            for node in ast.walk(tree):
                if isinstance(node, ast.BinOp) and isinstance(node.right, ast.Name) and node.right.id == "METRICS":
                    readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    allowed = {"textvae_core/trainer.py", "textvae_core/checkpoint.py"}  # the log's writer opens it; export copies it
    assert [r for r in readers if r.split(":")[0] not in allowed] == []


def test_root_is_defined_once_and_scripts_import_packages_not_each_other() -> None:
    for path in python_files(*PACKAGES, "pages", "scripts", "benchmarks", "tests"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assigned = {
            t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
        }
        if "ROOT" in assigned:
            assert path == ROOT / "textvae_core" / "paths.py", path
    scripts = {p.stem for p in python_files("scripts", "benchmarks")}
    for path in python_files("scripts", "benchmarks"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not imported & scripts, (path.name, imported & scripts)
        assert "scripts" not in ast.unparse(tree).split("sys.path.insert")[-1].split("\n")[0], path.name


@pytest.mark.parametrize("page", [*sorted(p.name for p in (ROOT / "pages").glob("*.py")), "app.py"])
def test_pages_are_thin(page: str) -> None:
    path = ROOT / ("app.py" if page == "app.py" else f"pages/{page}")
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 80, page


def test_every_page_is_in_the_app_navigation_and_sets_itself_up() -> None:
    from explorer.ui.nav import SECTIONS

    listed = {link.file for links in SECTIONS.values() for link in links}
    assert listed == {"app.py"} | {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    for file in listed:
        assert "nav.page(" in (ROOT / file).read_text(encoding="utf-8"), file


def test_one_validate_for_every_entry_point() -> None:
    """Config checks live in textvae_core/validation.py alone, and every entry point calls its validate():
    the Trainer (so the CLI, torchrun and the app's jobs), the app's queue and the grid."""
    defined = {
        node.name: path.relative_to(ROOT).as_posix()
        for path in python_files("textvae_core", "explorer")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef)
        and node.name in {"check_recipe", "check_averaging", "check_data_fits", "combinations", "check_fields"}
    }
    assert set(defined.values()) == {"textvae_core/validation.py"}, defined
    for rel in ("textvae_core/trainer.py", "textvae_core/grid.py", "explorer/jobs.py"):
        text = (ROOT / rel).read_text(encoding="utf-8")
        assert "validation import" in text and "validate(" in text, rel
