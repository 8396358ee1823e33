"""Disclosure control: primary, complementary, secondary and rate suppression,
checked by an attacker who knows the margins and solves the linear system."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.disclosure import (
    DisclosureError,
    assert_publishable,
    suppress_counts,
    suppression_marker,
)


def determined_cells(values: np.ndarray, hidden: np.ndarray, rows_additive: bool, cols_additive: bool) -> np.ndarray:
    """Attacker: which hidden cells are fixed by the published cells and the
    known line totals? A hidden cell x_j is determined iff e_j lies in the row
    space of the constraint matrix restricted to the hidden cells."""
    r, c = values.shape
    unknown = np.argwhere(hidden)
    if len(unknown) == 0:
        return np.zeros_like(hidden)
    position = {tuple(rc): i for i, rc in enumerate(unknown)}
    constraints = []
    if rows_additive:
        for j in range(c):
            line = np.zeros(len(unknown))
            for i in range(r):
                if (i, j) in position:
                    line[position[(i, j)]] = 1
            constraints.append(line)
    if cols_additive:
        for i in range(r):
            line = np.zeros(len(unknown))
            for j in range(c):
                if (i, j) in position:
                    line[position[(i, j)]] = 1
            constraints.append(line)
    a = np.array(constraints) if constraints else np.zeros((0, len(unknown)))
    base = np.linalg.matrix_rank(a) if len(a) else 0
    out = np.zeros_like(hidden)
    for k, (i, j) in enumerate(unknown):
        e = np.zeros(len(unknown))
        e[k] = 1
        out[i, j] = np.linalg.matrix_rank(np.vstack([a, e])) == base
    return out


def test_primary_suppression_marks_every_small_count():
    table = pd.DataFrame({"n": [120, 4, 0, 10, 11]}, index=["a", "b", "c", "d", "e"])
    result = suppress_counts(table, ["n"], min_cell=11, rows_additive=False)
    # A zero singles nobody out: published unless asked otherwise.
    assert result.suppressed["n"].tolist() == [False, True, False, True, False]
    assert result.table["n"].isna().tolist() == [False, True, False, True, False]
    strict = suppress_counts(table, ["n"], min_cell=11, rows_additive=False, suppress_zeros=True)
    assert strict.suppressed["n"].tolist() == [False, True, True, True, False]
    assert suppression_marker(11) == "< 11"


def test_one_small_cell_in_a_column_forces_a_second_one():
    # Total trainees is published in the headline, so "b" = total - a - c - d.
    table = pd.DataFrame({"n": [120, 4, 30, 57]}, index=["a", "b", "c", "d"])
    result = suppress_counts(table, ["n"], min_cell=11)
    # The smallest other cell (30) goes too.
    assert result.suppressed["n"].tolist() == [False, True, True, False]
    assert result.primary["n"].tolist() == [False, True, False, False]
    # Recovery attempt: total minus the published cells leaves 4 + 30 = 34, not 4.
    published_sum = table["n"][~result.suppressed["n"]].sum()
    assert table["n"].sum() - published_sum == 34


def test_total_row_inside_the_table_takes_part():
    table = pd.DataFrame({"n": [50, 5, 55]}, index=["a", "b", "Total"])
    result = suppress_counts(table, ["n"], min_cell=11, total_row="Total")
    # b is small; of a and the total, a (50) is the smaller visible cell.
    assert result.suppressed["n"].tolist() == [True, True, False]
    assert not determined_cells(
        table[["n"]].to_numpy(float)[:2], result.suppressed[["n"]].to_numpy()[:2], True, False
    ).any()


def test_two_way_table_with_both_margins():
    # Exit mix by site: columns partition each row, rows partition each column.
    table = pd.DataFrame(
        {"job": [40, 25, 3], "training": [30, 12, 20], "other": [22, 18, 15]},
        index=["s1", "s2", "s3"],
    )
    cols = ["job", "training", "other"]
    result = suppress_counts(table, cols, min_cell=11, rows_additive=True, cols_additive=True)
    hidden = result.suppressed[cols].to_numpy()
    assert hidden[2, 0]  # the 3
    # Every line that holds a hidden cell holds at least two.
    assert set(hidden.sum(axis=0)) <= {0, 2, 3} and set(hidden.sum(axis=1)) <= {0, 2, 3}
    assert not determined_cells(table.to_numpy(float), hidden, True, True).any()
    # Published form passes the checker; the unprotected form does not.
    published = result.published(table.astype("object"))
    assert_publishable(published, cols, 11, rows_additive=True, cols_additive=True)
    naive = table.astype("object").copy()
    naive.loc["s3", "job"] = "< 11"
    with pytest.raises(DisclosureError, match="par différence"):
        assert_publishable(naive, cols, 11, rows_additive=True, cols_additive=True)


def test_rates_follow_their_numerator_and_denominator():
    table = pd.DataFrame(
        {
            "n_known": [200, 8, 40, 25],
            "n_positive": [120, 5, 12, 20],
            "rate": [0.6, 5 / 8, 0.3, 0.8],
            "ci_low": [0.53, 0.3, 0.18, 0.6],
        },
        index=["a", "b", "c", "d"],
    )
    result = suppress_counts(
        table,
        ["n_known", "n_positive"],
        min_cell=11,
        rates={"rate": ("n_positive", "n_known")},
        derived={"ci_low": "rate"},
    )
    s = result.suppressed
    # b: denominator 8 < 11; d: complement 25 - 20 = 5 < 11 reveals the 5 failures.
    assert s.loc["b", "rate"] and s.loc["b", "ci_low"]
    assert result.primary.loc["d", "n_positive"] and s.loc["d", "rate"]
    # c is published: 12 positive out of 40, complement 28.
    assert not s.loc["c", "rate"] and not s.loc["c", "n_positive"]
    # Rate never published where its numerator is hidden (k = rate x n).
    assert not (~s["rate"] & s["n_positive"]).any()


def test_complement_rule_can_be_switched_off():
    table = pd.DataFrame({"n_known": [25, 300], "n_positive": [20, 100], "rate": [0.8, 1 / 3]})
    kept = suppress_counts(
        table,
        ["n_known", "n_positive"],
        rates={"rate": ("n_positive", "n_known")},
        complement=False,
        rows_additive=False,
    )
    assert not kept.suppressed["n_positive"].any()


def test_assert_publishable_rejects_small_counts_and_accepts_french_text():
    ok = pd.DataFrame({"n": ["1\u00a0234", "< 11", "< 11", "57", "0"]})
    assert_publishable(ok, ["n"], 11)
    with pytest.raises(DisclosureError, match="valeur '7'"):
        assert_publishable(pd.DataFrame({"n": ["1\u00a0234", "7", "57"]}), ["n"], 11, rows_additive=False)


def test_missing_columns_are_reported():
    with pytest.raises(DisclosureError, match="absentes"):
        suppress_counts(pd.DataFrame({"n": [1]}), ["m"])


def test_a_hidden_bridge_between_two_blocks_gets_a_partner():
    # Every line holds two hidden cells or none after the one-hidden-cell rule, yet
    # (row 3, column 0) links two independent blocks and is fixed by the totals.
    values = np.array([[0, 0, 0, 0], [0, 0, 0, 1], [0, 1, 1, 0], [1, 1, 1, 0]], dtype=float)
    table = pd.DataFrame(values, columns=list("abcd"))
    result = suppress_counts(table, list("abcd"), 11, rows_additive=True, cols_additive=True)
    hidden = result.suppressed.to_numpy()
    assert hidden[values > 0].all()
    assert not determined_cells(values, hidden, True, True).any()
    # The checker catches the bridge when a table is published without the extra cell.
    naive = table.astype("object").mask(values > 0, "< 11")
    naive.iloc[0, 0] = naive.iloc[0, 3] = naive.iloc[1, 0] = "< 11"
    with pytest.raises(DisclosureError, match="combinant"):
        assert_publishable(naive, list("abcd"), 11, rows_additive=True, cols_additive=True)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(2, 5).flatmap(
        lambda r: st.integers(2, 4).flatmap(
            lambda c: st.lists(st.lists(st.integers(0, 60), min_size=c, max_size=c), min_size=r, max_size=r)
        )
    ),
    st.booleans(),
)
def test_no_hidden_cell_is_recoverable_from_the_margins(cells, both_margins):
    values = np.array(cells, dtype=float)
    table = pd.DataFrame(values, columns=[f"c{j}" for j in range(values.shape[1])])
    result = suppress_counts(table, list(table.columns), min_cell=11, rows_additive=True, cols_additive=both_margins)
    hidden = result.suppressed.to_numpy()
    assert hidden[(values > 0) & (values < 11)].all()
    assert not determined_cells(values, hidden, True, both_margins).any()
