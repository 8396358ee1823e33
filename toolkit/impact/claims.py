"""What the impact section may claim, as data and as sentences: whether the interval excludes 0, the
E-values of the estimate and of the interval bound nearest the null, imbalance left after adjustment, and
who was analysed (and why the others were left out).

Every sentence is generated from the numbers, in the current language (:mod:`toolkit.i18n`), so that a
page never states an effect the data do not support.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import DEFAULT_MIN_CELL
from ..formatting import fmt_int, fmt_number
from ..i18n import _, ngettext

__all__ = ["SMD_THRESHOLD", "Claims", "assess", "group_accounting", "claim_sentences", "verdict_label"]

SMD_THRESHOLD = 0.1  # usual bound of acceptable imbalance (absolute standardised difference)


@dataclass(frozen=True)
class Claims:
    """What the numbers support.

    Attributes
    ----------
    direction : str
        ``"positive"`` (the whole interval above 0), ``"negative"`` (below 0) or ``"indistinguishable"``
        (the interval contains 0).
    e_value, e_value_ci : float
        E-value of the point estimate and of the interval bound nearest the null (1 when the interval
        contains 0).
    imbalanced : tuple of str
        Balance rows (covariate or ``covariate[level]``) whose absolute standardised difference after
        adjustment exceeds :data:`SMD_THRESHOLD`, largest first.
    max_smd_after : float
    """

    direction: str
    e_value: float
    e_value_ci: float
    imbalanced: tuple[str, ...]
    max_smd_after: float

    @property
    def ci_contains_zero(self) -> bool:
        return self.direction == "indistinguishable"


def assess(res, sens) -> Claims:
    """The claims an :class:`~toolkit.impact.ATTResult` and its sensitivity analysis support."""
    if res.ci_low > 0:
        direction = "positive"
    elif res.ci_high < 0:
        direction = "negative"
    else:
        direction = "indistinguishable"
    smd = res.balance["smd_after"].abs().sort_values(ascending=False)
    imbalanced = tuple(str(name) for name in smd.index[smd.to_numpy() > SMD_THRESHOLD])
    ev_ci = 1.0 if direction == "indistinguishable" else float(sens.e_value["e_value_ci"])
    return Claims(direction, float(sens.e_value["e_value"]), ev_ci, imbalanced, float(smd.max()))


def verdict_label(claims: Claims) -> str:
    """A few words for a table cell: what the interval says about the effect."""
    if claims.direction == "positive":
        return _("effet positif, distinct de zéro")
    if claims.direction == "negative":
        return _("effet négatif, distinct de zéro")
    return _("indistinguable de zéro (l'intervalle contient 0)")


def group_accounting(frame: pd.DataFrame, res, treatment: str, outcome: str, covariates: list[str]) -> pd.DataFrame:
    """Who is analysed in each group and why the other rows were left out.

    Parameters
    ----------
    frame : DataFrame
        Every row handed to the estimate, unknown outcomes included when the caller has them.

    Returns
    -------
    DataFrame
        Index ``treated`` / ``control``; columns ``n_rows`` (rows received), ``outcome_unknown``,
        ``covariate_missing`` (outcome known, a characteristic missing), ``outside_support``, ``trimmed``,
        ``unmatched`` (treated without a comparable control, matching) and ``n_analysed``.
    """
    t = pd.to_numeric(frame[treatment], errors="coerce")
    y_unknown = frame[outcome].isna() if outcome in frame.columns else pd.Series(True, index=frame.index)
    cols = [c for c in covariates if c in frame.columns]
    x_missing = frame[cols].isna().any(axis=1) if cols else pd.Series(False, index=frame.index)
    rows = {}
    for key, value, n_analysed in (("treated", 1, res.n_treated), ("control", 0, res.n_control)):
        mine = (t == value).to_numpy()
        rows[key] = {
            "n_rows": int(mine.sum()),
            "outcome_unknown": int((mine & y_unknown.to_numpy()).sum()),
            "covariate_missing": int((mine & ~y_unknown.to_numpy() & x_missing.to_numpy()).sum()),
            "outside_support": int(res.outside_support.get(key, 0)),
            "trimmed": int(res.trimmed.get(key, 0)),
            "unmatched": int(res.unmatched_treated) if key == "treated" else 0,
            "n_analysed": int(n_analysed),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


_REASONS = ("outcome_unknown", "covariate_missing", "outside_support", "trimmed", "unmatched")


def _reason_count(column: str, n: int) -> str:
    k = fmt_int(n)
    if column == "outcome_unknown":
        return ngettext("{k} sans issue connue", "{k} sans issue connue", n, k=k)
    if column == "covariate_missing":
        return ngettext(
            "{k} dont une caractéristique à l'entrée manque", "{k} dont une caractéristique à l'entrée manque", n, k=k
        )
    if column == "outside_support":
        return ngettext(
            "{k} hors du support commun (sans profil comparable dans l'autre groupe)",
            "{k} hors du support commun (sans profil comparable dans l'autre groupe)",
            n,
            k=k,
        )
    if column == "trimmed":
        return ngettext("{k} écarté pour poids extrême", "{k} écartés pour poids extrême", n, k=k)
    return ngettext("{k} sans jeune de comparaison assez proche", "{k} sans jeune de comparaison assez proche", n, k=k)


def _reason_name(column: str) -> str:
    names = {
        "outcome_unknown": _("sans issue connue"),
        "covariate_missing": _("une caractéristique à l'entrée manque"),
        "outside_support": _("hors du support commun (sans profil comparable dans l'autre groupe)"),
        "trimmed": _("poids extrême"),
        "unmatched": _("sans jeune de comparaison assez proche"),
    }
    return names[column]


def _left_out(row: pd.Series, treated: bool, min_cell: int, hidden=frozenset()) -> tuple[list[str], bool]:
    """The reasons rows were left out, and whether every count is publishable.

    A count from 1 to ``min_cell - 1`` is never printed, nor one the report's disclosure control hid
    (``hidden``: column names). When one is not printed, the reasons are named without counts, and the
    caller drops the group's total too: total − analysed − the other reasons would give it back.
    """
    reasons = [c for c in _REASONS if row[c] and (treated or c != "unmatched")]
    publishable = all(int(row[c]) >= min_cell and c not in hidden for c in reasons)
    if not publishable:
        return [_reason_name(c) for c in reasons], False
    parts = [_reason_count(c, int(row[c])) for c in reasons]
    return parts, True


def _list_separator() -> str:
    return _("\u00a0; ")  # French typography: a no-break space before the semicolon


def _groups_sentence(groups: pd.DataFrame, min_cell: int, hidden: dict | None = None) -> str:
    hidden = hidden or {}
    treated, control = groups.loc["treated"], groups.loc["control"]
    text = _(
        "Sont analysés {treated} et {control}, au profil comparable à l'entrée.",
        treated=ngettext(
            "{k} stagiaire E2C dont l'issue est connue",
            "{k} stagiaires E2C dont l'issue est connue",
            treated["n_analysed"],
            k=fmt_int(treated["n_analysed"]),
        ),
        control=ngettext(
            "{k} jeune du groupe de comparaison",
            "{k} jeunes du groupe de comparaison",
            control["n_analysed"],
            k=fmt_int(control["n_analysed"]),
        ),
    )
    for row, treated_side in ((treated, True), (control, False)):
        secret = hidden.get("treated" if treated_side else "control", frozenset())
        parts, publishable = _left_out(row, treated_side, min_cell, secret)
        if not parts:
            continue
        n_out = int(row["n_rows"] - row["n_analysed"])
        if not publishable or n_out < min_cell or "received" in secret:
            reasons = _list_separator().join(parts)
            text += " " + (
                _(
                    "D'autres stagiaires E2C sont laissés de côté ({reasons}) ; leur nombre n'est pas publié "
                    "(secret statistique).",
                    reasons=reasons,
                )
                if treated_side
                else _(
                    "D'autres jeunes du groupe de comparaison sont laissés de côté ({reasons}) ; leur nombre "
                    "n'est pas publié (secret statistique).",
                    reasons=reasons,
                )
            )
            continue
        n_rows = int(row["n_rows"])
        if treated_side:
            total = ngettext("{k} stagiaire E2C", "{k} stagiaires E2C", n_rows, k=fmt_int(n_rows))
        else:
            total = ngettext(
                "{k} jeune du groupe de comparaison", "{k} jeunes du groupe de comparaison", n_rows, k=fmt_int(n_rows)
            )
        head = ngettext(
            "Sur {total}, {out} est laissé de côté : {reasons}.",
            "Sur {total}, {out} sont laissés de côté : {reasons}.",
            n_out,
            total=total,
            out=fmt_int(n_out),
            reasons=_list_separator().join(parts),
        )
        text += " " + head
    return text


def _estimate_sentence(res, claims: Claims, effect: str, low: str, high: str, unit: str) -> str:
    level = fmt_int(res.level * 100)
    if claims.direction == "indistinguishable":
        return _(
            "L'effet estimé de l'E2C sur ses stagiaires est de {effect} {unit}, mais l'intervalle de confiance "
            "à {level} % va de {low} à {high} et contient 0 : l'effet est indistinguable de zéro. Ces données "
            "ne permettent de conclure ni à un effet positif, ni à un effet négatif.",
            effect=effect,
            unit=unit,
            level=level,
            low=low,
            high=high,
        )
    if claims.direction == "positive":
        return _(
            "L'effet estimé de l'E2C sur ses stagiaires est de {effect} {unit} (intervalle de confiance à "
            "{level} % : {low} à {high}). L'intervalle est entièrement au-dessus de 0 : l'effet est positif.",
            effect=effect,
            unit=unit,
            level=level,
            low=low,
            high=high,
        )
    return _(
        "L'effet estimé de l'E2C sur ses stagiaires est de {effect} {unit} (intervalle de confiance à "
        "{level} % : {low} à {high}). L'intervalle est entièrement au-dessous de 0 : l'effet est négatif.",
        effect=effect,
        unit=unit,
        level=level,
        low=low,
        high=high,
    )


def _balance_sentence(claims: Claims, label) -> str:
    if not claims.imbalanced:
        return _(
            "Après ajustement, les deux groupes sont équilibrés : aucun écart standardisé ne dépasse {t}.",
            t=fmt_number(SMD_THRESHOLD, decimals=1),
        )
    n = len(claims.imbalanced)
    return ngettext(
        "Attention : après ajustement, {n} caractéristique reste déséquilibrée entre les deux groupes (écart "
        "standardisé supérieur à {t}, jusqu'à {max}) : {names}. L'estimation peut en être biaisée.",
        "Attention : après ajustement, {n} caractéristiques restent déséquilibrées entre les deux groupes (écart "
        "standardisé supérieur à {t}, jusqu'à {max}) : {names}. L'estimation peut en être biaisée.",
        n,
        t=fmt_number(SMD_THRESHOLD, decimals=1),
        max=fmt_number(claims.max_smd_after, decimals=2),
        names=", ".join(label(name) for name in claims.imbalanced),
    )


def _sensitivity_sentence(claims: Claims, covariates: str) -> str:
    assumption = _(
        "Cette estimation suppose que les deux groupes ne diffèrent que par les caractéristiques prises en "
        "compte ({covariates}) ; un facteur non observé (motivation, soutien familial…) pourrait la biaiser.",
        covariates=covariates,
    )
    ev, ev_ci = fmt_number(claims.e_value, decimals=2), fmt_number(claims.e_value_ci, decimals=2)
    if claims.direction == "indistinguishable":
        detail = _(
            "Comme l'intervalle contient déjà 0, aucun effet n'est établi et il n'y a pas d'effet à annuler "
            "(E-value de la borne de l'intervalle : {ev_ci}). L'E-value de l'estimation ponctuelle, {ev}, dit "
            "seulement quelle force un tel facteur devrait avoir pour ramener cette valeur ponctuelle à 0.",
            ev=ev,
            ev_ci=ev_ci,
        )
    else:
        detail = _(
            "Pour ramener l'estimation à 0, ce facteur devrait être associé à l'entrée en E2C et aux sorties "
            "positives par un rapport de risques d'au moins {ev} (E-value de l'estimation) ; pour que "
            "l'intervalle de confiance contienne 0, d'au moins {ev_ci} (E-value de la borne la plus proche "
            "de 0).",
            ev=ev,
            ev_ci=ev_ci,
        )
    return assumption + " " + detail


def claim_sentences(
    res,
    claims: Claims,
    groups: pd.DataFrame,
    covariates: str,
    label,
    scale: float,
    *,
    min_cell: int = DEFAULT_MIN_CELL,
    hidden: dict | None = None,
) -> list[str]:
    """The paragraphs of the section: estimate and verdict, who is analysed, balance, sensitivity.

    No count from 1 to ``min_cell - 1`` is printed (the rows left out, by reason), nor a count that a
    report's disclosure control hid (``hidden``: ``{"treated": {...}, "control": {...}}``, the column names of
    :func:`group_accounting` plus ``received``).
    """

    def signed(value: float) -> str:
        text = fmt_number(value * scale, decimals=1)
        return ("+" + text) if value > 0 and np.isfinite(value) else text

    unit = _("points") if res.outcome_type == "binary" else ""
    estimate = _estimate_sentence(res, claims, signed(res.estimate), signed(res.ci_low), signed(res.ci_high), unit)
    estimate = " ".join(estimate.split())  # no double space when there is no unit
    return [
        estimate,
        _groups_sentence(groups, min_cell, hidden),
        _balance_sentence(claims, label),
        _sensitivity_sentence(claims, covariates),
    ]
