"""2-D maps of the aggregated posterior: z ~ q(z|x) for test sentences, with prior samples in the same map.

UMAP costs ~30 s in a fresh process (numba compiles; the on-disk cache of :func:`umap_module` saves
that from the second process on), so every shipped run carries its map in
RUN/latent_map.safetensors, written once by ``python -m explorer.latent_map RUN …``; the page then
opens at once. A map for a run without one is computed on demand (PCA first, UMAP when ready).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save

from textvae_core.corpus import read_corpus, read_labels
from textvae_core.io import atomic_write_bytes
from textvae_core.rundir import LATENT_MAP, read_config, read_vocab, weights_digest

if TYPE_CHECKING:
    from textvae_core.inference import TextVAE

MAP_VERSION = 1
METHODS = ("umap", "pca", "tsne")


@dataclass
class MapConfig:
    n_posterior: int = 3000  # test sentences, one z ~ q(z|x) each (below 4,096 UMAP takes its exact-NN path)
    n_prior: int = 500  # samples from N(0, I) placed in the same map
    seed: int = 0  # picks the sentences and draws the noise (on the CPU, so any device gives the same z)
    neighbours: int = 15  # UMAP n_neighbors: local (small) versus global (large) structure
    min_dist: float = 0.1  # UMAP min_dist: how tightly points may pack


@dataclass
class LatentMap:
    z: np.ndarray  # [N, z_dim] float32: posterior samples first, then prior samples
    n_posterior: int
    sentence_index: np.ndarray  # [n_posterior] line index of each posterior point in the split's corpus
    lengths: np.ndarray  # [N] tokens per sentence (0 for prior points, which are drawn in one colour)
    split: str = "test"
    coords: dict[str, np.ndarray] = field(default_factory=dict)  # method → [N, 2]
    weights: str = ""  # SHA-256 of the weights the map was computed from (another digest → stale map)

    @property
    def is_prior(self) -> np.ndarray:
        flags = np.zeros(len(self.z), dtype=bool)
        flags[self.n_posterior :] = True
        return flags


def corpus_for(run_dir: str | Path, split: str = "test") -> list[str]:
    """The run's own held-out sentences, as detokenised text (what the map's hover shows).

    Read from the run's config and vocabulary files alone: the map's page draws without loading
    the model (or importing torch)."""
    cfg = read_config(run_dir)
    path = getattr(cfg.data, split, "")
    if not path:
        return []
    vocab = read_vocab(run_dir)
    sents = read_corpus(path, cfg.data.level, cfg.data.lowercase, cfg.data.min_len, cfg.data.max_len, cfg.data.format)
    return [vocab.detokenize(s) for s in sents]


def labels_for(run_dir: str | Path, split: str = "test") -> list[str] | None:
    """The labels of a labelled run's held-out sentences, aligned with :func:`corpus_for` (None when the
    run's corpus has no labels)."""
    cfg = read_config(run_dir)
    path = getattr(cfg.data, split, "")
    if not path or cfg.data.format != "labelled":
        return None
    d = cfg.data
    return read_labels(path, d.level, d.lowercase, d.min_len, d.max_len)


def sample_points(vae: TextVAE, sentences: list[str], cfg: MapConfig) -> LatentMap:
    """Encode a seeded subset of sentences, draw one z ~ q(z|x) each, and add prior samples."""
    rng = np.random.default_rng(cfg.seed)
    n = min(cfg.n_posterior, len(sentences))
    index = np.sort(rng.choice(len(sentences), size=n, replace=False)) if n else np.zeros(0, dtype=np.int64)
    import torch

    gen = torch.Generator().manual_seed(cfg.seed)
    parts, lengths = [], []
    if n:
        enc = vae.encode([sentences[i] for i in index])
        if vae.model.hierarchical:  # a ladder's q(z|x) is drawn top-down through its layers
            parts.append(vae.posterior_z(enc, use_mean=False, n_samples=1, seed=cfg.seed)[0].cpu())
        else:
            eps = torch.randn(enc.mu.shape, generator=gen)
            parts.append(enc.mu.cpu() + eps * (0.5 * enc.logvar.cpu()).exp())
        lengths += [len(t) for t in enc.tokens]
    with torch.no_grad():  # the model's prior: N(0, I), or a ladder's ancestral draws
        parts.append(vae.model.prior_z(cfg.n_prior, gen, "cpu"))
    lengths += [0] * cfg.n_prior
    return LatentMap(
        z=torch.cat(parts).numpy().astype(np.float32),
        n_posterior=n,
        sentence_index=index.astype(np.int64),
        lengths=np.asarray(lengths, dtype=np.int64),
    )


