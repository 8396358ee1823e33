"""Disclosure control played by the attacker: the issue's leaks are caught, protection leaves none.

Every test builds a trainee-level canonical frame whose true counts are known, a
publication of counts and ratios over it, and asks the attacker's LP what it can
learn about the hidden cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.disclosure import (
    MISSING,
    CellKey,
    DisclosureError,
    Publication,
    audit_publication,
    protect_publication,
    required_interval,
)
from toolkit.disclosure.audit import audit_system
from toolkit.disclosure.example import example_publication
from toolkit.disclosure.relations import apply_hidden, find_relations

M = 11


DEFAULTS = {
    "region": "Bretagne",
    "site": "s1",
    "sex": "F",
    "age_at_entry": 20,
    "disability": False,
    "exit_date": pd.Timestamp("2023-06-01"),
    "exit_reason": "emploi_cdi",
    "exit_category": "job",
    "positive_exit": True,
}


def frame_of(rows: list[dict]) -> pd.DataFrame:
    """A canonical-like frame: one row per trainee, the defaults where a row says nothing."""
    data = pd.DataFrame([{**DEFAULTS, **row} for row in rows])
    data["exit_date"] = pd.to_datetime(data["exit_date"])
    data["positive_exit"] = data["positive_exit"].astype("boolean")
    data["disability"] = data["disability"].astype("boolean")
    data["age_at_entry"] = data["age_at_entry"].astype("Int64")
    return data


def repeat(n: int, **values) -> list[dict]:
    return [dict(values) for _ in range(n)]


def random_frame(n: int, seed: int, regions=("Bretagne", "Normandie", "Corse")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    exited = rng.random(n) < 0.85
    known = exited & (rng.random(n) < 0.9)
    return frame_of(
        [
            {
                "region": regions[rng.integers(len(regions))],
                "site": f"s{rng.integers(4)}",
                "sex": rng.choice(["F", "M"]),
                "age_at_entry": int(rng.integers(16, 30)),
                "disability": [True, False, None][rng.choice(3, p=[0.06, 0.88, 0.06])],
                "exit_date": pd.Timestamp("2023-06-01") if exited[i] else pd.NaT,
                "exit_reason": "emploi_cdi" if exited[i] else None,
                "exit_category": rng.choice(["job", "training", "other"]) if exited[i] else None,
                "positive_exit": bool(rng.random() < 0.6) if known[i] else None,
            }
            for i in range(n)
        ]
    )


def interval_of(result, publication, key):
    system = result.system
    i = system.keys.index(key)
    return next(t for t in result.intervals if t.name == ("cell", i))


# -- the standard ------------------------------------------------------------------


def test_required_interval_small_cells_reach_the_threshold():
    assert required_interval(3, M) == (3, 11)  # "it is small" is not revealed
    assert required_interval(10, M) == (10, 15)
    assert required_interval(11, M) == (6, 16)
    assert required_interval(300, M) == (295, 305)  # at least min_cell values around it
    assert required_interval(12, M, lower=10) == (10, 20)


# -- the examples ----------------------------------------------------------


def rqth_publication():
    """134 trainees: RQTH 'Non' 124, 'Oui' 6, not recorded 4; 'Non' shown with its share of the known."""
    frame = frame_of(repeat(124, disability=False) + repeat(6, disability=True) + repeat(4, disability=None))
    pub = Publication()
    total = pub.add_count(CellKey.of("entries", region="Bretagne"), 134, "Bretagne › profil › total")
    known = pub.add_count(CellKey.of("entries", region="Bretagne", disability=(True, False)), 130, "(dénominateur)")
    no = pub.add_count(CellKey.of("entries", region="Bretagne", disability=False), 124, "Bretagne › profil › Non")
    pub.add_count(CellKey.of("entries", region="Bretagne", disability=True), 6, "Bretagne › profil › Oui")
    pub.add_count(CellKey.of("entries", region="Bretagne", disability=MISSING), 4, "Bretagne › profil › NR")
    pub.add_ratio(no, known, decimals=1, location="Bretagne › profil › Non %")
    pub.hidden = {k for k, v in pub.counts.items() if 1 <= v < M}
    return frame, pub, total, known


def test_share_reveals_its_denominator_and_the_hidden_cells():
    frame, pub, _, _ = rqth_publication()
    result = audit_publication(pub, frame, M, raise_on_failure=False, exact=True)
    na = interval_of(result, pub, CellKey.of("entries", region="Bretagne", disability=MISSING))
    assert (na.low, na.high) == (4, 4) and not na.ok
    with pytest.raises(DisclosureError, match="Bretagne"):
        audit_publication(pub, frame, M)


def test_share_on_a_hidden_denominator_is_caught_through_its_rounding():
    frame, pub, _, known = rqth_publication()
    pub.hidden.add(known)  # the denominator is hidden, but a doctored page still shows 95,4 %
    result = audit_publication(pub, frame, M, ratios="all", raise_on_failure=False, exact=True)
    d = interval_of(result, pub, known)
    assert d.low == d.high == 130
    assert not audit_publication(pub, frame, M, raise_on_failure=False).failures == []


def test_bounds_of_the_old_markers_pin_cells_and_the_neutral_marker_does_not():
    frame = frame_of(repeat(9, sex="F") + repeat(10, sex="M"))
    pub = Publication()
    pub.add_count(CellKey.of("entries", region="Bretagne"), 19, "total")
    women = pub.add_count(CellKey.of("entries", region="Bretagne", sex="F"), 9, "femmes")
    pub.add_count(CellKey.of("entries", region="Bretagne", sex="M"), 10, "hommes")
    pub.hidden = {women, CellKey.of("entries", region="Bretagne", sex="M")}
    legacy = audit_publication(pub, frame, M, markers="legacy", raise_on_failure=False, exact=True)
    w = interval_of(legacy, pub, women)
    assert (w.low, w.high) == (9, 10) and not w.ok
    neutral = audit_publication(pub, frame, M, raise_on_failure=False, exact=True)
    w = interval_of(neutral, pub, women)
    assert (w.low, w.high) == (1, 18) and w.ok


def test_four_small_cells_adding_to_36_are_narrowed_by_the_old_marker():
    frame = frame_of([{"site": f"s{i}"} for i in range(4) for _ in range(9)])
    pub = Publication()
    pub.add_count(CellKey.of("exits", region="Bretagne"), 36, "total")
    for i in range(4):
        pub.add_count(CellKey.of("exits", region="Bretagne", site=f"s{i}"), 9, f"site {i}")
    pub.hidden = {k for k, v in pub.counts.items() if v == 9}
    legacy = audit_publication(pub, frame, M, markers="legacy", raise_on_failure=False, exact=True)
    assert all((t.low, t.high) == (6, 10) for t in legacy.intervals if t.name[0] == "cell")
    assert legacy.failures


def test_a_published_zero_pins_the_other_part():
    frame = frame_of(repeat(30, positive_exit=True, sex="F") + repeat(5, positive_exit=False, sex="M"))
    pub = Publication()
    pub.add_count(CellKey.of("non_positive", region="Bretagne"), 5, "non positives")
    pub.add_count(CellKey.of("non_positive", region="Bretagne", sex="F"), 0, "F non positives")
    men = pub.add_count(CellKey.of("non_positive", region="Bretagne", sex="M"), 5, "M non positives")
    pub.hidden = {men, CellKey.of("non_positive", region="Bretagne")}
    result = audit_publication(pub, frame, M, raise_on_failure=False, exact=True)
    assert (interval_of(result, pub, men).low, interval_of(result, pub, men).high) == (1, np.inf)
    pub.hidden = {men}
    result = audit_publication(pub, frame, M, raise_on_failure=False, exact=True)
    assert (interval_of(result, pub, men).low, interval_of(result, pub, men).high) == (5, 5)


def test_still_in_the_programme_is_entries_minus_exits():
    frame = frame_of(
        repeat(126) + repeat(8, exit_date=pd.NaT, exit_reason=None, exit_category=None, positive_exit=None)
    )
    pub = Publication()
    pub.add_count(CellKey.of("entries", region="Bretagne"), 134, "entrées")
    pub.add_count(CellKey.of("exits", region="Bretagne"), 126, "sorties")
    pub.add_count(CellKey.of("still_in", region="Bretagne"), 8, "encore en parcours")
    pub.hidden = {CellKey.of("still_in", region="Bretagne")}
    result = audit_publication(pub, frame, M, raise_on_failure=False, exact=True)
    still = interval_of(result, pub, CellKey.of("still_in", region="Bretagne"))
    assert (still.low, still.high) == (8, 8) and not still.ok
    protected = protect_publication(pub, frame, M)
    assert not protected.audit.failures
    assert (
        CellKey.of("exits", region="Bretagne") in pub.hidden or CellKey.of("entries", region="Bretagne") in pub.hidden
    )


def test_the_same_trainees_in_two_tables_esf_under_18_and_the_age_band():
    rows = repeat(5, age_at_entry=16) + repeat(100, age_at_entry=20) + repeat(20, age_at_entry=27)
    frame = frame_of(rows)
    pub = Publication()
    pub.add_count(CellKey.of("entries", region="Bretagne"), 125, "total")
    young = pub.add_count(CellKey.of("entries", region="Bretagne", age_band="16-17"), 5, "âge › 16-17")
    pub.add_count(CellKey.of("entries", region="Bretagne", age_band=("18-21",)), 100, "âge › 18-21")
    pub.add_count(CellKey.of("entries", region="Bretagne", age_band=("22-25", "26+")), 20, "âge › 22+")
    esf = pub.add_count(CellKey.of("flag:minor", region="Bretagne"), 5, "FSE+ › EECO06")
    pub.hidden = {young}  # hidden in the age table...
    minor = {"flag:minor": (frame["age_at_entry"] < 18).to_numpy()}
    result = audit_publication(pub, frame, M, raise_on_failure=False, exact=True, populations=minor)
    assert not interval_of(result, pub, young).ok  # ... but shown as the ESF+ count: same trainees
    protected = protect_publication(pub, frame, M, populations=minor)
    assert esf in pub.hidden and not protected.audit.failures


def two_regions():
    """Two regions with a hidden cell each, and a national total that links them."""
    rows = repeat(40, region="Bretagne", sex="F") + repeat(4, region="Bretagne", sex="M")
    rows += repeat(50, region="Normandie", sex="F") + repeat(30, region="Normandie", sex="M")
    frame = frame_of(rows)
    pub = Publication()
    for region, f, m in (("Bretagne", 40, 4), ("Normandie", 50, 30)):
        pub.add_count(CellKey.of("entries", region=region, sex="F"), f, f"{region} › sexe › F")
        pub.add_count(CellKey.of("entries", region=region, sex="M"), m, f"{region} › sexe › M")
    pub.add_count(CellKey.of("entries", sex="M"), 34, "index › sexe › M")
    return frame, pub


def test_across_pages_national_total_minus_the_other_regions():
    frame, pub = two_regions()
    pub.hidden = {CellKey.of("entries", region="Bretagne", sex="M")}
    result = audit_publication(pub, frame, M, raise_on_failure=False, exact=True)
    cell = interval_of(result, pub, CellKey.of("entries", region="Bretagne", sex="M"))
    assert (cell.low, cell.high) == (4, 4)
    protected = protect_publication(pub, frame, M)
    assert not protected.audit.failures
    assert {CellKey.of("entries", sex="M"), CellKey.of("entries", region="Normandie", sex="M")} & pub.hidden


def test_a_figure_point_gives_positives_back_through_oe_times_expected():
    frame = frame_of(repeat(9, positive_exit=True) + repeat(30, positive_exit=False))
    pub = Publication()
    positives = pub.add_count(CellKey.of("positive", region="Bretagne", site="s1"), 9, "sites › s1 › positives")
    pub.add_count(CellKey.of("known", region="Bretagne", site="s1"), 39, "sites › s1 › connues")
    oe = pub.add_ratio(positives, 6.47, decimals=3, scale=1.0, location="figure › s1 › O/E")
    pub.hidden = {positives}
    assert pub.ratio_hidden(oe)  # the renderer leaves the point out
    drawn = audit_publication(pub, frame, M, ratios="all", raise_on_failure=False, exact=True)
    cell = interval_of(drawn, pub, positives)
    assert (cell.low, cell.high) == (9, 9) and not cell.ok


# -- protection, then the attacker ----------------------------------------------------


def audit_exact(pub, frame):
    system = apply_hidden(find_relations(pub, frame, M), pub, M)
    return system, audit_system(system, M, exact=True)


@pytest.mark.parametrize("n,seed", [(120, 0), (250, 1)])
def test_protected_example_publication_passes_the_exact_audit(n, seed):
    frame = random_frame(n, seed)
    pub = example_publication(frame, breakdowns=("sex", "age_band", "disability"), esf=False)
    result = protect_publication(pub, frame, M)
    assert not result.audit.failures
    assert all(1 <= v < M for k, v in pub.counts.items() if k in result.primary)
    assert {k for k, v in pub.counts.items() if 1 <= v < M} <= pub.hidden
    system, audit = audit_exact(pub, frame)
    assert not audit.failures
    for t in audit.intervals:  # the truth is always inside what the attacker deduces
        assert t.low - 1e-6 <= t.value <= t.high + 1e-6


def test_a_hidden_value_written_back_is_caught():
    frame = random_frame(300, 3)
    pub = example_publication(frame, breakdowns=("sex", "disability"), esf=False, sites=False)
    result = protect_publication(pub, frame, M)
    secondary = sorted(result.secondary, key=str)
    assert secondary, "a small export needs secondary cells"
    pub.hidden.discard(secondary[0])  # a doctored page shows one secondary cell again
    with pytest.raises(DisclosureError):
        audit_publication(pub, frame, M)


def test_a_cell_repeated_in_two_tables_is_one_cell():
    frame = random_frame(120, 4)
    pub = example_publication(frame, breakdowns=("sex",), esf=False, sites=False, national=False)
    key = next(k for k, v in pub.counts.items() if v >= M)
    pub.add_count(key, pub.counts[key], "second table")
    assert pub.appearances[key][-1] == "second table"
    with pytest.raises(ValueError):
        pub.add_count(key, pub.counts[key] + 1, "third table")


# -- property-based: random tables and linked tables ----------------------------------------


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(0, 25), min_size=2, max_size=5),
    women=st.lists(st.integers(0, 15), min_size=2, max_size=5),
)
def test_random_linked_tables_are_protected(sizes, women):
    """Sites x sex: a two-way table, its margins and a national total; after protection nothing leaks."""
    rows = []
    for i, (n, w) in enumerate(zip(sizes, women)):
        rows += repeat(min(w, n), site=f"s{i}", sex="F") + repeat(n - min(w, n), site=f"s{i}", sex="M")
    if sum(sizes) < M:
        return
    frame = frame_of(rows)
    pub = Publication()
    pub.add_count(CellKey.of("exits", region="Bretagne"), len(frame), "total")
    for sex in ("F", "M"):
        pub.add_count(CellKey.of("exits", region="Bretagne", sex=sex), int((frame["sex"] == sex).sum()), sex)
    for site, part in frame.groupby("site"):
        pub.add_count(CellKey.of("exits", region="Bretagne", site=site), len(part), site)
        for sex in ("F", "M"):
            value = int((part["sex"] == sex).sum())
            pub.add_count(CellKey.of("exits", region="Bretagne", site=site, sex=sex), value, f"{site} {sex}")
    protect_publication(pub, frame, M)
    _, audit = audit_exact(pub, frame)
    assert not audit.failures
    for t in audit.intervals:
        assert t.low - 1e-6 <= t.value <= t.high + 1e-6
