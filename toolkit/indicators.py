"""Descriptive indicators of the canonical frame: positive-exit rates with
Wilson intervals, flow counts, the exit mix, trends, and the published
national benchmarks to set beside them.

Every function takes the canonical frame (``CleanResult.data``, see
:mod:`toolkit.schema`) and returns a tidy DataFrame: one row per group, the
grouping columns first, counts as integers and rates as proportions (0–1).
Formatting for people happens later (:mod:`toolkit.formatting`).

Groupings (``by``)
------------------
A column name or a list of them: any canonical column (``region``,
``school``, ``site``, ``sex``, ``cohort_year``, ``education_level``, ``qpv``,
``disability``, ``nationality``, ``referrer`` ...) or a derived grouping:

* ``age_band``: ``schema.age_band(age_at_entry)`` (16-17, 18-21, 22-25, 26+);
* ``isced``: ISCED 2011 group of ``education_level`` (``schema.EDUCATION_ISCED``);
* ``exit_year``: calendar year of ``exit_date``.

Missing group values are kept as their own group (the grouping column holds
NA, shown as "Non renseigné" by ``schema.label`` and
``formatting.format_table``); no row is dropped.

Honesty rules built in
----------------------
* The denominator of a rate is **exits with a known outcome**. Exits whose
  outcome cannot be determined (unknown exit reason, or a situation whose
  duration cannot be checked) are counted in ``n_unknown`` and never folded
  into the denominator or the numerator.
* Every rate carries its Wilson 95 % interval.
* These are descriptive figures: differences between groups reflect who the
  schools take in as much as what they do (see :mod:`toolkit.compare` for
  intake-adjusted comparisons).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from . import schema
from .benchmarks import NATIONAL_BENCHMARKS, national_rate, with_national
from .definitions import Definition, resolve_outcome
from .errors import E2CError, SchemaError
from .i18n import _

__all__ = [
    "DERIVED_GROUPINGS",
    "wilson_interval",
    "positive_exit_rates",
    "flow_counts",
    "exit_mix",
    "trend",
    "PROFILE_COLUMNS",
    "profile",
    "NATIONAL_BENCHMARKS",
    "national_rate",
    "with_national",
]

DERIVED_GROUPINGS: tuple[str, ...] = ("age_band", "isced", "exit_year")
_MIX_CATEGORIES: tuple[str, ...] = ("job", "work_study", "training", "other")


def _to_float(values) -> np.ndarray:
    """Float array from scalars, lists, arrays or (nullable) Series; NA becomes NaN."""
    if isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        return pd.Series(values).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(values, dtype=float)


# --------------------------------------------------------------------------
# Wilson interval
# --------------------------------------------------------------------------
def wilson_interval(k, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion, vectorised.

    Parameters
    ----------
    k, n : array-like of int
        Successes and trials (broadcast together).
    level : float
        Confidence level (0.95 by default).

    Returns
    -------
    (low, high) : tuple of float ndarrays
        The bounds, in [0, 1]; NaN where ``n == 0`` (no information) or
        where ``k`` or ``n`` is missing.

    Notes
    -----
    Computed by ``statsmodels.stats.proportion.proportion_confint(method="wilson")``
    on the cells with ``n > 0``. Wilson keeps good coverage for small ``n``
    and rates near 0 or 1, unlike the normal (Wald) interval.
    """
    if not 0 < level < 1:
        raise E2CError(_("Niveau de confiance invalide : {level!r} (attendu entre 0 et 1).", level=level))
    k_arr, n_arr = np.broadcast_arrays(_to_float(k), _to_float(n))
    if np.any((k_arr < 0) | (k_arr > n_arr)):
        raise E2CError(_("wilson_interval : chaque effectif k doit être compris entre 0 et n."))
    low = np.full(k_arr.shape, np.nan)
    high = np.full(k_arr.shape, np.nan)
    ok = np.isfinite(k_arr) & np.isfinite(n_arr) & (n_arr > 0)
    if ok.any():
        lo, hi = proportion_confint(k_arr[ok], n_arr[ok], alpha=1 - level, method="wilson")
        low[ok] = np.clip(lo, 0.0, 1.0)
        high[ok] = np.clip(hi, 0.0, 1.0)
        # The exact bounds at k = 0 and k = n, without floating-point dust.
        low[ok & (k_arr == 0)] = 0.0
        high[ok & (k_arr == n_arr)] = 1.0
    return low, high


