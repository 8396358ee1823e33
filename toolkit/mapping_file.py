"""The mapping file's additions for real exports, and where a mapping is found.

Keys added to the YAML format of :mod:`toolkit.io` (French or English)::

    ligne_entete: 3                 # XLSX: the header is on row 3 (title rows above); detected when absent
    situations:                     # two-table export: the situations table
      fichier: situations.csv       # a second file, relative to the mapping file ...
      feuille: Situations           # ... or a sheet of the export's own workbook (or of that file)
      ligne_entete: 1               # optional, as above
      colonnes:                     # their header: situation column
        NUM_JEUNE: id_stagiaire
        LIB_SITUATION: type_situation
        DT_DEBUT: date_debut_situation
        DT_FIN: date_fin_situation
        DT_CONFIRM: date_suivi

The situation labels are mapped with ``valeurs: motif_sortie`` (a situation
type is an exit-reason label). A mapping beside the export, named
``<export name without suffix>.mapping.yml``, is found by
:func:`mapping_beside` (the command line uses it and says so).
"""

from __future__ import annotations

from pathlib import Path

from .errors import InputError, SchemaError
from .i18n import _
from .schema import RAW_BY_NAME, SITUATION_COLUMNS, normalise_key

__all__ = [
    "check_mapping_extra",
    "closest_headers_text",
    "mapping_beside",
    "suggestion_text",
    "ignored_lines",
    "SUGGESTED_AT_MOST",
    "MAPPING_SUFFIX",
]

SUGGESTED_AT_MOST = 100  # ignored columns given a suggested match (an export with more is not a mapping case)

MAPPING_SUFFIX = ".mapping.yml"
_SITUATION_NAMES = {c.name for c in SITUATION_COLUMNS}
_BLOCK_KEYS = {
    "fichier": "fichier",
    "file": "fichier",
    "feuille": "feuille",
    "sheet": "feuille",
    "ligneentete": "ligne_entete",
    "headerrow": "ligne_entete",
    "colonnes": "colonnes",
    "columns": "colonnes",
}


def _row(content, name: str, where: str) -> int:
    try:
        row = int(content)
    except (TypeError, ValueError):
        row = 0
    if row < 1:
        raise InputError(_("{name} : « {where} » doit être un numéro de ligne (1, 2, ...).", name=name, where=where))
    return row


def check_mapping_extra(key: str, content, name: str, base: Path | None):
    """Checked value of ``ligne_entete`` (an int) or of the ``situations`` block (a dict)."""
    if key == "header_row":
        return _row(content, name, "ligne_entete")
    if not isinstance(content, dict):
        raise InputError(
            _("{name} : « situations » doit décrire le tableau des situations (fichier, feuille, colonnes).", name=name)
        )
    block: dict = {"_base": str(base) if base is not None else None, "colonnes": {}}
    for raw_key, value in content.items():
        k = _BLOCK_KEYS.get(normalise_key(raw_key))
        if k is None:
            allowed = "fichier, feuille, ligne_entete, colonnes"
            raise InputError(
                _(
                    "{name} : clé inconnue « {key} » dans « situations » (clés possibles : {allowed}).",
                    name=name,
                    key=raw_key,
                    allowed=allowed,
                )
            )
        if k == "colonnes":
            if not isinstance(value, dict):
                raise InputError(
                    _("{name} : « situations : colonnes » doit associer chaque en-tête à une colonne.", name=name)
                )
            for header, target in value.items():
                if str(target) not in _SITUATION_NAMES:
                    raise SchemaError(
                        _(
                            "{name} : situations, « {header} » : colonne inconnue « {target} » (colonnes "
                            "possibles : {known}).",
                            name=name,
                            header=header,
                            target=target,
                            known=", ".join(sorted(_SITUATION_NAMES)),
                        )
                    )
                block["colonnes"][str(header)] = str(target)
        elif k == "ligne_entete":
            block[k] = _row(value, name, "situations : ligne_entete")
        else:
            block[k] = value
    if not block.get("fichier") and block.get("feuille") is None:
        raise InputError(_("{name} : « situations » doit nommer un « fichier » ou une « feuille ».", name=name))
    return block


def suggestion_text(header: str) -> str:
    """`` (ressemble à « col » : ...)`` for an ignored header that resembles a contract column, else ""."""
    from .mapping_match import suggest

    column, _score = suggest(header, list(RAW_BY_NAME))
    if column is None:
        return ""
    return _(
        " (ressemble à « {column} » : ajoutez « {header}: {column} » sous « colonnes » dans le fichier de "
        "correspondance, ou lancez « e2c map »)",
        column=column,
        header=header,
    )


def ignored_lines(ignored: list[str], label: str) -> list[str]:
    """One line per ignored column with the contract column it resembles (the first SUGGESTED_AT_MOST)."""
    lines = [f"{label} : {c}{suggestion_text(c)}" for c in ignored[:SUGGESTED_AT_MOST]]
    if len(ignored) > SUGGESTED_AT_MOST:
        lines.append(_("… et {n} autre(s) colonne(s) ignorée(s)", n=len(ignored) - SUGGESTED_AT_MOST))
    return lines


def closest_headers_text(missing: list[str], extras: list[str], name: str) -> str:
    """Sentence for a missing-column error: the closest headers found, and the command that proposes a mapping."""
    from .mapping_match import name_score

    parts = []
    for column in missing:
        scored = sorted(((name_score(h, column)[0], h) for h in extras), reverse=True)
        close = [f"« {h} »" for s, h in scored[:2] if s >= 0.4]
        if close:
            parts.append(_("{column} : peut-être {headers}", column=column, headers=_(" ou ").join(close)))
    found = (" " + _("En-têtes les plus proches : {parts}.", parts=" ; ".join(parts))) if parts else ""
    return found + " " + _("Lancez « e2c map {name} » pour proposer une correspondance.", name=name)


def mapping_beside(path) -> Path | None:
    """``<export>.mapping.yml`` (or ``.yaml``) beside an export file, when it exists."""
    if path is None:
        return None
    path = Path(path)
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    for suffix in (MAPPING_SUFFIX, ".mapping.yaml"):
        candidate = path.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    return None
