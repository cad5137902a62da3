"""Helpers the tests import: a small synthetic grammar and tiny run configs (fixtures live in conftest.py)."""

from __future__ import annotations

import ast
import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

from textvae_core.config import SIZES, RunConfig
from textvae_core.objectives import preset
from textvae_core.paths import ROOT

SUBJECTS = ["the cat", "a dog", "the old man", "my sister", "the bank", "a small bird", "the teacher"]
VERBS = ["sees", "likes", "follows", "buys", "paints", "finds", "calls"]
OBJECTS = ["the house", "a red car", "the river", "some bread", "the market", "a new book", "the moon"]
TAILS = ["", "today", "in the morning", "with great care", "again and again", "near the park"]


def make_sentences(n: int, seed: int) -> list[str]:
    """Sentences from a small grammar: enough structure to learn, enough variety to need a latent."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(TAILS)]
        out.append(" ".join(w for w in words if w))
    return out


def tiny_config(
    corpus_dir: Path, out: Path, objective: str = "vae", decoder: str = "lstm", **knobs: object
) -> RunConfig:
    cfg = RunConfig(objective=preset(objective, **knobs))
    cfg.data.train = str(corpus_dir / "train.txt")
    cfg.data.valid = str(corpus_dir / "valid.txt")
    cfg.data.test = str(corpus_dir / "test.txt")
    for k, v in SIZES["tiny"].items():
        setattr(cfg.model, k, v)
    cfg.model.decoder = decoder
    cfg.train.out = str(out)
    cfg.train.batch_size = 32
    cfg.train.epochs = 1
    cfg.train.progress = False
    cfg.train.ckpt_every = 0
    return cfg


def load_script(name: str, folder: str = "benchmarks") -> ModuleType:
    """FOLDER/NAME.py imported as the module NAME (registered first: dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def python_files(*folders: str) -> list[Path]:
    """The repository's Python files under these folders (never a virtual environment's)."""
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py") if ".venv" not in p.parts)


def runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
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
