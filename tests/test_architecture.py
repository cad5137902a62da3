"""The layout rules of docs/ARCHITECTURE.md, checked on the source: no import cycle, the floors import
downwards only, the lab (experiments/) imported by nobody but its own scripts and tests, one module owns the
run folder's file names, one ROOT, thin pages, scripts that import packages rather than each other and never
patch sys.path, data keys that are no screen labels, and every module on the map."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers import python_files, runtime_imports
from textvae_core.paths import ROOT

PACKAGES = ("textvae_core", "explorer", "experiments")
RUN_FILES = {
    "config.json",
    "setup.json",
    "vocab.json",
    "model.safetensors",
    "metrics.jsonl",
    "eval.json",
    "latent_map.safetensors",
}
JOB_FILES = {"job.log", ".job.lock", ".train.lock"}  # what training from the app adds (the job itself is in var/)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module → the modules of ``packages`` it imports (relative imports resolved; ``from pkg import sub``
    points at the submodule when there is one)."""
    files = {module_name(p, root): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        for node in runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
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


def imported_names(path: Path) -> set[str]:
    return {
        (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
        for n in runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
        for a in n.names
    }


def test_floors_import_downwards_only() -> None:
    """textvae_core knows nothing of the app or the lab; only explorer.ui (and the pages) import Streamlit."""
    for path in python_files(*PACKAGES):
        tops = {n.split(".")[0] for n in imported_names(path)}
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("textvae_core/"):
            assert not tops & {"explorer", "experiments", "streamlit"}, rel
        elif not rel.startswith("explorer/ui/"):
            assert "streamlit" not in tops, rel


def test_nothing_but_its_own_scripts_and_tests_imports_the_lab() -> None:
    """experiments/ may import the library and the app's logic; the library, the app and the set-up scripts never
    import it (benchmarks/ drive its anchors and tests/ test it)."""
    importers = []
    for path in [*python_files("textvae_core", "explorer", "pages", "scripts"), ROOT / "app.py"]:
        if any(n.split(".")[0] == "experiments" for n in imported_names(path)):
            importers.append(path.relative_to(ROOT).as_posix())
    assert importers == []
    lab = {n.split(".")[0] for p in python_files("experiments") for n in imported_names(p)}
    assert {"textvae_core", "explorer"} <= lab  # it builds on both floors


def test_no_module_patches_sys_path() -> None:
    """Every script imports the installed package (pip install -e .): none inserts a folder into sys.path, in
    its own code or in code it runs."""
    found = []
    for path in python_files("textvae_core", "explorer", "experiments", "pages", "scripts", "benchmarks", "tests"):
        if path.name == "test_architecture.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        code = [ast.unparse(tree), *(c for c in string_constants(path) if isinstance(c, str))]
        if any(f"sys.path.{verb}" in text for text in code for verb in ("insert", "append", "extend")):
            found.append(path.relative_to(ROOT).as_posix())
    assert found == []


def key_strings(node: ast.AST) -> list[ast.AST]:
    """The expressions this node uses as a data key: a dict's keys, a subscript's index, a DataFrame's column
    names (``columns=``, ``x=``, ``y=``, ``color=``, ``subset=``, ``hover_data=``, ``custom_data=``)."""
    if isinstance(node, ast.Dict):
        return [k for k in node.keys if k is not None]
    if isinstance(node, ast.DictComp):
        return [node.key]
    if isinstance(node, ast.Subscript):
        return [node.slice]
    if isinstance(node, ast.Call):
        named = {"columns", "x", "y", "color", "subset", "hover_data", "custom_data", "hover_name", "column_order"}
        return [kw.value for kw in node.keywords if kw.arg in named]
    return []


def label_keys(path: Path, screen_labels: set[str]) -> list[str]:
    """Key strings in ``path`` that are screen labels: not ASCII, or a label of explorer.labels."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        for key in key_strings(node):
            for part in ast.walk(key):
                text = part.value if isinstance(part, ast.Constant) and isinstance(part.value, str) else None
                if text is not None and (not text.isascii() or text in screen_labels):
                    found.append(f"{path.name}:{part.lineno}: {text!r}")
    return found


def test_the_label_finder_finds_labels_used_as_keys(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('row = {"β": 1}\nrow["−ELBO"]\ndf.dropna(subset=["‖μ‖²"])\npx.line(df, x="log det Cov")\n')
    good = tmp_path / "good.py"
    good.write_text('row = {"beta": 1}\nname = "β"\nst.radio("β", KEYS)\nHELP = {"alpha": "α: a weight"}\n')
    found = label_keys(bad, {"log det Cov"}) + label_keys(good, {"log det Cov"})
    assert [f.split(": ", 1)[1] for f in found] == ["'β'", "'−ELBO'", "'‖μ‖²'", "'log det Cov'"]


def test_no_screen_label_is_a_data_key() -> None:
    """Tables, rows and plots are keyed by ASCII data names; explorer.labels alone maps them to what a page shows
    (an ASCII "-ELBO" must never look up nothing where a "−ELBO" key was meant). In the app no key is one of
    its labels either; the lab's reports keep their own ASCII keys (ablation.json's "D" and "R")."""
    from explorer.labels import LABELS

    screen = {text for key, text in LABELS.items() if text != key}
    app = [*python_files("explorer", "pages"), ROOT / "app.py"]
    found = [f for p in app if p.name != "labels.py" for f in label_keys(p, screen)]
    found += [f for p in python_files("textvae_core", "experiments", "scripts") for f in label_keys(p, set())]
    assert found == []


def test_every_module_is_on_the_map() -> None:
    """docs/ARCHITECTURE.md names every module of the three packages (its name, as a word)."""
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = [
        p.relative_to(ROOT).as_posix()
        for p in python_files(*PACKAGES)
        if not re.search(rf"\b{re.escape(p.parent.name if p.stem == '__init__' else p.stem)}\b", doc)
    ]
    assert missing == []


def string_constants(path: Path) -> list[str]:
    return [n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.Constant)]


def test_one_module_names_the_run_folder_files() -> None:
    """A run folder's file names appear as strings in textvae_core/rundir.py alone (everywhere else: its constants)."""
    from textvae_core import rundir

    named = {rundir.CONFIG, rundir.SETUP, rundir.VOCAB, rundir.WEIGHTS, rundir.METRICS, rundir.EVAL, rundir.LATENT_MAP}
    assert named == RUN_FILES
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
    for rel in ("textvae_core/trainer.py", "experiments/grid.py", "explorer/jobs.py"):
        text = (ROOT / rel).read_text(encoding="utf-8")
        assert "validation import" in text and "validate(" in text, rel
