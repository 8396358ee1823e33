"""The impact section of a report or notebook: the estimate, balance and sensitivity tables, figures
and sentences, ready to display."""

from __future__ import annotations

import pandas as pd

from ..config import DEFAULT_MIN_CELL
from ..errors import E2CError, InputError, ModelError
from ..formatting import column_label, fmt_int, fmt_number, fmt_pct
from ..impact import ImpactFrame, estimate_att, estimate_att_by
from ..plots.impact import covariate_label, effects_plot, love_plot, overlap_plot

__all__ = ["impact_section"]

_SECTION_TEXT = {
    "fr": {
        "indicator": "Indicateur",
        "value": "Valeur",
        "effect": "Effet estimé sur les stagiaires (points de sorties positives)",
        "effect_cont": "Effet estimé sur les stagiaires",
        "ci": "Intervalle de confiance à {level} %",
        "ci_method": "Calcul de l'intervalle",
        "rate_t": "Taux de sorties positives des stagiaires E2C",
        "rate_c": "Taux estimé pour les mêmes jeunes sans E2C",
        "naive": "Différence brute (sans ajustement)",
        "n_t": "Stagiaires E2C analysés",
        "n_c": "Jeunes du groupe de comparaison analysés",
        "ess": "Taille effective du groupe de comparaison pondéré",
        "method": "Méthode",
        "smd": "Écart standardisé maximal (avant → après ajustement)",
        "methods": {
            "aipw": "Doublement robuste (AIPW)",
            "ipw": "Pondération par le score de propension",
            "matching": "Appariement sur le score de propension",
        },
        "covariate": "Caractéristique",
        "mean_t": "E2C",
        "mean_c": "Comparaison (brut)",
        "mean_cw": "Comparaison (ajusté)",
        "smd_b": "Écart standardisé avant",
        "smd_a": "Écart standardisé après",
        "measure": "Mesure",
        "ev": "E-value de l'estimation",
        "ev_ci": "E-value de la borne de l'IC la plus proche de 0",
        "gamma": "Γ de Rosenbaum à partir duquel l'effet n'est plus significatif",
        "summary": (
            "Les stagiaires E2C analysés ont un taux de sorties positives de {rate_t}. Des jeunes du groupe "
            "de comparaison au profil comparable (mêmes caractéristiques à l'entrée) ont un taux ajusté de "
            "{rate_c}. L'effet estimé de l'E2C sur ses stagiaires est de {effect} points [{low} à {high}]."
        ),
        "caveat": (
            "Cette estimation suppose que les deux groupes ne diffèrent que par les caractéristiques prises en "
            "compte ({covariates}). Un facteur non observé (motivation, soutien familial…) pourrait la "
            "biaiser : il faudrait qu'il soit associé à l'entrée en E2C et aux sorties positives par un "
            "rapport de risques d'au moins {ev} pour annuler l'effet estimé."
        ),
    },
    "en": {
        "indicator": "Indicator",
        "value": "Value",
        "effect": "Estimated effect on trainees (percentage points of positive exits)",
        "effect_cont": "Estimated effect on trainees",
        "ci": "{level}% confidence interval",
        "ci_method": "Interval computed by",
        "rate_t": "Positive-exit rate of E2C trainees",
        "rate_c": "Estimated rate of the same young people without the E2C",
        "naive": "Raw difference (unadjusted)",
        "n_t": "E2C trainees analysed",
        "n_c": "Comparison-group young people analysed",
        "ess": "Effective size of the weighted comparison group",
        "method": "Method",
        "smd": "Largest standardised difference (before → after adjustment)",
        "methods": {
            "aipw": "Doubly robust (AIPW)",
            "ipw": "Propensity-score weighting",
            "matching": "Propensity-score matching",
        },
        "covariate": "Characteristic",
        "mean_t": "E2C",
        "mean_c": "Comparison (raw)",
        "mean_cw": "Comparison (adjusted)",
        "smd_b": "Standardised difference before",
        "smd_a": "Standardised difference after",
        "measure": "Measure",
        "ev": "E-value of the estimate",
        "ev_ci": "E-value of the CI bound nearer 0",
        "gamma": "Rosenbaum Γ at which the effect stops being significant",
        "summary": (
            "The E2C trainees analysed have a positive-exit rate of {rate_t}. Comparison-group young people "
            "with a comparable profile (same characteristics at entry) have an adjusted rate of {rate_c}. "
            "The estimated effect of the E2C on its trainees is {effect} points [{low} to {high}]."
        ),
        "caveat": (
            "This estimate assumes the two groups differ only by the characteristics accounted for "
            "({covariates}). An unobserved factor (motivation, family support…) could bias it: it would "
            "need a risk ratio of at least {ev} with both entering an E2C and positive exits to explain the "
            "estimated effect away."
        ),
    },
}


