"""The fixed, fictitious network: 13 regions, 55 schools, 156 sites (towns), with the share of the
national intake of each region."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import pandas as pd

__all__ = ["network_geography"]

_GEOGRAPHY = """
Auvergne-Rhône-Alpes | E2C Grand Clermont | Auvergne | Clermont-Ferrand, Vichy, Thiers, Issoire
Auvergne-Rhône-Alpes | E2C Lyon Métropole | Rhône-Alpes | Lyon, Vénissieux, Villeurbanne, Vaulx-en-Velin
Auvergne-Rhône-Alpes | E2C Loire Forez | Rhône-Alpes | Saint-Étienne, Roanne, Firminy
Auvergne-Rhône-Alpes | E2C Isère Dauphiné | Rhône-Alpes | Grenoble, Vienne, Voiron
Auvergne-Rhône-Alpes | E2C Savoie Léman | Rhône-Alpes | Chambéry, Annecy
Auvergne-Rhône-Alpes | E2C Drôme Ardèche | Rhône-Alpes | Valence, Montélimar
Bourgogne-Franche-Comté | E2C Bourgogne Nord | Bourgogne | Dijon, Auxerre, Sens
Bourgogne-Franche-Comté | E2C Doubs Territoire | Franche-Comté | Besançon, Montbéliard, Belfort
Bourgogne-Franche-Comté | E2C Saône Mâconnais | Bourgogne | Chalon-sur-Saône, Mâcon
Bretagne | E2C Haute-Bretagne | | Rennes, Saint-Brieuc, Saint-Malo
Bretagne | E2C Finistère Iroise | | Brest, Quimper
Centre-Val de Loire | E2C Orléanais | Centre | Orléans, Blois, Montargis
Centre-Val de Loire | E2C Touraine Berry | Centre | Tours, Bourges, Châteauroux
Centre-Val de Loire | E2C Eure-et-Loir | Centre | Chartres, Dreux
Grand Est | E2C Alsace Rhin | Alsace | Strasbourg, Mulhouse, Colmar
Grand Est | E2C Moselle Nord | Lorraine | Metz, Thionville, Forbach
Grand Est | E2C Lorraine Sud | Lorraine | Nancy, Épinal
Grand Est | E2C Champagne Ardenne | Champagne-Ardenne | Reims, Troyes, Charleville-Mézières
Grand Est | E2C Meuse Haute-Marne | Lorraine | Verdun, Saint-Dizier, Chaumont
Hauts-de-France | E2C Grand Lille | Nord-Pas-de-Calais | Lille, Roubaix, Tourcoing, Villeneuve-d'Ascq
Hauts-de-France | E2C Artois Gohelle | Nord-Pas-de-Calais | Lens, Béthune, Arras
Hauts-de-France | E2C Côte d'Opale | Nord-Pas-de-Calais | Calais, Boulogne-sur-Mer, Dunkerque
Hauts-de-France | E2C Hainaut Sambre | Nord-Pas-de-Calais | Valenciennes, Maubeuge, Denain
Hauts-de-France | E2C Somme Picardie | Picardie | Amiens, Abbeville
Hauts-de-France | E2C Oise Vallées | Picardie | Beauvais, Creil, Compiègne
Hauts-de-France | E2C Aisne Thiérache | Picardie | Saint-Quentin, Soissons
Île-de-France | E2C Paris Nord-Est | | Paris 19e, Paris 13e, Paris 18e
Île-de-France | E2C Seine-Saint-Denis Avenir | | Saint-Denis, Clichy-sous-Bois, Bobigny, Aubervilliers
Île-de-France | E2C Val-de-Marne Bords de Seine | | Créteil, Champigny-sur-Marne, Vitry-sur-Seine
Île-de-France | E2C Essonne Centre | | Évry-Courcouronnes, Grigny, Massy
Île-de-France | E2C Yvelines Seine Aval | | Mantes-la-Jolie, Trappes, Les Mureaux
Île-de-France | E2C Val-d'Oise Cergy | | Cergy, Sarcelles, Argenteuil
Île-de-France | E2C Seine-et-Marne Brie | | Meaux, Melun, Torcy
Normandie | E2C Vallée de Seine | Haute-Normandie | Rouen, Le Havre, Évreux
Normandie | E2C Calvados Pays d'Auge | Basse-Normandie | Caen, Lisieux
Normandie | E2C Cotentin Bocage | Basse-Normandie | Cherbourg-en-Cotentin, Alençon, Saint-Lô
Nouvelle-Aquitaine | E2C Gironde Estuaire | Aquitaine | Bordeaux, Libourne, Lormont
Nouvelle-Aquitaine | E2C Limousin Vienne | Limousin | Limoges, Brive-la-Gaillarde
Nouvelle-Aquitaine | E2C Poitou Marais | Poitou-Charentes | Poitiers, Châtellerault, Niort
Nouvelle-Aquitaine | E2C Charentes Océan | Poitou-Charentes | Angoulême, La Rochelle
Nouvelle-Aquitaine | E2C Adour Béarn | Aquitaine | Pau, Bayonne, Mont-de-Marsan
Occitanie | E2C Toulouse Garonne | Midi-Pyrénées | Toulouse, Colomiers
Occitanie | E2C Hérault Littoral | Languedoc-Roussillon | Montpellier, Béziers, Sète
Occitanie | E2C Gard Cévennes | Languedoc-Roussillon | Nîmes, Alès
Occitanie | E2C Pyrénées Méditerranée | Languedoc-Roussillon | Perpignan, Narbonne, Carcassonne
Occitanie | E2C Quercy Tarn Bigorre | Midi-Pyrénées | Montauban, Albi, Tarbes, Rodez
Pays de la Loire | E2C Estuaire de la Loire | | Nantes, Saint-Nazaire, Rezé
Pays de la Loire | E2C Maine Mayenne | | Le Mans, Laval
Pays de la Loire | E2C Anjou Vendée | | Angers, Cholet, La Roche-sur-Yon
Provence-Alpes-Côte d'Azur | E2C Marseille Provence | | Marseille 3e, Marseille 14e, Marseille 15e, Aubagne
Provence-Alpes-Côte d'Azur | E2C Var Méditerranée | | Toulon, La Seyne-sur-Mer, Draguignan
Provence-Alpes-Côte d'Azur | E2C Riviera Côte d'Azur | | Nice, Cannes, Grasse
Provence-Alpes-Côte d'Azur | E2C Vaucluse Ventoux | | Avignon, Carpentras
Provence-Alpes-Côte d'Azur | E2C Pays d'Arles Crau | | Arles, Salon-de-Provence
La Réunion | E2C Réunion Océan Indien | | Saint-Denis, Le Port, Saint-Pierre, Saint-Benoît
"""

# Share of trainees by region (sums to 1): larger where the network is larger.
_REGION_SHARES = {
    "Auvergne-Rhône-Alpes": 0.11,
    "Bourgogne-Franche-Comté": 0.04,
    "Bretagne": 0.03,
    "Centre-Val de Loire": 0.04,
    "Grand Est": 0.09,
    "Hauts-de-France": 0.13,
    "Île-de-France": 0.14,
    "Normandie": 0.05,
    "Nouvelle-Aquitaine": 0.08,
    "Occitanie": 0.10,
    "Pays de la Loire": 0.04,
    "Provence-Alpes-Côte d'Azur": 0.10,
    "La Réunion": 0.05,
}


def _strip_accents(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _of_town(town: str) -> str:
    """'de Vichy', "d'Issoire", 'du Havre', 'des Mureaux' (French elision and contraction)."""
    if town.startswith("Le "):
        return "du " + town[3:]
    if town.startswith("Les "):
        return "des " + town[4:]
    if _strip_accents(town[0]).upper() in "AEIOUY":
        return "d'" + town
    return "de " + town


def _site_label(school: str, town: str) -> str:
    """'E2C Grand Clermont – site de Vichy'."""
    return f"{school} – site {_of_town(town)}"


@lru_cache(maxsize=1)
def network_geography() -> pd.DataFrame:
    """The fixed fictitious network, one row per site.

    Returns
    -------
    DataFrame
        ``region`` (official 2016 name), ``former_region`` (pre-2016 region of
        the school, '' when the region was not merged), ``school``, ``site``
        (``"<school> – site de <town>"``), ``town``, ``main_site`` (first site
        of the school), ``school_index``, ``region_share`` (share of the
        national intake).
    """
    records = []
    for school_index, line in enumerate(ln for ln in _GEOGRAPHY.strip().splitlines() if ln.strip()):
        region, school, former, towns = (part.strip() for part in line.split("|"))
        for k, town in enumerate(t.strip() for t in towns.split(",")):
            records.append((region, former, school, _site_label(school, town), town, k == 0, school_index))
    geo = pd.DataFrame(
        records, columns=["region", "former_region", "school", "site", "town", "main_site", "school_index"]
    )
    geo["region_share"] = geo["region"].map(_REGION_SHARES)
    return geo


# --------------------------------------------------------------------------
# Small vectorised helpers
