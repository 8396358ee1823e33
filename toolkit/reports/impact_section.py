"""The impact section of a report or notebook: the estimate, balance and sensitivity tables, figures
and sentences, ready to display, in the current language (:mod:`toolkit.i18n`)."""

from __future__ import annotations

import pandas as pd

from ..config import DEFAULT_MIN_CELL
from ..errors import InputError, ModelError
from ..formatting import column_label, fmt_int, fmt_number, fmt_pct
from ..i18n import N_, _, use_language
from ..impact import ATTResult, ImpactFrame, estimate_att, estimate_att_by
from ..impact.claims import Claims, assess, claim_sentences, group_accounting, verdict_label
from ..plots.impact import covariate_label, effects_plot, love_plot, overlap_plot
from .content import Msg

__all__ = ["impact_section", "impact_glossary", "with_comparison"]

_METHODS = {
    "aipw": N_("Doublement robuste (AIPW)"),
    "ipw": N_("Pondération par le score de propension"),
    "matching": N_("Appariement sur le score de propension"),
}


_GLOSSARY = {
    "aipw": (
        N_("AIPW (estimation « doublement robuste »)"),
        N_(
            "Deux modèles sont combinés : l’un prédit la probabilité d’entrer en E2C selon le profil à l’entrée, "
            "l’autre la probabilité d’une sortie positive selon ce même profil. L’estimation reste juste si l’un "
            "des deux au moins est correct."
        ),
    ),
    "influence": (
        N_("Fonction d’influence"),
        N_(
            "Façon de calculer l’intervalle de confiance : on mesure le poids de chaque jeune dans l’estimation et "
            "on en déduit son incertitude, sans refaire le calcul des milliers de fois."
        ),
    ),
    "ess": (
        N_("Taille effective"),
        N_(
            "Après pondération, certains jeunes du groupe de comparaison comptent bien plus que d’autres. La "
            "taille effective est le nombre de jeunes, comptant chacun pour un, qui donnerait la même précision : "
            "bien plus petite que le nombre analysé, elle signale une estimation fragile."
        ),
    ),
    "smd": (
        N_("Écart standardisé"),
        N_(
            "Différence entre stagiaires et groupe de comparaison sur une caractéristique, divisée par la "
            "dispersion de cette caractéristique, pour comparer des grandeurs d’unités différentes. Au-delà de 0,1 "
            "(en valeur absolue) après ajustement, les deux groupes restent différents sur ce point."
        ),
    ),
    "evalue": (
        N_("E-value"),
        N_(
            "Force minimale qu’aurait un facteur non mesuré, lié à la fois à l’entrée en E2C et à la sortie "
            "positive, pour expliquer à lui seul l’effet estimé (exprimée comme un rapport de risques : 1 = aucun "
            "lien). Plus elle est proche de 1, plus un facteur caché modeste suffirait."
        ),
    ),
}


def impact_glossary(res: ATTResult) -> list[tuple[str, str]]:
    """The section's technical words explained in plain language, in the current language: (term, text)."""
    names = (["aipw"] if res.method == "aipw" else []) + (
        ["influence"] if res.ci_method == "influence function" else []
    )
    return [(_(term), _(text)) for term, text in (_GLOSSARY[n] for n in [*names, "ess", "smd", "evalue"])]


def with_comparison(items: list, provenance: dict) -> list:
    """A page's methods and provenance items when comparison data were supplied: the limits say what the
    impact section estimates, and the comparison file's name and SHA-256 follow the data file's."""
    limits = Msg(
        N_(
            "Les chiffres descriptifs (sorties, taux, comparaison équitable) ne mesurent pas l’effet propre des "
            "E2C. La section « Impact estimé » l’estime à partir du groupe de comparaison fourni, en supposant "
            "qu’à profil à l’entrée égal rien d’autre ne distingue les deux groupes. Les taux nationaux publiés "
            "par le Réseau utilisent d’autres définitions."
        )
    )
    added = [
        (
            Msg(N_("Estimation de l’impact")),
            Msg(
                N_(
                    "Estimation doublement robuste (AIPW) de l’effet sur les stagiaires, intervalle de confiance "
                    "par la fonction d’influence ; les termes sont expliqués dans le glossaire."
                )
            ),
        ),
        (Msg(N_("Données de comparaison")), Msg("{name}", {"name": provenance.get("name") or "—"})),
        (Msg(N_("SHA-256 des données de comparaison")), Msg("{sha}", {"sha": provenance.get("sha256") or "—"})),
    ]
    out = []
    for term, text in items:
        out.append((term, limits if getattr(term, "text", None) == "Limites" else text))
        if getattr(term, "text", None) == "SHA-256":
            out += added
    return out if len(out) > len(items) else [*out, *added]


