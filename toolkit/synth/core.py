"""What every part of the generator shares: the result type, version and defaults, and small
random-draw and JSON helpers."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SynthExport", "GENERATOR_VERSION", "DEFAULT_SEED", "DEFAULT_YEARS", "DEFAULT_EXPORT_NAME"]

GENERATOR_VERSION = "4"  # bump when the output for a given seed and settings changes
DEFAULT_SEED = 2024
DEFAULT_YEARS: tuple[int, ...] = (2019, 2020, 2021, 2022, 2023, 2024)
DEFAULT_EXPORT_NAME = "export_e2c_synthetique"
NAT = np.datetime64("NaT", "D")

_INVALID_KINDS = ("missing_id", "unknown_region", "invalid_entry_date", "exit_before_entry", "age_out_of_range")
_ROW_STATUSES = ("valid", "duplicate", *_INVALID_KINDS)
_OUTCOME_STATUSES = ("in_programme", "known", "unknown_planted", "unknown_censored")


@dataclass
class SynthExport:
    """A synthetic export and its truth.

    Attributes
    ----------
    raw : DataFrame
        The export in the raw contract: French headers, every value a string
        (missing = NA), rows in export order (``source_row`` = position + 1).
    truth : dict
        JSON-safe description of the data-generating process and of what was
        planted: ``intercept``, ``coefficients``, ``site_sd``, ``site_effects``,
        ``planted_sites``, ``seed``, ``settings``, ``counts``...
    rows : DataFrame
        One row per raw row: ``source_row``, ``id_stagiaire``, ``row_status``
        ('valid', 'duplicate' or the invalid kind), ``outcome_status``
        ('in_programme', 'known', 'unknown_planted', 'unknown_censored'),
        ``unknown_kind``, ``positive_drawn`` (the Bernoulli draw),
        ``positive_exit`` (the value cleaning must recover: the draw when known,
        else NA), ``p_true``, and the true (unmasked) covariates.
    """

    raw: pd.DataFrame
    truth: dict
    rows: pd.DataFrame


# --------------------------------------------------------------------------


def _add_months(days: np.ndarray, months: int) -> np.ndarray:
    """``days + months`` calendar months, clipped to the month end (as pandas DateOffset)."""
    month = days.astype("datetime64[M]")
    day_of_month = (days - month.astype("datetime64[D]")).astype(np.int64)
    target = month + months
    month_length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    out = target.astype("datetime64[D]") + np.minimum(day_of_month, month_length - 1)
    return np.where(np.isnat(days), NAT, out)


def _draw(rng: np.random.Generator, probs, size: int) -> np.ndarray:
    """Categorical draw: indices 0..len(probs)-1 with the given (normalised) weights."""
    p = np.asarray(probs, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _bernoulli(rng: np.random.Generator, p, size: int) -> np.ndarray:
    return rng.random(size) < p


def _settings(func, arguments: dict) -> dict:
    """Every argument of ``func`` (defaults included), JSON-safe."""
    names = inspect.signature(func).parameters
    return _json_safe({k: arguments[k] for k in names if k in arguments})


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
