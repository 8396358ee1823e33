"""A region page's glossary, as content: each word the page's labels use, defined once in plain French.

The labels of the tables use these words with one meaning each: "sorties à l’issue connue" is the
denominator of every rate; "situation connue" the denominator of the exit-mix shares.
"""

from __future__ import annotations

from ..i18n import N_
from .content import Code, Definitions, Heading, Msg, Section

__all__ = ["glossary_section", "GLOSSARY"]

GLOSSARY = [
    (
        N_("Stagiaires entrés"),
        N_("Jeunes entrés en parcours pendant la période du rapport, qu’ils en soient sortis ou non."),
    ),
    (
        N_("Sorties"),
        N_("Stagiaires entrés pendant la période dont le parcours est terminé, quel qu’en soit le motif."),
    ),
    (
        N_("Situation à la sortie connue"),
        N_(
            "Sorties dont la situation (emploi, alternance, formation, autre) est renseignée : c’est la base des parts "
            "du tableau « Situation à la sortie »."
        ),
    ),
    (
        N_("Sorties à l’issue connue"),
        N_(
            "Sorties dont on sait si elles sont positives ou non : c’est la base de tous les taux de sorties "
            "positives. Une sortie peut avoir une situation connue et une issue inconnue (un emploi dont la durée "
            "n’est pas renseignée, par exemple) : elle compte alors dans les parts par situation, pas dans les taux."
        ),
    ),
    (N_("Sortie positive"), None),  # the definition the batch used, filled in below
    (
        N_("Taux de sorties positives (taux brut)"),
        N_(
            "Sorties positives divisées par les sorties à l’issue connue, sans tenir compte du profil des jeunes "
            "accueillis."
        ),
    ),
    (
        N_("IC 95 %"),
        N_(
            "Intervalle de confiance à 95 % : la marge d’incertitude due au hasard (d’autres jeunes, dans les mêmes "
            "conditions, auraient donné un taux un peu différent). Quand les intervalles de deux taux se recoupent, "
            "on ne peut pas dire que l’un est plus élevé que l’autre."
        ),
    ),
    (
        N_("O/A (observé / attendu)"),
        N_(
            "Sorties positives observées divisées par celles qu’on attendrait, au niveau national, de jeunes ayant "
            "le même profil à l’entrée (sexe, âge, niveau de formation, QPV, handicap, nationalité, année). 1 : "
            "comme le pays à public égal ; 1,10 : 10 % de sorties positives de plus que l’attendu."
        ),
    ),
    (
        N_("Limites à 95 %, « dans la norme »"),
        N_(
            "Plage autour de 1 que le hasard et la variation habituelle entre sites (ou entre régions) suffisent à "
            "expliquer. Un O/A dans cette plage est « dans la norme » ; hors de cette plage, il est « au-dessus » ou "
            "« en dessous de l’attendu »."
        ),
    ),
    (
        N_("Variation habituelle entre unités (τ²)"),
        N_(
            "Même à profil égal, les sites et les régions diffèrent un peu, pour des raisons que les données ne "
            "mesurent pas (marché du travail local, partenaires…). Les limites l’ajoutent au hasard (on parle d’« "
            "effet aléatoire additif ») ; sa taille, estimée sur les données, est notée τ² (tau au carré)."
        ),
    ),
    (
        N_("CITE"),
        N_(
            "Classification internationale type de l’éducation, utilisée par les indicateurs FSE+ : niveaux 0 à 2, "
            "pas de diplôme au-delà du brevet ; 3 et 4, CAP, BEP ou baccalauréat ; 5 à 8, études supérieures."
        ),
    ),
]
IMPACT_TERMS = [
    (
        N_("AIPW (pondération augmentée)"),
        N_(
            "Méthode d’estimation de l’effet qui combine un modèle de la probabilité d’être stagiaire et un "
            "modèle de la sortie positive : l’estimation reste correcte si l’un des deux est juste."
        ),
    ),
    (
        N_("Écart standardisé"),
        N_(
            "Différence entre les deux groupes sur une caractéristique, en écarts-types ; au-delà de 0,1 après "
            "ajustement, les groupes restent mal comparables sur ce point."
        ),
    ),
    (
        N_("Valeur E"),
        N_(
            "Force qu’aurait dû avoir un facteur non mesuré, lié à la fois à l’entrée en E2C et à la sortie "
            "positive, pour expliquer à lui seul l’effet estimé (ou la borne de son intervalle) ; plus elle est "
            "proche de 1, plus le résultat est fragile."
        ),
    ),
    (
        N_("Fonction d’influence"),
        N_(
            "La contribution de chaque personne à l’estimation ; elle sert à calculer l’intervalle de confiance "
            "de l’effet."
        ),
    ),
    (
        N_("Taille effective"),
        N_(
            "Dans une comparaison pondérée, le nombre de personnes que le groupe « vaut » réellement : des poids très "
            "inégaux la rendent bien plus petite que le nombre de personnes, et l’estimation moins précise."
        ),
    ),
]


def glossary_section(ctx) -> Section:
    """The glossary of a region page (the impact section's words only when it is there)."""
    terms = GLOSSARY + (IMPACT_TERMS if getattr(ctx, "comparison", False) else [])
    items = []
    for term, text in terms:
        if text is None:  # the positive exit: the definition of this batch
            definition = Msg(
                N_("Au sens de la définition retenue pour ce rapport : {label} (détails dans « Méthodes »)."),
                {"label": Code("__definition__", ctx.national.definition)},
            )
            items.append((Msg(term), definition))
        else:
            items.append((Msg(term), Msg(text)))
    from .region_content import SECTION_TITLES

    return Section("glossary", [Heading(SECTION_TITLES["glossary"], "glossary"), Definitions(items)])