def _ci_method_label(ci_method: str) -> str:
    """The interval method of an :class:`ATTResult` (stored in English) in the current language."""
    if ci_method == "influence function":
        return _("fonction d'influence")
    if ci_method.startswith("bootstrap (B="):
        b = ci_method.removeprefix("bootstrap (B=").split(",", 1)[0]
        return _("bootstrap (B\u00a0=\u00a0{b}, percentiles)", b=b)
    return ci_method


def _signed(value: float, scale: float) -> str:
    text = fmt_number(value * scale, decimals=1)
    return ("+" + text) if value > 0 else text


def _summary_table(res: ATTResult, scale: float, claims: Claims, raw_difference: bool = True) -> pd.DataFrame:
    binary = res.outcome_type == "binary"
    rows = [
        (
            _("Effet estimé sur les stagiaires (points de sorties positives)")
            if binary
            else _("Effet estimé sur les stagiaires"),
            _signed(res.estimate, scale),
        ),
        (
            _("Intervalle de confiance à {level} %", level=fmt_int(res.level * 100)),
            _("{low} à {high}", low=_signed(res.ci_low, scale), high=_signed(res.ci_high, scale)),
        ),
        (_("Lecture de l'intervalle"), verdict_label(claims)),
        (_("Calcul de l'intervalle"), _ci_method_label(res.ci_method)),
    ]
    if binary:
        rows += [
            (_("Taux de sorties positives des stagiaires E2C"), fmt_pct(res.mean_treated)),
            (_("Taux estimé pour les mêmes jeunes sans E2C"), fmt_pct(res.mean_control_counterfactual)),
        ]
    smd_before = fmt_number(res.balance["smd_before"].abs().max(), decimals=2)
    smd_after = fmt_number(res.balance["smd_after"].abs().max(), decimals=2)
    if raw_difference:  # the positive exits of both groups follow from it: not shown when either is hidden
        rows.append((_("Différence brute (sans ajustement)"), _signed(res.naive, scale)))
    rows += [
        (_("Stagiaires E2C analysés"), fmt_int(res.n_treated)),
        (_("Jeunes du groupe de comparaison analysés"), fmt_int(res.n_control)),
        (_("Taille effective du groupe de comparaison pondéré"), fmt_int(res.ess_control)),
        (_("Méthode"), _(_METHODS[res.method])),
        (_("Écart standardisé maximal (avant → après ajustement)"), f"{smd_before} → {smd_after}"),
    ]
    if claims.imbalanced:
        rows.append(
            (
                _("Caractéristiques encore déséquilibrées après ajustement (écart > 0,1)"),
                ", ".join(covariate_label(name) for name in claims.imbalanced),
            )
        )
    return pd.DataFrame(rows, columns=[_("Indicateur"), _("Valeur")])


def _balance_table(res: ATTResult) -> pd.DataFrame:
    bal = res.balance
    return pd.DataFrame(
        {
            _("Caractéristique"): [covariate_label(str(c)) for c in bal.index],
            _("E2C"): fmt_number(bal["mean_treated"], decimals=2).to_numpy(),
            _("Comparaison (brut)"): fmt_number(bal["mean_control"], decimals=2).to_numpy(),
            _("Comparaison (ajusté)"): fmt_number(bal["mean_control_weighted"], decimals=2).to_numpy(),
            _("Écart standardisé avant"): fmt_number(bal["smd_before"], decimals=2).to_numpy(),
            _("Écart standardisé après"): fmt_number(bal["smd_after"], decimals=2).to_numpy(),
        }
    )