def _ci_method_label(ci_method: str, lang: str) -> str:
    if lang != "fr":
        return ci_method
    return (
        ci_method.replace("influence function", "fonction d'influence")
        .replace("percentile", "percentiles")
        .replace("B=", "B\u00a0=\u00a0")
    )


def impact_section(
    data,
    covariates=None,
    *,
    treatment: str = "treated",
    outcome: str = "outcome",
    method: str = "aipw",
    by: str | None = None,
    lang: str = "fr",
    min_cell: int = DEFAULT_MIN_CELL,
    figures: bool = True,
    **kwargs,
) -> dict:
    """Everything the impact section of a report or notebook shows, ready to display.

    Parameters
    ----------
    data : ImpactFrame or DataFrame
        A :func:`load_impact_frame` result, or an analysis frame with the
        ``treatment`` and ``outcome`` columns.
    covariates : list of str, optional
        Defaults to ``data.covariates`` for an ImpactFrame.
    method : str
        Estimator (see :func:`estimate_att`); other keyword arguments go to it.
    by : str, optional
        Also estimate the effect within each level of this column (e.g. ``"region"``).
    lang : {"fr", "en"}
    min_cell : int
        Below this many treated units or controls, no estimate is produced.
    figures : bool
        Draw the figures (love plot, overlap, effects by subgroup when ``by``).

    Returns
    -------
    dict
        ``result`` (ATTResult), ``summary`` (display table: indicator, value),
        ``balance`` (display table, one row per covariate level),
        ``sensitivity`` (display table), ``by`` (tidy table of
        :func:`estimate_att_by`, or None), ``figures`` (dict of
        ``love``, ``overlap``, ``effects`` figures), ``text`` (a summary
        sentence and the caveat, in ``lang``).

    Raises
    ------
    ModelError
        Fewer than ``min_cell`` treated units or controls, or models that cannot be fitted.
    """
    text = _SECTION_TEXT[lang] if lang in _SECTION_TEXT else None
    if text is None:
        raise E2CError(f"Langue inconnue : {lang!r}. Langues disponibles : 'fr', 'en'.")
    if isinstance(data, ImpactFrame):
        covariates = covariates or data.covariates
        frame = data.analysis_data()
    else:
        frame = data
        if covariates is None:
            raise InputError("impact_section : indiquez les covariables (ou passez un ImpactFrame).")
    if treatment in frame.columns:  # cheap check first: no model fit for a group far too small
        counts = (
            frame.loc[frame[outcome].notna(), treatment].astype(float).value_counts()
            if outcome in frame.columns
            else pd.Series(dtype=float)
        )
        if min(counts.get(1.0, 0), counts.get(0.0, 0)) < min_cell:
            raise ModelError(f"Moins de {min_cell} stagiaires ou jeunes de comparaison : pas d'estimation publiable.")
    res = estimate_att(frame, treatment, outcome, covariates, method=method, **kwargs)
    if min(res.n_treated, res.n_control) < min_cell:
        raise ModelError(f"Moins de {min_cell} stagiaires ou jeunes de comparaison : pas d'estimation publiable.")
    binary = res.outcome_type == "binary"
    scale = 100.0 if binary else 1.0

    def signed(v):
        s = fmt_number(v * scale, lang, 1)
        return ("+" + s) if v > 0 else s

    level = fmt_int(res.level * 100, lang)
    rows = [
        (text["effect"] if binary else text["effect_cont"], signed(res.estimate)),
        (
            text["ci"].format(level=level),
            f"{signed(res.ci_low)} à {signed(res.ci_high)}"
            if lang == "fr"
            else f"{signed(res.ci_low)} to {signed(res.ci_high)}",
        ),
        (text["ci_method"], _ci_method_label(res.ci_method, lang)),
    ]
    if binary:
        rows += [
            (text["rate_t"], fmt_pct(res.mean_treated, lang)),
            (text["rate_c"], fmt_pct(res.mean_control_counterfactual, lang)),
        ]
    rows += [
        (text["naive"], signed(res.naive)),
        (text["n_t"], fmt_int(res.n_treated, lang)),
        (text["n_c"], fmt_int(res.n_control, lang)),
        (text["ess"], fmt_int(res.ess_control, lang)),
        (text["method"], text["methods"][res.method]),
        (
            text["smd"],
            f"{fmt_number(res.balance['smd_before'].abs().max(), lang, 2)} → "
            f"{fmt_number(res.balance['smd_after'].abs().max(), lang, 2)}",
        ),
    ]
    summary = pd.DataFrame(rows, columns=[text["indicator"], text["value"]])

    bal = res.balance
    balance = pd.DataFrame(
        {
            text["covariate"]: [covariate_label(str(c), lang) for c in bal.index],
            text["mean_t"]: fmt_number(bal["mean_treated"], lang, 2).to_numpy(),
            text["mean_c"]: fmt_number(bal["mean_control"], lang, 2).to_numpy(),
            text["mean_cw"]: fmt_number(bal["mean_control_weighted"], lang, 2).to_numpy(),
            text["smd_b"]: fmt_number(bal["smd_before"], lang, 2).to_numpy(),
            text["smd_a"]: fmt_number(bal["smd_after"], lang, 2).to_numpy(),
        }
    )
    sens = res.sensitivity()
    srows = [
        (text["ev"], fmt_number(sens.e_value["e_value"], lang, 2)),
        (text["ev_ci"], fmt_number(sens.e_value["e_value_ci"], lang, 2)),
    ]
    if sens.rosenbaum is not None:
        srows.append((text["gamma"], fmt_number(sens.rosenbaum.gamma_critical, lang, 2)))
    sensitivity = pd.DataFrame(srows, columns=[text["measure"], text["value"]])

    by_table = (
        estimate_att_by(frame, by, treatment, outcome, covariates, method=method, min_cell=min_cell, **kwargs)
        if by
        else None
    )
    figs = {}
    if figures:
        figs["love"] = love_plot(res, lang=lang)
        figs["overlap"] = overlap_plot(res, lang=lang)
        if by_table is not None:
            title = (
                f"Effet estimé sur les stagiaires, par {column_label(by, 'fr').lower()}"
                if lang == "fr"
                else f"Estimated effect on trainees, by {column_label(by, 'en').lower()}"
            )
            figs["effects"] = effects_plot(
                by_table,
                overall=res,
                lang=lang,
                percent=binary,
                title=title,
                label_column=by if by in ("region", "sex", "education_level") else None,
            )
    rate = (lambda v: fmt_pct(v, lang)) if binary else (lambda v: fmt_number(v, lang, 1))
    paragraph = text["summary"].format(
        rate_t=rate(res.mean_treated),
        rate_c=rate(res.mean_control_counterfactual),
        effect=signed(res.estimate),
        low=signed(res.ci_low),
        high=signed(res.ci_high),
    )
    names = [column_label(c, lang) for c in covariates]
    names = [n[0].lower() + n[1:] if len(n) > 1 and n[1].islower() else n for n in names]  # keep QPV, RQTH
    caveat = text["caveat"].format(covariates=", ".join(names), ev=fmt_number(sens.e_value["e_value"], lang, 2))
    return {
        "result": res,
        "summary": summary,
        "balance": balance,
        "sensitivity": sensitivity,
        "by": by_table,
        "figures": figs,
        "text": [paragraph, caveat],
    }
