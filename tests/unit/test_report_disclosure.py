"""The disclosure rules on their own: the noise table, primary and secondary suppression, grouping sets."""

from __future__ import annotations

import collections
import random

from services.reports import disclosure
from services.reports.disclosure import Entry, Line
from services.reports.service import grouping_sets

SECRET = b"unit-test-secret"


def test_noise_is_bounded_deterministic_and_follows_the_table():
    rng = random.Random(7)
    draws = collections.Counter()
    for _ in range(20_000):
        key = rng.randrange(disclosure.KEY_MODULUS)
        d = disclosure.noise(SECRET, key, "attended", 12)
        assert d == disclosure.noise(SECRET, key, "attended", 12)
        draws[d] += 1
    assert set(draws) == {-2, -1, 0, 1, 2}
    for value, weight in zip(disclosure.NOISE_VALUES, disclosure.NOISE_WEIGHTS, strict=True):
        assert abs(draws[value] / 20_000 - weight) < 0.02


def test_the_same_cell_with_one_more_record_gets_fresh_noise():
    """Noise depends on the value too: otherwise two cells with the same people and counts n and n+1 would differ
    by exactly 1 and give the extra record away."""
    same = sum(
        disclosure.noise(SECRET, key, "attended", 7) == disclosure.noise(SECRET, key, "attended", 8)
        for key in range(2_000)
    )
    assert same < 2_000 * 0.5


def test_perturb_keeps_zero_and_positive():
    assert disclosure.perturb(SECRET, 123, "attended", 0) == 0
    assert all(disclosure.perturb(SECRET, k, "attended", 1) >= 1 for k in range(500))
    assert disclosure.perturb(SECRET, 123, "attended", 9, spread=0) == 9


def test_a_lone_small_cell_gets_a_complement():
    cells = [Entry(persons=9, order="a"), Entry(persons=3, order="b"), Entry(persons=6, order="c")]
    total = Entry(persons=18)
    disclosure.primary([*cells, total], 5)
    disclosure.secondary([Line(cells, total)], 5)
    assert [c.status for c in cells] == [None, "primary", "secondary"]
    assert total.status is None


def test_two_small_cells_that_together_hold_fewer_than_k_get_a_third():
    cells = [Entry(persons=1, order="a"), Entry(persons=2, order="b"), Entry(persons=7, order="c")]
    total = Entry(persons=10)
    disclosure.primary([*cells, total], 5)
    disclosure.secondary([Line(cells, total)], 5)
    assert [c.status for c in cells] == ["primary", "primary", "secondary"]


def test_when_only_zeros_are_left_the_total_is_hidden():
    cells = [Entry(persons=2, order="a"), Entry(persons=0, order="b")]
    total = Entry(persons=2)
    disclosure.primary([*cells, total], 5)
    disclosure.secondary([Line(cells, total)], 5)
    assert total.status == "primary"
    big_total = Entry(persons=6)
    cells = [Entry(persons=3, order="a"), Entry(persons=0, order="b")]
    disclosure.primary([*cells, big_total], 5)
    disclosure.secondary([Line(cells, big_total)], 5)
    assert big_total.status == "secondary"


def test_grouping_sets():
    assert grouping_sets([]) == [()]
    assert grouping_sets(["month"]) == [("month",), ()]
    assert grouping_sets(["month", "theme"]) == [("month", "theme"), ("month",), ("theme",), ()]