def project(z: np.ndarray, method: str, cfg: MapConfig | None = None) -> np.ndarray:
    """[N, 2] coordinates of the latents by PCA, UMAP or t-SNE (all seeded)."""
    cfg = cfg or MapConfig()
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=cfg.seed).fit_transform(z).astype(np.float32)
    if method == "umap":
        umap = umap_module()
        reducer = umap.UMAP(n_neighbors=cfg.neighbours, min_dist=cfg.min_dist, random_state=cfg.seed, n_jobs=1)
        return reducer.fit_transform(z).astype(np.float32)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30, max(2, (len(z) - 1) // 3)))
        return TSNE(n_components=2, perplexity=perplexity, random_state=cfg.seed).fit_transform(z).astype(np.float32)
    raise ValueError(f"unknown projection {method!r}; choose from {METHODS}")


NUMBA_CACHE = Path(__file__).resolve().parent.parent / "var" / "numba-cache"
CACHE_SWITCH = "TEXTVAE_NUMBA_CACHE"  # "0" turns the on-disk cache of UMAP's compiled code off


def umap_module() -> ModuleType:
    """umap, with numba's on-disk cache switched on for every compiled function of umap and pynndescent.

    Nearly all of a first UMAP fit in a process is numba compiling (~30–50 s on two cores), and umap
    marks only one of its ~130 functions cache=True. With all of them cached on disk, the second and
    later processes load the machine code instead (benchmarks/umap_first_fit.py measures it).
    The cache lives in $NUMBA_CACHE_DIR, else var/numba-cache/."""
    if os.environ.get(CACHE_SWITCH, "1") == "0":
        import umap

        return umap
    os.environ.setdefault("NUMBA_CACHE_DIR", str(NUMBA_CACHE))
    import numba
    from numba.core.dispatcher import Dispatcher

    if not numba.config.CACHE_DIR:  # numba was imported before the variable was set
        numba.config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]
    import umap

    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in {"umap", "pynndescent"} and module is not None:
            for obj in list(vars(module).values()):
                if isinstance(obj, Dispatcher) and type(obj._cache).__name__ == "NullCache":
                    obj.enable_caching()
    return umap


def save_map(run_dir: str | Path, lm: LatentMap) -> Path:
    """Write RUN/latent_map.safetensors atomically (tensors only: safe to load from anyone)."""
    tensors = {"z": lm.z.astype(np.float16), "sentence_index": lm.sentence_index, "lengths": lm.lengths}
    tensors |= {f"coords.{m}": c.astype(np.float32) for m, c in lm.coords.items()}
    meta = {
        "version": str(MAP_VERSION),
        "n_posterior": str(lm.n_posterior),
        "split": lm.split,
        "weights": lm.weights,
    }
    path = Path(run_dir) / LATENT_MAP
    atomic_write_bytes(path, save(tensors, metadata=meta))
    return path


def load_map(run_dir: str | Path) -> LatentMap | None:
    """The stored map, or None when there is none, it is unreadable, or it was made from other weights."""
    path = Path(run_dir) / LATENT_MAP
    if not path.exists():
        return None
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
        if meta.get("version") != str(MAP_VERSION):
            return None
        lm = LatentMap(
            z=tensors["z"].astype(np.float32),
            n_posterior=int(meta["n_posterior"]),
            sentence_index=tensors["sentence_index"],
            lengths=tensors["lengths"],
            split=meta.get("split", "test"),
            coords={k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith("coords.")},
            weights=meta.get("weights", ""),
        )
    except (SafetensorError, KeyError, ValueError, OSError):
        return None
    n = len(lm.z)
    if lm.weights != weights_digest(run_dir):
        return None
    if len(lm.lengths) != n or len(lm.sentence_index) != lm.n_posterior or any(len(c) != n for c in lm.coords.values()):
        return None
    return lm


def precompute(run_dir: str | Path, cfg: MapConfig | None = None, methods: tuple[str, ...] = ("umap", "pca")) -> Path:
    """Sample, project and store a run's map (what the app would otherwise compute on first visit)."""
    cfg = cfg or MapConfig()
    from textvae_core.inference import TextVAE

    vae = TextVAE.load(run_dir, device="cpu")
    lm = sample_points(vae, corpus_for(run_dir), cfg)
    lm.weights = weights_digest(run_dir)
    for method in methods:
        lm.coords[method] = project(lm.z, method, cfg)
    return save_map(run_dir, lm)


def main(argv: list[str] | None = None) -> int:
    from textvae_core.cli import OptionParser

    parser = OptionParser("python -m explorer.latent_map", __doc__)
    parser.add_positional("runs", "run directories", nargs="+")
    parser.add("methods", "methods", f"comma-separated projections, from {', '.join(METHODS)} (default: umap,pca)")
    parser.add_dataclass(MapConfig, title="the map", dashes=True)
    given = parser.parse(argv)
    runs, methods = given.pop("runs"), tuple(given.pop("methods", "umap,pca").split(","))
    cfg = MapConfig(**given)
    for run in runs:
        t0 = time.perf_counter()
        path = precompute(run, cfg, methods)
        print(json.dumps({"run": run, "file": str(path), "seconds": round(time.perf_counter() - t0, 1)}))
    return 0


if __name__ == "__main__":
    from textvae_core.cli import run_main

    run_main(main)
