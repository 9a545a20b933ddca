"""The grouping algorithm: everyone placed once, nobody alone, reproducible, repeats avoided."""

from __future__ import annotations

import random
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.mixers.grouping import (
    Participant,
    PastMeeting,
    form_groups,
    group_sizes,
    grouping_cost,
)

people_lists = st.lists(
    st.builds(
        Participant,
        id=st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=6),
        department=st.one_of(st.none(), st.sampled_from(["sales", "eng", "hr", "ops"])),
        place=st.one_of(st.none(), st.sampled_from(["tokyo", "osaka"])),
    ),
    max_size=60,
    unique_by=lambda p: p.id,
)


@settings(max_examples=80, deadline=None)
@given(count=st.integers(0, 400), size=st.integers(2, 6))
def test_group_sizes_never_leave_anyone_alone(count, size):
    sizes = group_sizes(count, size)
    assert sum(sizes) == (count if count >= 2 else 0)
    assert all(s >= 2 for s in sizes)
    assert max(sizes, default=0) - min(sizes, default=0) <= 1
    if count >= size * size:
        assert set(sizes) <= {size - 1, size, size + 1}


@pytest.mark.parametrize("size", [1, 7, 0])
def test_group_size_out_of_range_is_refused(size):
    with pytest.raises(ValueError):
        group_sizes(10, size)


@settings(max_examples=60, deadline=None)
@given(people=people_lists, size=st.integers(2, 6), seed=st.integers(0, 10))
def test_everyone_is_placed_exactly_once_and_nobody_alone(people, size, seed):
    groups = form_groups(people, size=size, seed=seed)
    placed = [member for group in groups for member in group]
    if len(people) < 2:
        assert groups == []
        return
    assert sorted(placed) == sorted(p.id for p in people)
    assert all(len(group) >= 2 for group in groups)


@settings(max_examples=30, deadline=None)
@given(people=people_lists, seed=st.integers(0, 1000))
def test_same_seed_same_groups_whatever_the_input_order(people, seed):
    shuffled = list(people)
    random.Random(seed).shuffle(shuffled)
    assert form_groups(people, seed=seed) == form_groups(shuffled, seed=seed)


def test_different_seeds_give_different_groupings():
    people = [Participant(f"p{i}", f"d{i % 5}") for i in range(40)]
    assert len({str(form_groups(people, seed=s)) for s in range(5)}) > 1


def org(count: int, departments: int, seed: int = 3) -> list[Participant]:
    rng = random.Random(seed)
    return [Participant(f"p{i:03d}", f"d{rng.randrange(departments)}") for i in range(count)]


def test_no_repeated_pair_over_many_rounds_while_avoidable():
    people = org(120, 8)
    history: list[tuple[str, str, int]] = []
    seen: set[frozenset[str]] = set()
    for number in range(1, 9):
        past = [PastMeeting(a, b, number - r) for a, b, r in history]
        groups = form_groups(people, size=4, seed=number, history=past)
        for group in groups:
            for a, b in combinations(group, 2):
                assert frozenset((a, b)) not in seen, f"round {number} repeats {a}-{b}"
                seen.add(frozenset((a, b)))
                history.append((a, b, number))


def test_departments_are_spread_across_groups():
    # 5 departments of 8 in groups of 4 (10 groups): no department needs to meet itself.
    people = [Participant(f"{d}{i}", d) for d in "abcde" for i in range(8)]
    groups = form_groups(people, size=4, seed=1)
    dept = {p.id: p.department for p in people}
    same = sum(1 for group in groups for a, b in combinations(group, 2) if dept[a] == dept[b])
    assert same == 0


def test_places_are_kept_together_when_possible():
    people = [Participant(f"t{i}", f"d{i % 4}", "tokyo") for i in range(12)]
    people += [Participant(f"o{i}", f"d{i % 4}", "osaka") for i in range(8)]
    groups = form_groups(people, size=4, seed=2)
    for group in groups:
        assert len({member[0] for member in group}) == 1, group


def test_least_connected_departments_are_brought_together():
    # Four departments; a-b and c-d thank each other a lot, a-c, a-d, b-c, b-d never.
    people = [Participant(f"{d}{i}", d) for d in "abcd" for i in range(6)]
    thanks = {("a", "b"): 500.0, ("c", "d"): 500.0}
    groups = form_groups(people, size=2, seed=4, thanks=thanks)
    connected = sum(1 for a, b in groups if {a[0], b[0]} in ({"a", "b"}, {"c", "d"}))
    assert connected == 0
    assert grouping_cost(groups, people, thanks=thanks) < grouping_cost(
        [[f"a{i}", f"b{i}"] for i in range(6)] + [[f"c{i}", f"d{i}"] for i in range(6)], people, thanks=thanks
    )


def test_search_improves_on_a_random_grouping():
    people = org(200, 10)
    rng = random.Random(9)
    history = []
    for age in range(1, 4):
        ids = [p.id for p in people]
        rng.shuffle(ids)
        history += [PastMeeting(a, b, age) for k in range(0, 200, 4) for a, b in combinations(ids[k : k + 4], 2)]
    thanks = {(f"d{i}", f"d{j}"): float(rng.randrange(50)) for i in range(10) for j in range(i + 1, 10)}
    ours = form_groups(people, size=4, seed=1, history=history, thanks=thanks)
    ids = [p.id for p in people]
    rng.shuffle(ids)
    theirs = [ids[k : k + 4] for k in range(0, 200, 4)]
    assert grouping_cost(ours, people, history=history, thanks=thanks) < grouping_cost(
        theirs, people, history=history, thanks=thanks
    )


def test_a_participant_twice_is_refused():
    with pytest.raises(ValueError):
        form_groups([Participant("a"), Participant("a")])
