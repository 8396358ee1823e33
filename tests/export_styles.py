"""Exports in the styles of three schools' information systems, with the truth the generator knows
(helper module for the mapping and end-to-end tests, not a test file).

* ``style_codes``: CSV in Windows-1252, ``;``, upper-case coded headers (``NUM_JEUNE``, ``DT_ENTREE``,
  ``LIB_SITUATION``), INSEE region codes, INSEE sex codes 1/2, old level codes (``Niv. VI`` ...),
  coded situation labels (``CDI_TP``, ``APPRENTI_BTP``, ``FORM_CERTIF``), a comment column and a
  name column (a direct identifier).
* ``style_titled``: XLSX with title rows above the header, a total row below, French headers as a
  school writes them (``N° stagiaire``, ``Genre``, ``Situation à la sortie``), civilités, labels with
  free-text noise (``cdi - vente``, ``Contrat de pro``, ``Entrée en formation AFPA``), and labels no
  rule may classify (``Promesse d'embauche``: their truth is "unknown").
* ``style_two_tables``: a parcours CSV without exit reason and a situations CSV (0 to 3 situations per
  trainee, some before the 28-day window, some after 12 months, some for unknown trainees, some
  duplicated, some with dates out of order).

The truth: ``columns`` {header: contract column}, ``labels`` {(column, label): code}, and per trainee
the positive exit under the ``projet`` definition (job, work-study or training lasting more than 2
calendar months), computed here with ``pandas.DateOffset``, independently of the toolkit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

REGIONS = {"Bretagne": ("53", "E2C Rennes"), "Occitanie": ("76", "E2C Toulouse"), "Grand Est": ("44", "E2C Metz")}
REFERENCE = pd.Timestamp("2025-06-30")
POSITIVE_TYPES = {
    "cdi",
    "cdd",
    "interim",
    "contrat_aide",
    "apprentissage",
    "contrat_professionnalisation",
    "formation_qualifiante",
    "formation_prequalifiante",
}
REASONS = [
    "cdi",
    "cdd",
    "interim",
    "contrat_aide",
    "apprentissage",
    "contrat_professionnalisation",
    "formation_qualifiante",
    "formation_prequalifiante",
    "recherche_emploi",
    "abandon",
    "sans_solution",
    "inconnu",
]
PROBS = [0.12, 0.1, 0.06, 0.05, 0.08, 0.05, 0.1, 0.06, 0.14, 0.12, 0.07, 0.05]

# Labels per style: code -> variants (the truth of label classification).
CODED_LABELS = {
    "cdi": ["CDI_TP", "CDI_TPART"],
    "cdd": ["CDD_TP", "CDD"],
    "interim": ["INTERIM"],
    "contrat_aide": ["PEC", "CT_AIDE"],
    "apprentissage": ["APPRENTI_BTP", "APPRENTI"],
    "contrat_professionnalisation": ["CT_PRO"],
    "formation_qualifiante": ["FORM_CERTIF", "FORM_QUALIF"],
    "formation_prequalifiante": ["FORM_PREQUALIF"],
    "recherche_emploi": ["RECH_EMPLOI", "DEM_EMPLOI"],
    "abandon": ["ABANDON"],
    "sans_solution": ["SANS_SOLUTION"],
    "inconnu": ["NR"],
}
NOISY_LABELS = {
    "cdi": ["Emploi CDI temps plein", "cdi - vente", "C.D.I. (restauration)"],
    "cdd": ["CDD remplacement", "Cdd temps partiel"],
    "interim": ["Mission intérim", "intérim BTP"],
    "contrat_aide": ["PEC 20h", "Contrat aidé (CUI)"],
    "apprentissage": ["Apprentie coiffure", "Contrat d'apprentissage BTP"],
    "contrat_professionnalisation": ["Contrat de pro", "Contrat pro logistique"],
    "formation_qualifiante": ["Entrée en formation AFPA", "Formation certifiante GRETA"],
    "formation_prequalifiante": ["Formation non qualifiante", "Remise à niveau"],
    "recherche_emploi": ["Recherche d'emploi", "En recherche de CDI", "Demandeur d'emploi"],
    "abandon": ["Abandon (raisons perso)", "Démission"],
    "sans_solution": ["Sans solution", "Aucune piste"],
    "inconnu": ["Promesse d'embauche", "Situation à préciser ??"],
}
_NEVER_CLASSIFIED = {"Promesse d'embauche", "Situation à préciser ??"}
OLD_LEVELS = {
    "infra_3": ["Niv. VI", "Niv. V bis"],
    "niveau_3": ["Niv. V"],
    "niveau_4": ["Niv. IV"],
    "niveau_5_plus": ["Niv. III"],
}


@dataclass
class StyledExport:
    """An export written in one style, and the truth about it."""

    style: str
    path: Path
    situations: Path | None
    columns: dict[str, str]  # header: contract column (the truth)
    labels: dict[tuple[str, str], str | None]  # (column, label): code, None when no rule may classify it
    trainees: pd.DataFrame  # per trainee: id, region, exited, positive_exit, positive_exit_follow_up (truth)
    situation_columns: dict[str, str] = field(default_factory=dict)

    def rates(self, column: str = "positive_exit") -> pd.Series:
        """True rate per region over the known outcomes."""
        known = self.trainees[self.trainees[column].notna()]
        return known.groupby("region")[column].mean().astype(float)


def _lasted(start, end, confirm, months: int = 2):
    """Truth of 'lasted more than `months` calendar months': True, False, or None (cannot tell yet)."""
    threshold = start + pd.DateOffset(months=months)
    if pd.notna(end):
        return bool(end > threshold)
    if pd.notna(confirm) and confirm > threshold:
        return True
    return None


def _judge(code: str, start, end, confirm):
    if code == "inconnu":
        return None
    if code not in POSITIVE_TYPES:
        return False
    return _lasted(start, end, confirm)


def _base(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    regions = rng.choice(list(REGIONS), size=n)
    entry = pd.Timestamp("2022-01-03") + pd.to_timedelta(rng.integers(0, 800, n), unit="D")
    stay = rng.integers(120, 300, n)
    exit_date = entry + pd.to_timedelta(stay, unit="D")
    exited = exit_date <= REFERENCE - pd.Timedelta(days=5)
    reason = rng.choice(REASONS, size=n, p=PROBS)
    start = exit_date + pd.to_timedelta(rng.integers(0, 20, n), unit="D")
    long = rng.random(n) < 0.6
    end = start + pd.to_timedelta(np.where(long, rng.integers(100, 300, n), rng.integers(10, 45, n)), unit="D")
    return pd.DataFrame(
        {
            "id": [f"J{seed:02d}{i:05d}" for i in range(n)],
            "region": regions,
            "sex": rng.choice(["F", "M"], size=n),
            "birth_year": rng.integers(1998, 2007, n),
            "level": rng.choice(list(OLD_LEVELS), size=n, p=[0.4, 0.3, 0.2, 0.1]),
            "entry": entry,
            "exit": exit_date.where(exited),
            "reason": np.where(exited, reason, None),
            "start": start.where(exited & (reason != "inconnu")),
            "end": end.where(exited & (reason != "inconnu") & (end <= REFERENCE)),
            "rng_pick": rng.integers(0, 1000, n),
        }
    )


def _single_truth(base: pd.DataFrame) -> pd.DataFrame:
    out = base[["id", "region"]].copy()
    out["exited"] = base["exit"].notna()
    out["positive_exit"] = [
        _judge(r, s, e, pd.NaT) if pd.notna(x) else None
        for r, s, e, x in zip(base["reason"], base["start"], base["end"], base["exit"])
    ]
    out["positive_exit"] = out["positive_exit"].astype("boolean")
    out["positive_exit_follow_up"] = pd.array([pd.NA] * len(out), dtype="boolean")
    return out


def _pick(variants: dict[str, list[str]], codes, picks) -> list[str | None]:
    return [None if c is None else variants[c][p % len(variants[c])] for c, p in zip(codes, picks)]


def _label_truth(column: str, variants: dict[str, list[str]]) -> dict:
    return {(column, v): (None if v in _NEVER_CLASSIFIED else c) for c, vs in variants.items() for v in vs}


def _fmt(dates: pd.Series, fmt: str = "%d/%m/%Y") -> list[str]:
    return ["" if pd.isna(d) else d.strftime(fmt) for d in dates]


def style_codes(directory: Path, n: int = 600, seed: int = 1) -> StyledExport:
    """Coded upper-case headers, INSEE codes, 1/2 sex codes, old level codes, coded labels (CSV cp1252)."""
    b = _base(seed, n)
    frame = pd.DataFrame(
        {
            "NUM_JEUNE": b["id"],
            "CD_REGION": [REGIONS[r][0] for r in b["region"]],
            "LIB_ETAB": [REGIONS[r][1] for r in b["region"]],
            "NOM": [f"Nom{i}" for i in range(n)],
            "CD_SEXE": np.where(b["sex"] == "F", "2", "1"),
            "AN_NAISS": b["birth_year"].astype(str),
            "NIV_FORM": _pick(OLD_LEVELS, b["level"], b["rng_pick"]),
            "DT_ENTREE": _fmt(b["entry"]),
            "DT_SORTIE": _fmt(b["exit"]),
            "LIB_SITUATION": _pick(CODED_LABELS, b["reason"], b["rng_pick"]),
            "DT_DEB_SIT": _fmt(b["start"]),
            "DT_FIN_SIT": _fmt(b["end"]),
            "COMMENTAIRE": ["RAS" if i % 7 else "à revoir" for i in range(n)],
        }
    )
    path = directory / "export_codes.csv"
    frame.to_csv(path, sep=";", index=False, encoding="cp1252")
    columns = {
        "NUM_JEUNE": "id_stagiaire",
        "CD_REGION": "region",
        "LIB_ETAB": "ecole",
        "CD_SEXE": "sexe",
        "AN_NAISS": "annee_naissance",
        "NIV_FORM": "niveau_formation",
        "DT_ENTREE": "date_entree",
        "DT_SORTIE": "date_sortie",
        "LIB_SITUATION": "motif_sortie",
        "DT_DEB_SIT": "date_debut_situation",
        "DT_FIN_SIT": "date_fin_situation",
    }
    labels = _label_truth("motif_sortie", CODED_LABELS) | _label_truth("niveau_formation", OLD_LEVELS)
    return StyledExport("codes", path, None, columns, labels, _single_truth(b))


def style_titled(directory: Path, n: int = 600, seed: int = 2) -> StyledExport:
    """XLSX with title rows and a total row; French headers; civilités; noisy free-text labels."""
    b = _base(seed, n)
    frame = pd.DataFrame(
        {
            "N° stagiaire": b["id"],
            "Région": b["region"].str.upper(),
            "Ecole": [REGIONS[r][1] for r in b["region"]],
            "Genre": np.where(b["sex"] == "F", "Mme", "M."),
            "Année de naissance": b["birth_year"],
            "Niveau scolaire": _pick(OLD_LEVELS, b["level"], b["rng_pick"]),
            "Date d'entrée": b["entry"],
            "Date de sortie": b["exit"],
            "Situation à la sortie": _pick(NOISY_LABELS, b["reason"], b["rng_pick"]),
            "Début de la situation": b["start"],
            "Fin de la situation": b["end"],
        }
    )
    path = directory / "export_titled.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="Export", index=False, startrow=3)
        sheet = writer.sheets["Export"]
        sheet.cell(row=1, column=1, value="Extraction du logiciel de suivi - E2C")
        sheet.cell(row=2, column=1, value=f"Édité le {REFERENCE:%d/%m/%Y}")
        sheet.cell(row=len(frame) + 6, column=1, value=f"Total : {len(frame)} stagiaires")
    columns = {
        "N° stagiaire": "id_stagiaire",
        "Région": "region",
        "Ecole": "ecole",
        "Genre": "sexe",
        "Année de naissance": "annee_naissance",
        "Niveau scolaire": "niveau_formation",
        "Date d'entrée": "date_entree",
        "Date de sortie": "date_sortie",
        "Situation à la sortie": "motif_sortie",
        "Début de la situation": "date_debut_situation",
        "Fin de la situation": "date_fin_situation",
    }
    labels = _label_truth("motif_sortie", NOISY_LABELS) | _label_truth("niveau_formation", OLD_LEVELS)
    labels |= {("sexe", "Mme"): "F", ("sexe", "M."): "M"}
    return StyledExport("titled", path, None, columns, labels, _single_truth(b))


def _situation_rows(b: pd.DataFrame, seed: int) -> pd.DataFrame:
    """0 to 3 situations per exited trainee, with their own truth columns."""
    rng = np.random.default_rng(seed + 100)
    rows = []
    for t in b.itertuples():
        if pd.isna(t.exit) or t.rng_pick % 10 == 0:  # still in the programme, or no situation recorded
            continue
        n_sit = 1 + t.rng_pick % 3
        offsets = sorted(rng.choice([2, 10, 20, 45, 90, 200, 330, 450], size=n_sit, replace=False))
        for offset in offsets:
            code = str(rng.choice(REASONS[:-1], p=np.array(PROBS[:-1]) / sum(PROBS[:-1])))
            start = t.exit + pd.Timedelta(days=int(offset))
            if start > REFERENCE:
                continue
            end = start + pd.Timedelta(days=int(rng.choice([20, 40, 150, 280])))
            confirm = pd.NaT
            if end > REFERENCE or rng.random() < 0.2:  # running: confirmed later (or not at all)
                end = pd.NaT
                confirm = min(REFERENCE, start + pd.Timedelta(days=int(rng.choice([30, 120, 200]))))
            rows.append((t.id, code, start, end, confirm))
    sit = pd.DataFrame(rows, columns=["id", "code", "start", "end", "confirm"])
    sit.loc[sit.index[:1], "confirm"] = REFERENCE  # the latest date of the export: the reference date
    return sit


def _windows_truth(b: pd.DataFrame, sit: pd.DataFrame) -> pd.DataFrame:
    out = b[["id", "region"]].copy()
    out["exited"] = b["exit"].notna()
    by_id = {k: g for k, g in sit.groupby("id")}
    immediate, follow = [], []
    for t in b.itertuples():
        if pd.isna(t.exit):
            immediate.append(None)
            follow.append(None)
            continue
        g = by_id.get(t.id)
        results = []
        for limit in (t.exit + pd.Timedelta(days=28), t.exit + pd.DateOffset(months=12)):
            inside = (
                []
                if g is None
                else [_judge(r.code, r.start, r.end, r.confirm) for r in g.itertuples() if r.start <= limit]
            )
            if True in inside:
                results.append(True)
            elif None in inside or limit > REFERENCE or g is None:
                results.append(None)
            else:
                results.append(False)
        immediate.append(results[0])
        follow.append(results[1])
    out["positive_exit"] = pd.array(immediate, dtype="boolean")
    out["positive_exit_follow_up"] = pd.array(follow, dtype="boolean")
    return out


def style_two_tables(directory: Path, n: int = 600, seed: int = 3) -> StyledExport:
    """Parcours CSV without exit reason + situations CSV (noisy labels, rows to reject)."""
    b = _base(seed, n)
    parcours = pd.DataFrame(
        {
            "ID_BENEF": b["id"],
            "REGION": b["region"],
            "STRUCTURE": [REGIONS[r][1] for r in b["region"]],
            "SEXE": b["sex"],
            "ANNEE_NAISSANCE": b["birth_year"].astype(str),
            "NIVEAU": _pick(OLD_LEVELS, b["level"], b["rng_pick"]),
            "DATE_ENTREE": _fmt(b["entry"]),
            "DATE_SORTIE": _fmt(b["exit"]),
        }
    )
    sit = _situation_rows(b, seed)
    truth = _windows_truth(b, sit)
    labels = [NOISY_LABELS[c][i % len(NOISY_LABELS[c])] for i, c in enumerate(sit["code"])]
    table = pd.DataFrame(
        {
            "ID_BENEF": sit["id"],
            "LIB_SITUATION": labels,
            "DT_DEBUT": _fmt(sit["start"]),
            "DT_FIN": _fmt(sit["end"]),
            "DT_CONFIRMATION": _fmt(sit["confirm"]),
        }
    )
    bad = pd.DataFrame(
        {
            "ID_BENEF": ["INCONNU1", b["id"].iloc[0], table["ID_BENEF"].iloc[0]],
            "LIB_SITUATION": ["CDI", "CDI", table["LIB_SITUATION"].iloc[0]],
            "DT_DEBUT": ["01/03/2024", "10/03/2024", table["DT_DEBUT"].iloc[0]],
            "DT_FIN": ["", "01/03/2024", table["DT_FIN"].iloc[0]],
            "DT_CONFIRMATION": ["", "", table["DT_CONFIRMATION"].iloc[0]],
        }
    )
    table = pd.concat([table, bad], ignore_index=True)  # unknown trainee, dates out of order, duplicate
    path, sit_path = directory / "parcours.csv", directory / "situations.csv"
    parcours.to_csv(path, sep=";", index=False, encoding="utf-8")
    table.to_csv(sit_path, sep=";", index=False, encoding="utf-8")
    columns = {
        "ID_BENEF": "id_stagiaire",
        "REGION": "region",
        "STRUCTURE": "ecole",
        "SEXE": "sexe",
        "ANNEE_NAISSANCE": "annee_naissance",
        "NIVEAU": "niveau_formation",
        "DATE_ENTREE": "date_entree",
        "DATE_SORTIE": "date_sortie",
    }
    sit_columns = {
        "ID_BENEF": "id_stagiaire",
        "LIB_SITUATION": "type_situation",
        "DT_DEBUT": "date_debut_situation",
        "DT_FIN": "date_fin_situation",
        "DT_CONFIRMATION": "date_suivi",
    }
    used_labels = set(labels) | {"CDI"}
    label_truth = {k: v for k, v in _label_truth("motif_sortie", NOISY_LABELS).items() if k[1] in used_labels}
    label_truth |= _label_truth("niveau_formation", OLD_LEVELS)
    return StyledExport("two_tables", path, sit_path, columns, label_truth, truth, sit_columns)


STYLES = (style_codes, style_titled, style_two_tables)