def _is_in(series: pd.Series, values) -> np.ndarray:
    """Boolean array: the value is one of ``values`` (NA is never in). Fast on categoricals."""
    values = list(values)
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = series.cat.categories
        wanted = [categories.get_loc(v) for v in values if v in categories]
        return np.isin(series.cat.codes.to_numpy(), wanted)
    return series.isin(values).to_numpy(dtype=bool)


# --------------------------------------------------------------------------
# Input checks and groupings
# --------------------------------------------------------------------------
def _as_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def _require(data: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise E2CError(
            _(
                "{what} : attendu un DataFrame canonique (CleanResult.data), reçu {kind}.",
                what=what,
                kind=type(data).__name__,
            )
        )
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise SchemaError(
            _(
                "{what} : colonnes canoniques absentes : {v1}. Passez le tableau nettoyé par "
                "toolkit.clean_export (CleanResult.data).",
                what=what,
                v1=", ".join(missing),
            )
        )


def _group_frame(data: pd.DataFrame, by: list[str], what: str) -> pd.DataFrame:
    """The grouping columns, derived ones computed, aligned on ``data``'s index."""
    out: dict[str, pd.Series] = {}
    for name in by:
        if name == "age_band":
            _require(data, ["age_at_entry"], what)
            out[name] = schema.age_band(data["age_at_entry"])
        elif name == "isced":
            _require(data, ["education_level"], what)
            codes = ["isced_0_2", "isced_3_4", "isced_5_8"]
            mapped = data["education_level"].astype("object").map(schema.EDUCATION_ISCED)
            out[name] = pd.Categorical(mapped, categories=codes)
        elif name == "exit_year":
            _require(data, ["exit_date"], what)
            out[name] = pd.to_datetime(data["exit_date"]).dt.year.astype("Int64")
        elif name in data.columns:
            out[name] = data[name]
        else:
            known = ", ".join([*(c for c in schema.CANONICAL_DTYPES if c in data.columns), *DERIVED_GROUPINGS])
            raise E2CError(
                _(
                    "{what} : regroupement inconnu {name!r}. Regroupements possibles : {known}.",
                    what=what,
                    name=name,
                    known=known,
                )
            )
    return pd.DataFrame(out, index=data.index)


def _grouped_sums(groups: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """Sum integer count columns by group, keeping NA groups and only observed ones."""
    if groups.shape[1] == 0:
        return pd.DataFrame([counts.sum().astype("int64")]).reset_index(drop=True)
    frame = pd.concat([groups, counts], axis=1)
    summed = frame.groupby(list(groups.columns), dropna=False, observed=True, sort=True).sum()
    summed = summed.reset_index()
    for column in counts.columns:
        summed[column] = summed[column].astype("int64")
    return summed


def _outcome_flags(data: pd.DataFrame, positive: pd.Series, exclude_interruptions: bool) -> pd.DataFrame:
    """Integer flags per trainee: exit, known outcome, unknown outcome, positive, interruption."""
    exited = data["exit_date"].notna().to_numpy()
    interruption = _is_in(data["exit_reason"], schema.INTERRUPTION_CODES) & exited
    in_base = exited & ~interruption if exclude_interruptions else exited
    known = positive.notna().to_numpy() & in_base
    return pd.DataFrame(
        {
            "n_exits": in_base.astype("int64"),
            "n_known": known.astype("int64"),
            "n_unknown": (in_base & ~known).astype("int64"),
            "n_positive": (known & positive.fillna(False).to_numpy(dtype=bool)).astype("int64"),
            "n_interruptions": interruption.astype("int64"),
        },
        index=data.index,
    )


# --------------------------------------------------------------------------
# Positive-exit rates
# --------------------------------------------------------------------------
def positive_exit_rates(
    data: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    definition: str | Definition | None = None,
    level: float = 0.95,
    *,
    exclude_interruptions: bool = False,
    national: bool = False,
) -> pd.DataFrame:
    """Positive-exit rates with Wilson intervals, for any grouping.

    Parameters
    ----------
    data : DataFrame
        Canonical frame.
    by : str or list of str, optional
        Grouping column(s) (see the module docstring); None gives one row.
    definition : str or Definition, optional
        Positive-exit definition (``"projet"``, ``"reseau_2017"``,
        ``"reseau_2023"``). None uses the frame's ``positive_exit`` column,
        computed at cleaning under ``data.attrs["definition"]`` (the project
        definition when not recorded). Any other definition is recomputed
        from the exit reason and dates with
        :func:`toolkit.definitions.positive_exit`, so the figure always
        matches the definition named in the table.
    level : float
        Confidence level of the interval.
    exclude_interruptions : bool
        False (default, the project's rule): interruptions (drop-out,
        exclusion, moving, illness, maternity) are exits like any other and
        count as non-positive. True: they are left out of ``n_exits`` and of
        the denominator, closer to the network's practice of counting them
        apart (an unconfirmed rule); ``n_interruptions`` always shows them.
    national : bool
        Add the published national rate beside each row (:func:`with_national`:
        the rate of the row's year when ``cohort_year``/``exit_year`` is a
        grouping, else the latest published year).

    Returns
    -------
    DataFrame
        One row per group, sorted by group:

        * the grouping column(s), NA for trainees with no value;
        * ``n_exits``: exits (trainees with an exit date), interruptions
          excluded when ``exclude_interruptions``;
        * ``n_known``: exits with a known outcome (the denominator);
        * ``n_unknown``: exits whose outcome is unknown (``n_exits - n_known``);
        * ``n_positive``: positive exits;
        * ``n_interruptions``: exits by interruption (in ``n_exits`` unless
          ``exclude_interruptions``);
        * ``rate``: ``n_positive / n_known`` (NaN when ``n_known == 0``);
        * ``ci_low``, ``ci_high``: Wilson interval at ``level``;
        * ``definition``: the definition's name;
        * with ``national``: ``national``, ``national_year``,
          ``national_timing``, ``national_source``.

    Notes
    -----
    Published national rates (:data:`NATIONAL_BENCHMARKS`) use the network's
    own definitions and denominators, which differ from the project's: set
    them beside local figures as context, not as a strict comparison.
    """
    what = "positive_exit_rates"
    _require(data, ["exit_date", "exit_reason"], what)
    positive, d = resolve_outcome(data, definition, what=what)
    keys = _as_list(by)
    groups = _group_frame(data, keys, what)
    table = _grouped_sums(groups, _outcome_flags(data, positive, exclude_interruptions))
    table = _add_rate(table, "n_positive", "n_known", level).assign(definition=d.name)
    return with_national(table) if national else table


def _add_rate(table: pd.DataFrame, k: str, n: str, level: float, name: str = "rate") -> pd.DataFrame:
    table = table.copy()
    num = table[k].to_numpy(dtype=float)
    den = table[n].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        table[name] = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    table["ci_low"], table["ci_high"] = wilson_interval(table[k], table[n], level)
    return table


# --------------------------------------------------------------------------
# Flows
# --------------------------------------------------------------------------
def flow_counts(
    data: pd.DataFrame, by: str | Sequence[str] | None = None, definition: str | Definition | None = None
) -> pd.DataFrame:
    """Entries, exits, interruptions, trainees still in the programme and
    exits with an unknown outcome, by group.

    Returns
    -------
    DataFrame
        The grouping column(s), then:

        * ``n_entries``: trainees who entered (every row of the frame);
        * ``n_exits``: trainees with an exit date;
        * ``n_interruptions``: exits whose reason is an interruption
          (``schema.INTERRUPTION_CODES``: drop-out, exclusion, moving,
          illness, maternity);
        * ``n_completed``: exits that are not interruptions;
        * ``n_still_in``: trainees with no exit date yet;
        * ``n_unknown_reason``: exits with no recognised exit reason;
        * ``n_unknown``: exits whose outcome is unknown under ``definition``
          (unknown reason, or a situation whose duration cannot be checked);
        * ``definition``: the definition used for ``n_unknown``.

        ``n_entries == n_exits + n_still_in`` and
        ``n_exits == n_interruptions + n_completed`` on every row.
    """
    what = "flow_counts"
    _require(data, ["exit_date", "exit_reason"], what)
    positive, d = resolve_outcome(data, definition, what=what)
    flags = _outcome_flags(data, positive, exclude_interruptions=False)
    exited = flags["n_exits"].to_numpy(dtype=bool)
    unknown_reason = exited & (data["exit_reason"].isna().to_numpy() | _is_in(data["exit_reason"], ["inconnu"]))
    counts = pd.DataFrame(
        {
            "n_entries": np.ones(len(data), dtype="int64"),
            "n_exits": flags["n_exits"],
            "n_interruptions": flags["n_interruptions"],
            "n_completed": flags["n_exits"] - flags["n_interruptions"],
            "n_still_in": (~exited).astype("int64"),
            "n_unknown_reason": unknown_reason.astype("int64"),
            "n_unknown": flags["n_unknown"],
        },
        index=data.index,
    )
    table = _grouped_sums(_group_frame(data, _as_list(by), what), counts)
    return table.assign(definition=d.name)


# --------------------------------------------------------------------------
# Exit mix
# --------------------------------------------------------------------------
def exit_mix(
    data: pd.DataFrame, by: str | Sequence[str] | None = None, level: float = 0.95, *, national: bool = False
) -> pd.DataFrame:
    """Where trainees went when they left: job, work-study, training, other,
    with the unknown exits shown apart.

    The shares are among exits with a known exit type (the unknown ones are
    not in the denominator), with Wilson intervals. The mix describes the
    situation at exit, whatever its duration: it does not depend on the
    positive-exit definition.

    Returns
    -------
    DataFrame
        Long format, one row per group and category, sorted by group then
        category in the order job, work_study, training, other, unknown:

        * the grouping column(s);
        * ``category``: ``job``, ``work_study``, ``training``, ``other`` or
          ``unknown`` (labels: ``schema.label("exit_category", code)``);
        * ``n``: exits in that category;
        * ``n_exits``: all exits of the group;
        * ``n_known``: exits of the group with a known type (the denominator);
        * ``share``: ``n / n_known`` (NaN on the ``unknown`` row);
        * ``ci_low``, ``ci_high``: Wilson interval of ``share``;
        * ``share_of_exits``: ``n / n_exits`` (every row, including ``unknown``);
        * with ``national``: ``national`` (2024 published share, NaN for
          ``other`` and ``unknown``), ``national_year``, ``national_source``.
    """
    what = "exit_mix"
    _require(data, ["exit_date", "exit_category"], what)
    exited = data["exit_date"].notna().to_numpy()
    category = data["exit_category"]
    dummies = {c: (exited & _is_in(category, [c])).astype("int64") for c in _MIX_CATEGORIES}
    known = np.sum(list(dummies.values()), axis=0).astype(bool) if dummies else np.zeros(len(data), bool)
    dummies["unknown"] = (exited & ~known).astype("int64")  # "unknown" code, or an exit with no type
    dummies = pd.DataFrame(dummies, index=data.index)
    keys = _as_list(by)
    wide = _grouped_sums(_group_frame(data, keys, what), dummies)
    wide["n_exits"] = wide[[*_MIX_CATEGORIES, "unknown"]].sum(axis=1).astype("int64")
    wide["n_known"] = wide[list(_MIX_CATEGORIES)].sum(axis=1).astype("int64")
    wide["_group_order"] = np.arange(len(wide))
    long = wide.melt(
        id_vars=[*keys, "n_exits", "n_known", "_group_order"],
        value_vars=[*_MIX_CATEGORIES, "unknown"],
        var_name="category",
        value_name="n",
    )
    long["category"] = pd.Categorical(long["category"], categories=[*_MIX_CATEGORIES, "unknown"])
    long = long.sort_values(["_group_order", "category"], kind="stable").drop(columns="_group_order")
    long["n"] = long["n"].astype("int64")
    is_unknown = (long["category"] == "unknown").to_numpy()
    known_n = np.where(is_unknown, 0, long["n"])
    long = _add_rate(long.assign(_k=known_n), "_k", "n_known", level, name="share").drop(columns="_k")
    for column in ("share", "ci_low", "ci_high"):
        long.loc[is_unknown, column] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        exits = long["n_exits"].to_numpy(dtype=float)
        long["share_of_exits"] = np.where(exits > 0, long["n"] / np.where(exits > 0, exits, 1), np.nan)
    columns = [*keys, "category", "n", "n_exits", "n_known", "share", "ci_low", "ci_high", "share_of_exits"]
    long = long[columns].reset_index(drop=True)
    return with_national(long) if national else long


# --------------------------------------------------------------------------
# Trend
# --------------------------------------------------------------------------
def trend(
    data: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    definition: str | Definition | None = None,
    level: float = 0.95,
    *,
    year: str = "cohort_year",
    national: bool = True,
) -> pd.DataFrame:
    """Positive-exit rates by year, optionally within another grouping.

    Parameters
    ----------
    year : {"cohort_year", "exit_year"}
        Year of entry (default) or year of exit. National published rates
        are yearly figures of the network (closer to the exit year).
    national : bool
        Add the national published rate of the same year (``with_national``).

    Returns
    -------
    DataFrame
        The columns of :func:`positive_exit_rates` with ``year`` (named
        ``cohort_year`` or ``exit_year``) as the first grouping column (after
        ``by`` when given), plus ``national``, ``national_timing`` and
        ``national_source`` when ``national``.
    """
    if year not in ("cohort_year", "exit_year"):
        raise E2CError(_("trend : année inconnue {year!r} ('cohort_year' ou 'exit_year').", year=year))
    keys = [k for k in _as_list(by) if k != year] + [year]
    table = positive_exit_rates(data, keys, definition, level)
    return with_national(table, year_column=year) if national else table


# --------------------------------------------------------------------------
# Trainee profile
# --------------------------------------------------------------------------
PROFILE_COLUMNS: tuple[str, ...] = (
    "sex",
    "age_band",
    "education_level",
    "qpv",
    "disability",
    "rural",
    "nationality",
    "referrer",
)


def profile(
    data: pd.DataFrame,
    columns: Sequence[str] = PROFILE_COLUMNS,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    *,
    national: bool = True,
) -> pd.DataFrame:
    """Who the trainees are: the share of each value of each characteristic.

    Shares are among trainees whose value is known; the trainees with no
    value are shown apart on a row whose ``code`` is NA.

    Parameters
    ----------
    columns : sequence of str
        Characteristics (canonical columns or derived groupings such as
        ``age_band``); default :data:`PROFILE_COLUMNS`.
    by : str or list of str, optional
        Grouping column(s), e.g. ``"region"``.
    national : bool
        Add the published national range where one exists.

    Returns
    -------
    DataFrame
        Long format, one row per group, characteristic and value (values in
        category order, booleans True then False, the NA row last):

        * the grouping column(s);
        * ``variable``: the characteristic's column name;
        * ``code``: the value (object dtype; NA for "not stated");
        * ``n``: trainees with that value;
        * ``n_total``: trainees of the group;
        * ``n_known``: trainees of the group whose value is known;
        * ``share``: ``n / n_known`` (NaN on the NA row);
        * ``ci_low``, ``ci_high``: Wilson interval of ``share``;
        * ``share_of_total``: ``n / n_total``;
        * with ``national``: ``national_low``, ``national_high`` (published
          national range 2013–2023, NaN where none) and ``national_source``.
    """
    what = "profile"
    keys = _as_list(by)
    groups = _group_frame(data, keys, what)
    values = _group_frame(data, list(columns), what)
    pieces = []
    for column in columns:
        value = values[column]
        if isinstance(value.dtype, pd.CategoricalDtype):
            order = list(value.cat.categories)
            codes = value.cat.codes.to_numpy()
        else:
            order = [True, False] if str(value.dtype) == "boolean" else sorted(value.dropna().unique().tolist())
            codes = pd.Categorical(value, categories=order).codes
        dummies = {f"v{i}": (codes == i).astype("int64") for i in range(len(order))}
        dummies["vna"] = (codes == -1).astype("int64")
        wide = _grouped_sums(groups, pd.DataFrame(dummies, index=data.index))
        wide["_group_order"] = np.arange(len(wide))
        wide["n_total"] = wide[list(dummies)].sum(axis=1).astype("int64")
        wide["n_known"] = (wide["n_total"] - wide["vna"]).astype("int64")
        long = wide.melt(
            id_vars=[*keys, "n_total", "n_known", "_group_order"],
            value_vars=list(dummies),
            var_name="_slot",
            value_name="n",
        )
        slot_code = {f"v{i}": code for i, code in enumerate(order)} | {"vna": pd.NA}
        slot_rank = {slot: i for i, slot in enumerate(dummies)}
        long["_rank"] = long["_slot"].map(slot_rank)
        long["code"] = long["_slot"].map(slot_code).astype("object")
        long["variable"] = column
        pieces.append(long.sort_values(["_group_order", "_rank"], kind="stable"))
    table = pd.concat(pieces, ignore_index=True)
    is_na = table["code"].isna().to_numpy()
    table["n"] = table["n"].astype("int64")
    table = _add_rate(table.assign(_k=np.where(is_na, 0, table["n"])), "_k", "n_known", level, name="share")
    for column in ("share", "ci_low", "ci_high"):
        table.loc[is_na, column] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        total = table["n_total"].to_numpy(dtype=float)
        table["share_of_total"] = np.where(total > 0, table["n"] / np.where(total > 0, total, 1), np.nan)
    table = table[
        [*keys, "variable", "code", "n", "n_total", "n_known", "share", "ci_low", "ci_high", "share_of_total"]
    ]
    if national:
        bench = NATIONAL_BENCHMARKS["profile"]
        key = table["variable"] + "=" + table["code"].astype("string").fillna("<NA>")
        bench_key = bench["column"] + "=" + bench["code"]
        table["national_low"] = key.map(dict(zip(bench_key, bench["low"]))).astype("float64")
        table["national_high"] = key.map(dict(zip(bench_key, bench["high"]))).astype("float64")
        table["national_source"] = key.map(dict(zip(bench_key, bench["source"])))
    return table.reset_index(drop=True)