def _sensitivity_table(sens, claims: Claims) -> pd.DataFrame:
    if claims.ci_contains_zero:
        estimate_row = _("E-value de l'estimation ponctuelle (l'intervalle contient déjà 0 : aucun effet établi)")
    else:
        estimate_row = _("E-value de l'estimation (force d'un facteur caché qui ramènerait l'estimation à 0)")
    rows = [
        (estimate_row, fmt_number(claims.e_value, decimals=2)),
        (_("E-value de la borne de l'IC la plus proche de 0"), fmt_number(claims.e_value_ci, decimals=2)),
    ]
    if sens.rosenbaum is not None:
        rows.append(
            (
                _("Γ de Rosenbaum à partir duquel l'effet n'est plus significatif"),
                fmt_number(sens.rosenbaum.gamma_critical, decimals=2),
            )
        )
    return pd.DataFrame(rows, columns=[_("Mesure"), _("Valeur")])


def _figures(res: ATTResult, by: str | None, by_table: pd.DataFrame | None) -> dict:
    figs = {"love": love_plot(res), "overlap": overlap_plot(res)}
    if by_table is not None:
        figs["effects"] = effects_plot(
            by_table,
            overall=res,
            percent=res.outcome_type == "binary",
            title=_("Effet estimé sur les stagiaires, par {group}", group=column_label(by).lower()),
            label_column=by if by in ("region", "sex", "education_level") else None,
        )
    return figs


def _groups_table(groups: pd.DataFrame) -> pd.DataFrame:
    """Display table of :func:`toolkit.impact.claims.group_accounting`: one row per group."""
    labels = {
        "n_rows": _("Reçus"),
        "outcome_unknown": _("Issue inconnue"),
        "covariate_missing": _("Caractéristique manquante"),
        "outside_support": _("Hors support commun"),
        "trimmed": _("Poids extrême écarté"),
        "unmatched": _("Sans apparié assez proche"),
        "n_analysed": _("Analysés"),
    }
    table = pd.DataFrame({labels[c]: fmt_int(groups[c]).to_numpy() for c in labels})
    table.insert(0, _("Groupe"), [_("Stagiaires E2C"), _("Groupe de comparaison")])
    return table


def _sentences(
    res: ATTResult, claims: Claims, groups: pd.DataFrame, covariates: list[str], scale: float, min_cell: int, hidden
) -> list[str]:
    if res.outcome_type == "binary":
        rate_t, rate_c = fmt_pct(res.mean_treated), fmt_pct(res.mean_control_counterfactual)
    else:
        rate_t = fmt_number(res.mean_treated, decimals=1)
        rate_c = fmt_number(res.mean_control_counterfactual, decimals=1)
    rates = _(
        "Les stagiaires E2C analysés ont un taux de sorties positives de {rate_t}. Des jeunes du groupe "
        "de comparaison au profil comparable (mêmes caractéristiques à l'entrée) ont un taux ajusté de "
        "{rate_c}.",
        rate_t=rate_t,
        rate_c=rate_c,
    )
    names = [column_label(c) for c in covariates]
    names = [n[0].lower() + n[1:] if len(n) > 1 and n[1].islower() else n for n in names]  # keep QPV, RQTH
    estimate, *rest = claim_sentences(
        res, claims, groups, ", ".join(names), covariate_label, scale, min_cell=min_cell, hidden=hidden
    )
    return [rates + " " + estimate, *rest]


def _check_sizes(frame: pd.DataFrame, treatment: str, outcome: str, min_cell: int) -> None:
    """Cheap check before any model fit: no estimate for a group far too small."""
    if treatment not in frame.columns:
        return
    known = frame[outcome].notna() if outcome in frame.columns else pd.Series(False, index=frame.index)
    counts = frame.loc[known, treatment].astype(float).value_counts()
    if min(counts.get(1.0, 0), counts.get(0.0, 0)) < min_cell:
        raise ModelError(
            _("Moins de {n} stagiaires ou jeunes de comparaison : pas d'estimation publiable.", n=min_cell)
        )


