"""Where the repository's own folders are. Configs store data paths relative to the repository root,
so a shipped run works in any clone; scripts, benchmarks, evaluation and the app resolve them here."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository root (textvae_core/ sits in it)
CHECKPOINTS = ROOT / "checkpoints"  # the shipped runs the app opens on
DOCS = ROOT / "docs"


def repo_path(path: str | Path) -> Path:
    """A path from a config: as given when it exists or is absolute, else relative to the repository root."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    return ROOT / path
