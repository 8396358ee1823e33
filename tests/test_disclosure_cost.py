"""The cost of hiding a cell: the linked protection hides the cheapest cells, and a cost changes which ones,
never whether the publication is protected.

Every pattern is checked by the independent exact attacker of ``test_disclosure_fast`` (relations found again,
every bound its own SciPy LP).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_disclosure_fast import M, assert_protected, frame_of

from toolkit.disclosure import CellKey, Publication, protect_publication
from toolkit.disclosure.protect import LAST_RESORT, cell_costs
from toolkit.disclosure.relations import find_relations

REGION = "Bretagne"


def sex_by_site():
    """One region: its entries (35), by sex (F 5, M 30) and by site (s1 20, s2 15).

    F is small, so one more cell of entries = F + M must be hidden: M (30, the cheapest in trainees) or the
    total (35), which then takes a site with it (entries = s1 + s2). With F and M hidden, M is at most
    35 - 1: not the 30 + 11 the standard asks, so the total and a site go as well."""
    rows = [{"sex": "F", "site": "s1"}] * 5 + [{"sex": "M", "site": "s1"}] * 15 + [{"sex": "M", "site": "s2"}] * 15
    frame = frame_of(rows)
    pub = Publication()
    total = CellKey.of("entries", region=REGION)
    pub.add_count(total, 35, "page/table/0/total")
    for sex, n in (("F", 5), ("M", 30)):
        pub.add_count(total.refine(sex=sex), n, f"page/sex/{sex}/n")
    for site, n in (("s1", 20), ("s2", 15)):
        pub.add_count(total.refine(site=site), n, f"page/site/{site}/n")
    return pub, frame, total


def test_without_cost_the_cheapest_cell_in_trainees_is_hidden():
    pub, frame, total = sex_by_site()
    result = protect_publication(pub, frame, M)
    assert pub.hidden == {total.refine(sex="F"), total.refine(sex="M"), total, total.refine(site="s2")}
    assert result.primary == {total.refine(sex="F")}
    assert_protected(pub, frame)


@pytest.mark.parametrize("as_array", [False, True])
def test_a_cost_spares_the_cell_it_weighs_and_the_result_is_still_protected(as_array):
    """M made expensive: the total and one site go, and M is published (here one cell fewer is hidden); the
    exact attacker still finds every hidden cell protected."""
    pub, frame, total = sex_by_site()
    cost = {total.refine(sex="M"): LAST_RESORT}
    if as_array:
        keys = find_relations(pub, frame, M).keys
        cost = np.array([cost.get(k, pub.counts[k]) for k in keys], dtype=float)
    protect_publication(pub, frame, M, cost=cost)
    assert total.refine(sex="M") not in pub.hidden
    assert pub.hidden == {total.refine(sex="F"), total, total.refine(site="s2")}
    assert_protected(pub, frame)
    assert_protected(pub, frame, integer=True)  # and against integer programs (milp)


def test_small_counts_are_hidden_and_zeros_published_whatever_their_cost():
    pub, frame, total = sex_by_site()
    pub.add_count(total.refine(sex="X"), 0, "page/sex/X/n")
    cost = {total.refine(sex="F"): 10 * LAST_RESORT, total.refine(sex="X"): 0.0}
    result = protect_publication(pub, frame, M, cost=cost)
    assert total.refine(sex="F") in pub.hidden and total.refine(sex="X") not in pub.hidden
    assert result.primary == {total.refine(sex="F")}
    assert_protected(pub, frame)


def test_one_cell_shared_by_two_small_differences_is_hidden_once():
    """Entries 40, exits 33, known 26: entries - exits = 7 and exits - known = 7 are both small. Hiding exits
    protects both (cell by cell, exits then known would go)."""
    rows = [{}] * 26 + [{"positive_exit": None}] * 7 + [{"exit_date": None, "exit_reason": None}] * 7
    frame = frame_of(rows)
    frame.loc[26:32, "exit_category"] = "unknown"
    frame.loc[33:, "exit_category"] = None
    frame.loc[33:, "positive_exit"] = None
    pub = Publication()
    for population, n in (("entries", 40), ("exits", 33), ("known", 26)):
        pub.add_count(CellKey.of(population, region=REGION), n, f"page/headline/0/{population}")
    protect_publication(pub, frame, M)
    assert pub.hidden == {CellKey.of("exits", region=REGION)}
    assert_protected(pub, frame)


def test_a_cost_must_fit_the_keys():
    keys = [CellKey.of("entries"), CellKey.of("exits")]
    with pytest.raises(ValueError, match="3 entries for 2 keys"):
        cell_costs(keys, np.array([5, 4]), np.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        cell_costs(keys, np.array([5, 4]), {keys[0]: -1.0})
    assert list(cell_costs(keys, np.array([5, 0]), {keys[0]: 2.0})) == [2.0, np.inf]


def test_a_last_resort_the_pattern_no_longer_needs_is_published_again():
    """M (a last resort) hidden on top of a pattern that protects without it is published again; the total
    (a last resort too, but needed: F + M = total with F small) stays hidden; the result is protected."""
    from toolkit.disclosure.audit import PROTECTION_SHARE
    from toolkit.disclosure.protect import _publish_back
    from toolkit.disclosure.relations import apply_hidden

    pub, frame, total = sex_by_site()
    male = total.refine(sex="M")
    cost_of = {male: LAST_RESORT + 30, total: LAST_RESORT + 35}
    protect_publication(pub, frame, M, cost=cost_of)
    assert pub.hidden == {total.refine(sex="F"), total, total.refine(site="s2")}
    pub.hidden.add(male)  # as if an early greedy choice had hidden it
    relations = find_relations(pub, frame, M)
    costs = cell_costs(relations.keys, relations.values, cost_of)
    system = apply_hidden(relations, pub, M)
    _publish_back(relations, pub, system, costs, {total.refine(sex="F")}, {}, M, PROTECTION_SHARE, "highs")
    assert pub.hidden == {total.refine(sex="F"), total, total.refine(site="s2")}
    assert_protected(pub, frame)


def test_cells_the_caller_hid_stay_hidden_whatever_their_cost():
    pub, frame, total = sex_by_site()
    pub.hidden = {total}
    protect_publication(pub, frame, M, cost={total: LAST_RESORT})
    assert total in pub.hidden
    assert_protected(pub, frame)
