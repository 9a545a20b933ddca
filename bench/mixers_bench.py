"""Mixers benchmark: Kizuna's grouping against random grouping (what Donut does), in the same run.

    .venv/bin/python -m bench mixers
Environment: KIZUNA_BENCH_MIXER_PEOPLE (default 1000), KIZUNA_BENCH_MIXER_ROUNDS (26),
KIZUNA_BENCH_MIXER_LARGE (10000), KIZUNA_BENCH_MIXER_SEED (1).

A synthetic organisation: PEOPLE people in 20 departments of uneven sizes (Zipf-like), a thanks
history between departments proportional to their sizes, except four isolated departments that
exchanged almost none. Every round everyone takes part (groups of 4); both methods see the same
people each round and are scored on the same measures:

* repeated pairs: pairs put together again after meeting in an earlier round;
* same-department pairs per group, against the fewest the department sizes force;
* the share of pairs formed in the first three rounds that join one of the least-connected tenth
  of department pairs (by thanks);
* the time to form groups for LARGE participants (with four earlier rounds as history).

Targets: no repeated pair in any round while avoidable, no more same-department pairs than the
bound, and the large grouping under 2 s. Returns 1 when a target is missed.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from itertools import combinations

from core.mixers.grouping import Participant, PastMeeting, form_groups, group_sizes

DEPARTMENTS = 20
ISOLATED = 4
SIZE = 4


def organisation(people: int, rng: random.Random) -> tuple[list[Participant], dict[tuple[str, str], float]]:
    """People in uneven departments, and the thanks between departments lately."""
    weights = [1 / (i + 1) ** 0.8 for i in range(DEPARTMENTS)]
    names = [f"dept{i:02d}" for i in range(DEPARTMENTS)]
    members = rng.choices(names, weights=weights, k=people)
    # Every department has at least two people.
    for i, name in enumerate(names):
        members[2 * i] = members[2 * i + 1] = name
    participants = [Participant(f"p{i:05d}", members[i]) for i in range(people)]
    sizes = {name: members.count(name) for name in names}
    isolated = set(rng.sample(names, ISOLATED))
    thanks: dict[tuple[str, str], float] = {}
    for a, b in combinations(names, 2):
        rate = 0.002 if a in isolated or b in isolated else 0.05
        thanks[a, b] = float(sum(1 for _ in range(int(sizes[a] * sizes[b] * rate * 10)) if rng.random() < 0.1))
    return participants, thanks


def random_groups(people: list[Participant], rng: random.Random) -> list[list[str]]:
    ids = [p.id for p in people]
    rng.shuffle(ids)
    groups, start = [], 0
    for size in group_sizes(len(ids), SIZE):
        groups.append(ids[start : start + size])
        start += size
    return groups


def forced_same_department(people: list[Participant], sizes: list[int]) -> int:
    """The fewest same-department pairs possible: each department spread evenly over the groups."""
    k = len(sizes)
    total = 0
    for dept in {p.department for p in people}:
        count = sum(1 for p in people if p.department == dept)
        q, r = divmod(count, k)
        total += r * (q + 1) * q // 2 + (k - r) * q * (q - 1) // 2
    return total


def pairs(groups: list[list[str]]) -> list[tuple[str, str]]:
    return [(a, b) if a < b else (b, a) for group in groups for a, b in combinations(group, 2)]


def simulate(people: int, rounds: int, seed: int) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    participants, thanks = organisation(people, rng)
    dept = {p.id: p.department for p in participants}
    ranked = sorted(thanks, key=lambda pair: (thanks[pair], pair))
    least = {frozenset(pair) for pair in ranked[: len(ranked) // 10]}
    sizes = group_sizes(len(participants), SIZE)
    bound = forced_same_department(participants, sizes)
    results = {}
    for method in ("kizuna", "random"):
        method_rng = random.Random(seed + 1)
        met: dict[tuple[str, str], int] = {}  # pair → the last round it met in
        repeats = same = 0
        early_least = early_pairs = 0
        seconds = []
        for number in range(1, rounds + 1):
            started = time.perf_counter()
            if method == "kizuna":
                history = [PastMeeting(a, b, number - last) for (a, b), last in met.items()]
                groups = form_groups(participants, size=SIZE, seed=number, history=history, thanks=thanks)
            else:
                groups = random_groups(participants, method_rng)
            seconds.append(time.perf_counter() - started)
            formed = pairs(groups)
            repeats += sum(1 for pair in formed if pair in met)
            same += sum(1 for a, b in formed if dept[a] == dept[b])
            if number <= 3:
                early_pairs += len(formed)
                early_least += sum(1 for a, b in formed if frozenset((dept[a], dept[b])) in least)
            for pair in formed:
                met[pair] = number
        results[method] = {
            "repeated pairs (all rounds)": repeats,
            "same-department pairs per group": same / rounds / len(sizes),
            "least-connected share, rounds 1-3": early_least / early_pairs,
            "seconds per round (median)": statistics.median(seconds),
        }
    results["bound"] = {"same-department pairs per group": bound / len(sizes)}
    return results


def large(people: int, seed: int) -> float:
    """Seconds to form groups for ``people`` participants with four earlier rounds as history."""
    rng = random.Random(seed)
    participants, thanks = organisation(people, rng)
    history = [
        PastMeeting(a, b, age)
        for age in range(1, 5)
        for a, b in pairs(random_groups(participants, rng))
    ]
    timings = []
    for attempt in range(3):
        started = time.perf_counter()
        form_groups(participants, size=SIZE, seed=attempt, history=history, thanks=thanks)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> int:
    people = int(os.environ.get("KIZUNA_BENCH_MIXER_PEOPLE", "1000"))
    rounds = int(os.environ.get("KIZUNA_BENCH_MIXER_ROUNDS", "26"))
    big = int(os.environ.get("KIZUNA_BENCH_MIXER_LARGE", "10000"))
    seed = int(os.environ.get("KIZUNA_BENCH_MIXER_SEED", "1"))
    results = simulate(people, rounds, seed)
    ours, theirs, bound = results["kizuna"], results["random"], results["bound"]
    print(f"{people} people, {DEPARTMENTS} departments ({ISOLATED} isolated), {rounds} rounds, groups of {SIZE}")
    print("| measure | Kizuna | random | bound |")
    print("| --- | ---: | ---: | ---: |")
    for key in ours:
        limit = bound.get(key)
        shown = f"{limit:.3f}" if limit is not None else ""
        fmt = "{:.3f}" if isinstance(ours[key], float) else "{}"
        print(f"| {key} | {fmt.format(ours[key])} | {fmt.format(theirs[key])} | {shown} |")
    ratio = ours["least-connected share, rounds 1-3"] / max(theirs["least-connected share, rounds 1-3"], 1e-9)
    print(f"least-connected department pairs: {ratio:.1f}× random's share in the first three rounds")
    seconds = large(big, seed)
    print(f"forming groups for {big:,} participants: {seconds:.2f} s (median of 3)")
    missed = []
    if ours["repeated pairs (all rounds)"]:
        missed.append("repeated pairs")
    if ours["same-department pairs per group"] > bound["same-department pairs per group"] + 1e-9:
        missed.append("same-department pairs above the bound")
    if seconds >= 2.0:
        missed.append("10,000 participants in under 2 s")
    if missed:
        print("missed:", ", ".join(missed))
    return 1 if missed else 0
