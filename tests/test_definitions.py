"""Positive-exit definitions: boundaries, unknowns and presets."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit import schema
from toolkit.definitions import DEFINITIONS, E2CError, get_definition, positive_exit
from toolkit.errors import SchemaError


def _frame(rows):
    cols = ["exit_date", "exit_reason", "outcome_start", "outcome_end", "follow_up_date"]
    df = pd.DataFrame(rows, columns=cols)
    for c in cols:
        if c != "exit_reason":
            df[c] = pd.to_datetime(df[c])
    df["exit_reason"] = pd.Categorical(df["exit_reason"], categories=schema.EXIT_REASON_CODES)
    return df


EXIT = "2023-01-15"


@pytest.mark.parametrize(
    "reason,start,end,follow,expected",
    [
        ("cdi", "2023-02-01", "2023-04-01", None, False),  # exactly 2 calendar months: not more
        ("cdi", "2023-02-01", "2023-04-02", None, True),  # one day more
        ("cdd", "2023-02-01", "2023-03-15", None, False),  # ended early
        ("cdi", "2023-02-01", None, "2023-04-02", True),  # running, confirmed after 2 months
        ("cdi", "2023-02-01", None, "2023-04-01", None),  # running, confirmed exactly 2 months: unknown
        ("cdi", "2023-02-01", None, "2023-03-01", None),  # running, confirmed too early: unknown
        ("cdi", "2023-02-01", None, None, None),  # running, never confirmed: unknown
        ("formation_qualifiante", None, "2023-09-01", None, None),  # no start date: unknown
        ("formation_prequalifiante", "2023-02-01", "2023-06-01", None, True),  # any training counts
        ("apprentissage", "2023-02-01", "2023-12-01", None, True),
        ("recherche_emploi", "2023-02-01", "2023-12-01", None, False),  # job searching is not a job
        ("service_civique", "2023-02-01", "2023-12-01", None, False),
        ("abandon", None, None, None, False),
        ("inconnu", "2023-02-01", "2023-12-01", None, None),  # unrecognised label: unknown
        ("cdi", "2022-12-31", "2023-02-28", None, False),  # month-end: Dec 31 + 2 months = Feb 28
        ("cdi", "2022-12-31", "2023-03-01", None, True),
    ],
)
def test_project_definition_rules(reason, start, end, follow, expected):
    got = positive_exit(_frame([(EXIT, reason, start, end, follow)]))
    assert (got.iloc[0] is pd.NA) if expected is None else (got.iloc[0] == expected)


def test_not_left_yet_is_unknown():
    got = positive_exit(_frame([(None, "cdi", "2023-02-01", "2023-12-01", None)]))
    assert got.iloc[0] is pd.NA


@pytest.mark.parametrize(
    "name,reason,months_lasted,expected",
    [
        ("reseau_2017", "cdd", 4, False),  # job must last > 6 months
        ("reseau_2017", "cdd", 7, True),
        ("reseau_2017", "contrat_aide", 1, True),  # subsidised contract counts as such
        ("reseau_2017", "formation_prequalifiante", 12, False),
        ("reseau_2017", "service_civique", 12, False),
        ("reseau_2023", "cdd", 3, False),  # CDD of more than 3 months
        ("reseau_2023", "cdd", 4, True),
        ("reseau_2023", "formation_qualifiante", 1, True),
        ("reseau_2023", "formation_prequalifiante", 12, False),
        ("reseau_2023", "contrat_professionnalisation", 1, True),
    ],
)
def test_network_presets(name, reason, months_lasted, expected):
    start = pd.Timestamp("2023-02-01")
    end = start + pd.DateOffset(months=months_lasted)
    got = positive_exit(_frame([(EXIT, reason, start, end, None)]), name)
    assert got.iloc[0] == expected


def test_every_qualifying_code_exists_in_the_schema():
    for d in DEFINITIONS.values():
        assert set(d.qualifying) <= set(schema.EXIT_REASON_CODES), d.name
        assert "recherche_emploi" not in d.qualifying


def test_unknown_definition_is_a_clear_error():
    with pytest.raises(E2CError, match="reseau_2023"):
        get_definition("2019")


def test_vectorised_matches_rowwise_reference():
    """Compare the vectorised flag with a plain Python reading of the rule on random rows."""
    import numpy as np

    rng = np.random.default_rng(1)
    n = 400
    codes = np.array(schema.EXIT_REASON_CODES)
    start = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    length = pd.to_timedelta(rng.integers(0, 150, n), unit="D")
    ended = rng.random(n) < 0.5
    df = _frame(
        [
            (
                EXIT,
                codes[i % len(codes)],
                start[i],
                start[i] + length[i] if ended[i] else None,
                None if ended[i] else start[i] + length[i],
            )
            for i in range(n)
        ]
    )
    got = positive_exit(df)
    d = get_definition()
    for i in range(n):
        reason = df["exit_reason"].iloc[i]
        if reason == "inconnu":
            exp = None
        elif reason not in d.qualifying:
            exp = False
        else:
            limit = start[i] + pd.DateOffset(months=d.qualifying[reason])
            end = start[i] + length[i]
            exp = True if end > limit else (False if ended[i] else None)
        assert (got.iloc[i] is pd.NA) if exp is None else (got.iloc[i] == exp), (i, reason)


# --------------------------------------------------------------------------
# resolve_outcome: the one rule models, comparison and indicators share
# --------------------------------------------------------------------------
def _cleaned(recorded="projet", with_exit_columns=True, column=True):
    """A cleaned-like frame: a 6-month CDD (positive under every preset but 'reseau_2017', which wants
    more than 6 months), and a 'positive_exit' column deliberately set to the opposite, so that the test
    sees whether the column or a recomputation was used."""
    df = _frame([(EXIT, "cdd", "2023-02-01", "2023-08-01", None), (EXIT, "abandon", None, None, None)])
    if column:
        df["positive_exit"] = pd.array([False, True], dtype="boolean")
    if not with_exit_columns:
        df = df[["positive_exit"]] if column else df.iloc[:, :0]
    if recorded is not None:
        df.attrs["definition"] = recorded
    return df


def test_resolve_outcome_uses_the_column_of_the_recorded_definition():
    from toolkit.definitions import resolve_outcome

    y, d = resolve_outcome(_cleaned("reseau_2017"))
    assert d.name == "reseau_2017" and y.tolist() == [False, True]
    y, d = resolve_outcome(_cleaned("reseau_2017"), "reseau_2017")
    assert d.name == "reseau_2017" and y.tolist() == [False, True]
    y, d = resolve_outcome(_cleaned(DEFINITIONS["reseau_2023"]))  # a Definition recorded, not a name
    assert d.name == "reseau_2023" and y.tolist() == [False, True]


def test_resolve_outcome_recomputes_another_definition():
    from toolkit.definitions import resolve_outcome

    y, d = resolve_outcome(_cleaned("projet"), "reseau_2023")
    assert d.name == "reseau_2023" and y.tolist() == [True, False]
    y, d = resolve_outcome(_cleaned("projet", column=False))  # no column: computed under the recorded one
    assert d.name == "projet" and y.tolist() == [True, False]
    y, d = resolve_outcome(_cleaned(None, column=False))  # nothing recorded: the project default
    assert d.name == "projet" and y.tolist() == [True, False]


def test_resolve_outcome_unrecorded_column_is_the_project_default():
    """Nothing recorded: the column is taken as computed under the project default, whether the default is
    asked for implicitly or by name (models did, indicators refused the second without exit columns)."""
    from toolkit.definitions import resolve_outcome

    frame = _cleaned(None, with_exit_columns=False)
    for definition in (None, "projet"):
        y, d = resolve_outcome(frame, definition)
        assert d.name == "projet" and y.tolist() == [False, True]
    with pytest.raises(SchemaError, match="exit_date"):
        resolve_outcome(frame, "reseau_2017")


def test_resolve_outcome_custom_definition_recorded_by_name():
    """A frame cleaned under a custom definition records its name only: without the Definition the
    outcome cannot be labelled (models raised 'unknown definition', indicators silently called it
    'projet'); handing the Definition back uses the column."""
    from dataclasses import replace

    from toolkit.definitions import resolve_outcome

    custom = replace(DEFINITIONS["projet"], name="maison")
    frame = _cleaned("maison")
    with pytest.raises(E2CError, match="maison"):
        resolve_outcome(frame)
    y, d = resolve_outcome(frame, custom)
    assert d is custom and y.tolist() == [False, True]


def test_resolve_outcome_needs_a_frame():
    from toolkit.definitions import resolve_outcome

    with pytest.raises(E2CError, match="DataFrame"):
        resolve_outcome([1, 2], what="positive_exit_rates")
