"""Survey designs and the items they freeze: reconstructions for pairwise surveys, prior samples for
"makes sense" surveys. Generation runs once, when the admin creates the survey; judges only read the result."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from textvae_core.corpus import CorpusError, read_corpus
from textvae_core.decoding import DecodeConfig
from textvae_core.inference import TextVAE
from textvae_core.rundir import CheckpointError, read_config

from .db import KINDS, ROOT
from .errors import DesignError

SOURCES = ("test", "pasted")
MAX_ITEMS = 5000  # a survey larger than this is a mistake in the form, not a study


@dataclass
class SurveyDesign:
    """Everything that decides a survey's material; stored with it so the study can be reported and redone."""

    kind: str  # pairwise | makes_sense
    title: str
    runs: list[str]  # run folders; order is kept (system 1, 2, …)
    n: int = 30  # pairwise: source sentences (each judged once per model pair); makes-sense: samples per model
    source: str = "test"  # pairwise: the runs' test set, or sentences pasted below
    pasted: str = ""  # one sentence per line
    min_len: int = 1  # words; sources (pairwise) or samples (makes-sense) outside [min_len, max_len] are skipped
    max_len: int = 0  # 0 = no upper limit
    skip_unk: bool = False  # skip sources / samples containing <unk>
    decoding: DecodeConfig = field(default_factory=DecodeConfig)
    use_mean: bool = True  # pairwise: decode μ(x) rather than a draw z ~ q(z|x)
    seed: int = 0
    items_per_judge: int = 20
    instructions: str = ""

    def validate(self) -> None:
        """Raise DesignError with a message for the form; also guards blindness of what judges will read."""
        if self.kind not in KINDS:
            raise DesignError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if not self.title.strip():
            raise DesignError("give the survey a title (judges see it: do not name the models)")
        if len(set(self.runs)) != len(self.runs):
            raise DesignError("a run is listed twice")
        need = 2 if self.kind == "pairwise" else 1
        if len(self.runs) < need:
            raise DesignError(f"a {self.kind} survey needs at least {need} run(s)")
        if not 1 <= self.n <= MAX_ITEMS:
            raise DesignError(f"the number of sentences must be between 1 and {MAX_ITEMS}")
        if self.items_per_judge < 1:
            raise DesignError("each judge needs at least one item")
        if self.min_len < 1 or (self.max_len and self.max_len < self.min_len):
            raise DesignError("the length range is empty")
        if self.kind == "pairwise" and self.source not in SOURCES:
            raise DesignError(f"source must be one of {SOURCES}")
        if self.kind == "pairwise" and self.source == "pasted" and not self.pasted.strip():
            raise DesignError("paste at least one sentence, one per line")
        try:
            self.decoding.validate()
        except ValueError as err:
            raise DesignError(str(err)) from None
        public = f"{self.title}\n{self.instructions}".casefold()
        for run in self.runs:
            name = Path(run).name
            if name and name.casefold() in public:
                raise DesignError(f"the title or instructions name the run {name!r}: judges would see it")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SurveyDesign:
        raw = dict(raw)
        raw["decoding"] = DecodeConfig(**raw.get("decoding", {}))
        return cls(**{k: v for k, v in raw.items() if k in {f.name for f in dataclasses.fields(cls)}})


@dataclass
class SystemDraft:
    name: str
    path: str
    summary: dict[str, Any]


@dataclass
class ItemDraft:
    a: int  # index into systems
    text_a: str
    length: int
    source: str | None = None
    b: int | None = None
    text_b: str | None = None


@dataclass
class Generated:
    systems: list[SystemDraft]
    items: list[ItemDraft]
    notes: dict[str, Any]  # what was skipped and why, where sources came from


def words(text: str) -> int:
    return len(text.split())


def resolve(path: str) -> Path:
    """Run and data paths in configs are relative to the repository root unless absolute."""
    p = Path(path)
    return p if p.is_absolute() else ROOT / p


def _keep(text: str, design: SurveyDesign) -> bool:
    n = words(text)
    if n < design.min_len or (design.max_len and n > design.max_len):
        return False
    return not (design.skip_unk and "<unk>" in text.split())


