"""Forming mixer groups: an explicit objective, minimised by greedy construction and local search.

Pure and deterministic: no database, no clock, no global random state. The same participants,
history, thanks and seed give the same groups, whatever order the participants come in. The
objective and its weights are documented in ``docs/mixers.md``.

The cost of a grouping is the sum, over every pair of people in the same group, of

* ``same_department`` when both are in the same department;
* ``repeat * decay ** (age - 1)`` for every earlier round (``age`` rounds ago, 1 = the last one)
  in which the two were in one group;
* ``different_place`` when both have a place (office) and the places differ;
* ``bridge * connectedness`` when their departments differ, where ``connectedness`` in [0, 1] is
  ``log1p(thanks) / log1p(most thanks)`` between the two departments lately: departments that
  exchanged no thanks cost nothing to bring together, the best-connected pair costs ``bridge``.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MIN_GROUP_SIZE, MAX_GROUP_SIZE = 2, 6


@dataclass(frozen=True, slots=True)
class Participant:
    """Someone to place: an id, and their department and place when known."""

    id: str
    department: str | None = None
    place: str | None = None


@dataclass(frozen=True, slots=True)
class Weights:
    """The objective's weights (see the module docstring). Their order is the order of priority."""

    different_place: float = 1000.0
    repeat: float = 400.0
    decay: float = 0.85
    same_department: float = 100.0
    bridge: float = 20.0
    # Where the person has no department: the middle of the bridge scale.
    unknown_connectedness: float = 0.5


@dataclass(frozen=True, slots=True)
class PastMeeting:
    """Two people who were in one group ``age`` rounds ago (1 = the last round)."""

    a: str
    b: str
    age: int


