"""Which items a judge gets: at most N, spread evenly over the models (or model pairs), shuffled per judge.

Pure functions over counts, so the policy is tested without a database. Within a model (or pair) the items
seen least so far come first: coverage grows evenly and items get second and third judges (needed for
agreement) only once every item has a first.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    item_id: int
    group: Hashable  # the model (makes-sense) or the unordered model pair (pairwise)
    seen: int  # judges already given this item


@dataclass(frozen=True)
class Pick:
    item_id: int
    swapped: bool  # pairwise: show system b on the left


def choose(candidates: Sequence[Candidate], n: int, rng: random.Random) -> list[Pick]:
    """Up to ``n`` items, round-robin over groups (least-served group first), then shuffled.

    Left/right is counterbalanced: half the picks (rounded at random) are swapped."""
    groups: dict[Hashable, list[Candidate]] = {}
    for c in candidates:
        groups.setdefault(c.group, []).append(c)
    for members in groups.values():
        rng.shuffle(members)  # random tie-break among equally seen items
        members.sort(key=lambda c: c.seen)
    load: Mapping[Hashable, int] = {g: sum(c.seen for c in members) for g, members in groups.items()}
    order = list(groups)
    rng.shuffle(order)
    order.sort(key=lambda g: load[g] / len(groups[g]))  # groups whose items were seen least go first
    picked: list[int] = []
    cursor = dict.fromkeys(order, 0)
    while len(picked) < n and any(cursor[g] < len(groups[g]) for g in order):
        for g in order:
            if len(picked) == n:
                break
            if cursor[g] < len(groups[g]):
                picked.append(groups[g][cursor[g]].item_id)
                cursor[g] += 1
    rng.shuffle(picked)
    swaps = [i % 2 == 0 for i in range(len(picked))]
    if len(picked) % 2 and rng.random() < 0.5:
        swaps[-1] = False  # odd count: the extra item is left unswapped half the time
    rng.shuffle(swaps)
    return [Pick(i, s) for i, s in zip(picked, swaps, strict=True)]