def source_sentences(design: SurveyDesign) -> tuple[list[str], dict[str, Any]]:
    """The pairwise inputs: ``n`` distinct sentences drawn (seeded) from the test set or the pasted lines."""
    if design.source == "pasted":
        pool = [line.strip() for line in design.pasted.splitlines() if line.strip()]
        origin = "pasted"
    else:
        tests = set()
        for run in design.runs:
            try:
                cfg = read_config(resolve(run))
            except CheckpointError as err:
                raise DesignError(str(err)) from None
            tests.add((cfg.data.test, cfg.data.level, cfg.data.lowercase, cfg.data.format))
        if len(tests) != 1:
            raise DesignError("the runs were evaluated on different test sets; paste the source sentences instead")
        test, level, lowercase, fmt = tests.pop()
        if not test:
            raise DesignError("the runs name no test set; paste the source sentences instead")
        try:
            tokens = read_corpus(resolve(test), level=level, lowercase=lowercase, fmt=fmt)
        except CorpusError as err:
            raise DesignError(str(err)) from None
        pool = [("" if level == "char" else " ").join(t) for t in tokens]
        origin = test
    candidates = list(dict.fromkeys(s for s in pool if _keep(s, design)))
    if not candidates:
        raise DesignError("no source sentence is within the length range (or all contain <unk>)")
    rng = random.Random(design.seed)
    chosen = rng.sample(candidates, min(design.n, len(candidates)))
    return chosen, {"source": origin, "pool": len(candidates), "sentences": len(chosen)}


def _system(path: str) -> SystemDraft:
    cfg = read_config(resolve(path))
    o, m = cfg.objective, cfg.model
    summary = {"objective": o.name, "m": o.m, "beta": o.beta, "C": o.C, "decoder": m.decoder, "z_dim": m.z_dim}
    return SystemDraft(Path(path).name, str(path), summary)


def generate(design: SurveyDesign, load: Callable[[str], TextVAE]) -> Generated:
    """Decode every item of the design with the runs' models (``load`` maps a run path to a TextVAE)."""
    design.validate()
    pairs = len(design.runs) * (len(design.runs) - 1) // 2
    if design.kind == "pairwise" and design.n * pairs > MAX_ITEMS:
        raise DesignError(f"{design.n} sentences × {pairs} model pairs is more than {MAX_ITEMS} items")
    try:
        systems = [_system(r) for r in design.runs]
    except CheckpointError as err:
        raise DesignError(str(err)) from None

    def checked_load(run: str) -> TextVAE:
        try:
            return load(run)
        except (CheckpointError, OSError, ValueError, RuntimeError) as err:  # e.g. weights being rewritten
            raise DesignError(f"{Path(run).name}: the model cannot be loaded ({err})") from None

    if design.kind == "pairwise":
        return _pairwise(design, systems, checked_load)
    return _makes_sense(design, systems, checked_load)


def _pairwise(design: SurveyDesign, systems: list[SystemDraft], load: Callable[[str], TextVAE]) -> Generated:
    sources, notes = source_sentences(design)
    outputs = []
    for i, run in enumerate(design.runs):
        seed = design.seed + 7919 * i  # q(z|x) draws differ per model but are reproducible
        recs = load(run).reconstruct(sources, decoding=design.decoding, use_mean=design.use_mean, seed=seed)
        outputs.append([r.outputs[0] for r in recs])
    items, same = [], {}
    for a, b in combinations(range(len(systems)), 2):
        key = f"{systems[a].name} vs {systems[b].name}"
        same[key] = 0
        for k, src in enumerate(sources):
            if outputs[a][k] == outputs[b][k]:
                same[key] += 1  # no preference possible: not asked, but reported
                continue
            items.append(ItemDraft(a=a, text_a=outputs[a][k], length=words(src), source=src, b=b, text_b=outputs[b][k]))
    notes["identical_outputs_skipped"] = same
    if not items:
        raise DesignError("every pair of models produced identical reconstructions: nothing to judge")
    return Generated(systems, items, notes)


def _makes_sense(design: SurveyDesign, systems: list[SystemDraft], load: Callable[[str], TextVAE]) -> Generated:
    items, dropped = [], {}
    for i, run in enumerate(design.runs):
        model, kept, tries, rounds = load(run), [], 0, 0
        while len(kept) < design.n and rounds < 20:  # filters may reject samples: draw more, within reason
            batch = model.sample(max(design.n, 8), decoding=design.decoding, seed=design.seed + 100_003 * rounds)
            tries += len(batch)
            kept += [s for s in batch if _keep(s, design)]
            rounds += 1
        kept = kept[: design.n]
        dropped[systems[i].name] = tries - len(kept) if len(kept) == design.n else f"only {len(kept)} passed"
        items += [ItemDraft(a=i, text_a=s, length=words(s)) for s in kept]
    if not items:
        raise DesignError("no sample passed the length / <unk> filters")
    return Generated(systems, items, {"samples_drawn_not_used": dropped})