def group_sizes(count: int, size: int) -> list[int]:
    """Sizes of the groups for ``count`` people aiming at ``size``; never a group of one.

    The people are split as evenly as possible into the number of groups (``count // size`` or
    one more) whose sizes stay closest to ``size``: with at least ``size * size`` people every
    group has ``size - 1``, ``size`` or ``size + 1`` people. Fewer than two people make no group.
    """
    if not MIN_GROUP_SIZE <= size <= MAX_GROUP_SIZE:
        raise ValueError(f"group size must be {MIN_GROUP_SIZE}–{MAX_GROUP_SIZE}, not {size}")
    if count < 2:
        return []
    best: tuple[float, int] | None = None
    for groups in {max(1, count // size), max(1, -(-count // size))}:
        groups = min(groups, count // 2)
        largest, smallest = -(-count // groups), count // groups
        deviation = max(largest - size, size - smallest)
        if best is None or (deviation, groups) < (best[0], best[1]):
            best = (deviation, groups)
    assert best is not None
    groups = best[1]
    base, extra = divmod(count, groups)
    return [base + 1] * extra + [base] * (groups - extra)


class _Costs:
    """Pair costs over participant indices, precomputed so the search does no string work."""

    def __init__(
        self,
        people: Sequence[Participant],
        history: Iterable[PastMeeting],
        thanks: Mapping[tuple[str, str], float],
        weights: Weights,
    ) -> None:
        self.n = n = len(people)
        departments = sorted({p.department for p in people if p.department is not None})
        dept_index = {d: i for i, d in enumerate(departments)}
        unknown = len(departments)  # every person without a department is alone in it
        self.dept = [dept_index.get(p.department, unknown) if p.department else unknown for p in people]
        places = sorted({p.place for p in people if p.place})
        place_index = {p: i for i, p in enumerate(places)}
        self.place = [place_index[p.place] if p.place else -1 for p in people]
        self.different_place = weights.different_place
        self.bridge = weights.bridge

        # Department-pair costs, the unknown department as the last row and column.
        flows: dict[tuple[int, int], float] = defaultdict(float)
        for (a, b), count in thanks.items():
            if a in dept_index and b in dept_index and a != b and count > 0:
                i, j = sorted((dept_index[a], dept_index[b]))
                flows[i, j] += count
        most = max(flows.values(), default=0.0)
        size = unknown + 1
        table = [[weights.bridge * weights.unknown_connectedness] * size for _ in range(size)]
        for i in range(unknown):
            for j in range(unknown):
                if i == j:
                    table[i][j] = weights.same_department
                else:
                    flow = flows.get((min(i, j), max(i, j)), 0.0)
                    connectedness = math.log1p(flow) / math.log1p(most) if most > 0 else 0.0
                    table[i][j] = weights.bridge * connectedness
        self.table = table

        index = {p.id: i for i, p in enumerate(people)}
        met: dict[int, float] = defaultdict(float)
        for past in history:
            x, y = index.get(past.a), index.get(past.b)
            if x is None or y is None or x == y or past.age < 1:
                continue
            low, high = min(x, y), max(x, y)
            met[low * n + high] += weights.repeat * weights.decay ** (past.age - 1)
        self.met = dict(met)

    def pair(self, i: int, j: int) -> float:
        cost = self.table[self.dept[i]][self.dept[j]]
        pi, pj = self.place[i], self.place[j]
        if pi != pj and pi >= 0 and pj >= 0:
            cost += self.different_place
        if self.met:
            key = i * self.n + j if i < j else j * self.n + i
            cost += self.met.get(key, 0.0)
        return cost

    def joining(self, i: int, members: Iterable[int], without: int = -1) -> float:
        """What ``i`` costs with ``members`` (leaving out ``without``)."""
        return sum(self.pair(i, m) for m in members if m != without and m != i)


def grouping_cost(
    groups: Sequence[Sequence[str]],
    people: Sequence[Participant],
    *,
    history: Iterable[PastMeeting] = (),
    thanks: Mapping[tuple[str, str], float] | None = None,
    weights: Weights = Weights(),
) -> float:
    """The objective's value for ``groups`` (lists of participant ids)."""
    costs = _Costs(people, history, thanks or {}, weights)
    index = {p.id: i for i, p in enumerate(people)}
    total = 0.0
    for group in groups:
        members = [index[m] for m in group]
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                total += costs.pair(i, j)
    return total


def form_groups(
    people: Sequence[Participant],
    *,
    size: int = 4,
    seed: int | str = 0,
    history: Iterable[PastMeeting] = (),
    thanks: Mapping[tuple[str, str], float] | None = None,
    weights: Weights = Weights(),
    effort: int = 6,
) -> list[list[str]]:
    """Groups of participant ids minimising the objective; deterministic for a ``seed``.

    ``thanks`` maps department pairs (either order) to how many thanks they exchanged lately.
    ``effort`` is the number of random swap attempts per person in the improvement phase.
    """
    if len({p.id for p in people}) != len(people):
        raise ValueError("a participant appears twice")
    sizes = group_sizes(len(people), size)
    if not sizes:
        return []
    # Sorted by id: the result does not depend on the order the participants come in.
    people = sorted(people, key=lambda p: p.id)
    rng = random.Random(f"kizuna-mixer:{seed}")
    costs = _Costs(people, history, thanks or {}, weights)
    groups = _construct(costs, sizes, rng)
    _improve(costs, groups, rng, effort)
    return [sorted(people[i].id for i in group) for group in groups]


def _construct(costs: _Costs, sizes: list[int], rng: random.Random) -> list[list[int]]:
    """Greedy start: people in runs of place then department, dealt round-robin to the groups.

    Each place fills consecutive groups; within them the deal spreads every department as evenly
    as the groups allow, which is already the fewest same-department pairs the sizes force.
    """
    by_place: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i in range(costs.n):
        by_place[costs.place[i]][costs.dept[i]].append(i)
    order: list[list[int]] = []
    for place in sorted(by_place, key=lambda p: (-sum(map(len, by_place[p].values())), p)):
        run: list[int] = []
        departments = by_place[place]
        keys = sorted(departments)
        rng.shuffle(keys)
        for dept in sorted(keys, key=lambda d: -len(departments[d])):  # stable: ties stay shuffled
            members = departments[dept]
            rng.shuffle(members)
            run.extend(members)
        order.append(run)

    groups: list[list[int]] = [[] for _ in sizes]
    room = list(sizes)
    start = 0
    for run in order:
        # The consecutive groups (from ``start``) with room for this run.
        span, capacity, end = [], 0, start
        while capacity < len(run) and end < len(groups):
            if room[end] > 0:
                span.append(end)
                capacity += room[end]
            end += 1
        if capacity < len(run):  # cannot happen: sizes sum to the people; kept for safety
            span = [g for g in range(len(groups)) if room[g] > 0]
        k = 0
        for person in run:
            while room[span[k % len(span)]] == 0:
                k += 1
            g = span[k % len(span)]
            groups[g].append(person)
            room[g] -= 1
            k += 1
        start = next((g for g in range(len(groups)) if room[g] > 0), len(groups))
    return groups


def _improve(costs: _Costs, groups: list[list[int]], rng: random.Random, effort: int) -> None:
    """Local search by swaps: first repair the costly pairs, then random improving swaps."""
    if len(groups) < 2:
        return
    where = [0] * costs.n
    for g, group in enumerate(groups):
        for person in group:
            where[person] = g
    # A pair costs more than ``bridge`` only for a shared department, a repeat or two places.
    costly = costs.bridge + 1e-9

    def delta(a: int, b: int) -> float:
        ga, gb = groups[where[a]], groups[where[b]]
        return (
            costs.joining(b, ga, without=a)
            - costs.joining(a, ga)
            + costs.joining(a, gb, without=b)
            - costs.joining(b, gb)
        )

    def swap(a: int, b: int) -> None:
        ga, gb = where[a], where[b]
        groups[ga][groups[ga].index(a)] = b
        groups[gb][groups[gb].index(b)] = a
        where[a], where[b] = gb, ga

    n = costs.n
    # Repair: everyone in a costly pair tries a few partners from other groups, best swap wins.
    for _ in range(3):
        changed = False
        for g in range(len(groups)):
            for a in list(groups[g]):
                if where[a] != g:
                    continue
                if not any(costs.pair(a, m) > costly for m in groups[g] if m != a):
                    continue
                best, choice = -1e-9, -1
                for _ in range(24):
                    b = rng.randrange(n)
                    if where[b] == g:
                        continue
                    d = delta(a, b)
                    if d < best:
                        best, choice = d, b
                if choice >= 0:
                    swap(a, choice)
                    changed = True
        if not changed:
            break
    # Improvement: random swaps, kept when they lower the cost.
    for _ in range(effort * n):
        a, b = rng.randrange(n), rng.randrange(n)
        if where[a] != where[b] and delta(a, b) < -1e-9:
            swap(a, b)