def impact_section(
    data,
    covariates=None,
    *,
    treatment: str = "treated",
    outcome: str = "outcome",
    method: str = "aipw",
    by: str | None = None,
    lang: str | None = None,
    min_cell: int = DEFAULT_MIN_CELL,
    figures: bool = True,
    hidden: dict | None = None,
    **kwargs,
) -> dict:
    """Everything the impact section of a report or notebook shows, ready to display.

    Parameters
    ----------
    data : ImpactFrame or DataFrame
        A :func:`toolkit.impact.load_impact_frame` result, or an analysis frame with the
        ``treatment`` and ``outcome`` columns.
    covariates : list of str, optional
        Defaults to ``data.covariates`` for an ImpactFrame.
    method : str
        Estimator (see :func:`toolkit.impact.estimate_att`); other keyword arguments go to it.
    by : str, optional
        Also estimate the effect within each level of this column (e.g. ``"region"``).
    lang : {"fr", "en"}, optional
        Language of the tables and sentences; default the current language (:mod:`toolkit.i18n`).
    min_cell : int
        Below this many treated units or controls, no estimate is produced.
    figures : bool
        Draw the figures (love plot, overlap, effects by subgroup when ``by``).
    hidden : dict, optional
        The counts a report's disclosure control hid, by group (:func:`toolkit.reports.impact_cells.hidden_flags`):
        they are not printed, and the raw difference is left out when a group's positive exits are hidden.

    Returns
    -------
    dict
        ``result`` (ATTResult), ``summary`` (display table: indicator, value),
        ``balance`` (display table, one row per covariate level),
        ``sensitivity`` (display table), ``groups`` (display table: who is analysed in each group and
        why the others were left out), ``claims`` (:class:`toolkit.impact.claims.Claims`: direction of
        the interval, E-values, covariates still imbalanced), ``by`` (tidy table of
        :func:`toolkit.impact.estimate_att_by`, or None), ``figures`` (dict of
        ``love``, ``overlap``, ``effects`` figures), ``text`` (paragraphs: rates, estimate
        and whether its interval contains 0; who is analysed; balance after adjustment; the assumption and
        E-values), ``glossary`` (:func:`impact_glossary`: the technical words explained, (term, text)).

    Raises
    ------
    ModelError
        Fewer than ``min_cell`` treated units or controls, or models that cannot be fitted.
    """
    if lang is not None:
        with use_language(lang):
            return impact_section(
                data,
                covariates,
                treatment=treatment,
                outcome=outcome,
                method=method,
                by=by,
                min_cell=min_cell,
                figures=figures,
                hidden=hidden,
                **kwargs,
            )
    received = data.data if isinstance(data, ImpactFrame) else data
    if isinstance(data, ImpactFrame):
        covariates = covariates or data.covariates
        frame = data.analysis_data()
    else:
        frame = data
        if covariates is None:
            raise InputError(_("impact_section : indiquez les covariables (ou passez un ImpactFrame)."))
    _check_sizes(frame, treatment, outcome, min_cell)
    res = estimate_att(frame, treatment, outcome, covariates, method=method, **kwargs)
    if min(res.n_treated, res.n_control) < min_cell:
        raise ModelError(
            _("Moins de {n} stagiaires ou jeunes de comparaison : pas d'estimation publiable.", n=min_cell)
        )
    scale = 100.0 if res.outcome_type == "binary" else 1.0
    sens = res.sensitivity()
    claims = assess(res, sens)
    groups = group_accounting(received, res, treatment, outcome, covariates)
    raw_difference = not any("positive_usable" in flags for flags in (hidden or {}).values())
    by_table = (
        estimate_att_by(frame, by, treatment, outcome, covariates, method=method, min_cell=min_cell, **kwargs)
        if by
        else None
    )
    return {
        "result": res,
        "summary": _summary_table(res, scale, claims, raw_difference),
        "balance": _balance_table(res),
        "sensitivity": _sensitivity_table(sens, claims),
        "groups": _groups_table(groups),
        "claims": claims,
        "by": by_table,
        "figures": _figures(res, by, by_table) if figures else {},
        "text": _sentences(res, claims, groups, covariates, scale, min_cell, hidden),
        "glossary": impact_glossary(res),
    }
