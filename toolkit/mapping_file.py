"""The mapping file: a school's YAML description of its own headers and labels, read and checked.

Mapping file
------------
A school whose export uses its own headers or labels describes them in a
YAML file (``mapping=`` path, or the same structure as a dict); no code is
needed. Example (``data/raw/mapping_example.yml``)::

    # Export of the E2C Exemple school
    colonnes:                          # their header: contract column
      N° dossier: id_stagiaire
      Date d'arrivée: date_entree
      Situation à la sortie: motif_sortie
    valeurs:                           # contract column: {their label: contract label or code}
      motif_sortie:
        Emploi CDI temps plein: CDI
        PEC 20h: contrat_aide
      niveau_formation:
        Sortie de 3e: infra_3
      ecole:
        E2C Exemple - siège: E2C Exemple
    separateur: ";"                    # optional: force the CSV separator
    encodage: cp1252                   # optional: force the CSV encoding
    feuille: Stagiaires                # optional: XLSX sheet name (default: the first)

* ``colonnes`` maps a header of the file (matched like contract headers,
  ignoring case, accents and punctuation) to a contract column name
  (``id_stagiaire``, ``date_entree``, ...; the canonical English name such as
  ``entry_date`` is accepted too). It takes precedence over the built-in
  header variants.
* ``valeurs`` maps labels of a coded column (``region``, ``sexe``,
  ``niveau_formation``, booleans, ``nationalite``, ``prescripteur``,
  ``motif_sortie``, ``groupe``) onto a label the contract already knows or a
  canonical code (``cdi``, ``niveau_3``, ``oui``...); for the free-text columns
  ``ecole`` and ``site`` it renames a value. Their labels are matched ignoring
  case, accents and punctuation. The cleaning step applies them.
* English keys (``columns``, ``values``, ``separator``, ``encoding``,
  ``sheet``) are accepted too. Any other key is an error, so that a typo does
  not go unnoticed.


Keys for real exports (French or English)::

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

import os
from dataclasses import dataclass, field
from pathlib import Path

from .csvfile import SEPARATORS
from .errors import InputError, SchemaError, unreadable_file
from .i18n import _
from .schema import (
    CODED_COLUMNS,
    RAW_BY_NAME,
    RAW_COLUMNS,
    RAW_HEADER_ALIASES,
    SITUATION_COLUMNS,
    label_table,
    normalise_key,
)

__all__ = [
    "ExportMapping",
    "load_mapping",
    "check_mapping_extra",
    "closest_headers_text",
    "mapping_beside",
    "suggestion_text",
    "ignored_lines",
    "SUGGESTED_AT_MOST",
    "MAPPING_SUFFIX",
]

SUGGESTED_AT_MOST = 100  # ignored columns given a suggested match (an export with more is not a mapping case)
_CANONICAL_TO_RAW = {c.canonical: c.name for c in RAW_COLUMNS if c.canonical}

_MAPPING_KEYS = {
    "colonnes": "columns",
    "columns": "columns",
    "valeurs": "values",
    "values": "values",
    "separateur": "separator",
    "separator": "separator",
    "encodage": "encoding",
    "encoding": "encoding",
    "feuille": "sheet",
    "sheet": "sheet",
    "description": "description",
    "ligneentete": "header_row",
    "headerrow": "header_row",
    "situations": "situations",
}


_RENAMED_COLUMNS = ("ecole", "site")  # free text: the mapping renames values


@dataclass
@dataclass
class ExportMapping:
    """A school's mapping of its headers and labels onto the contract.

    ``columns``: {normalised header of the file: contract column};
    ``values``: {contract column: {their label: target label or code}};
    ``separator``/``encoding``/``sheet``: optional reading overrides.
    """

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    separator: str | None = None
    encoding: str | None = None
    sheet: str | int | None = None
    source_name: str = "mapping"
    header_row: int | None = None  # XLSX: 1-based header row (``ligne_entete``); detected when None
    situations: dict | None = None  # the situations table of a two-table export (see toolkit.situations)


def _contract_name(name: object, where: str) -> str:
    text = str(name).strip()
    if text in RAW_BY_NAME:
        return text
    if text in _CANONICAL_TO_RAW:
        return _CANONICAL_TO_RAW[text]
    by_key = RAW_HEADER_ALIASES.get(normalise_key(text))
    if by_key is not None:
        return by_key
    known = ", ".join(RAW_BY_NAME)
    raise SchemaError(
        _(
            "{where} : colonne du contrat inconnue « {text} ». Colonnes possibles : {known}.",
            where=where,
            text=text,
            known=known,
        )
    )


def _read_mapping_file(path: Path):
    """The content of a YAML mapping file (an empty dict for an empty file)."""
    name = path.name
    if not path.is_file():
        raise InputError(_("Fichier de correspondance introuvable : {path}.", path=path))
    import yaml  # local import: only needed with a mapping file

    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(_("{name} : le fichier de correspondance doit être enregistré en UTF-8.", name=name)) from None
    except yaml.YAMLError as exc:
        raise InputError(
            _("{name} : fichier de correspondance YAML illisible ({error}).", name=name, error=exc)
        ) from None
    except OSError as exc:
        raise unreadable_file(name, path, exc) from None
    return content or {}


def load_mapping(mapping: str | os.PathLike | dict | ExportMapping | None) -> ExportMapping:
    """Read and check a mapping (YAML path or dict; see the module docstring).

    Returns
    -------
    ExportMapping
        Headers are stored as normalised keys; values as given (their labels
        are normalised when the cleaning step applies them).
    """
    if mapping is None:
        return ExportMapping()
    if isinstance(mapping, ExportMapping):
        return mapping
    name, base = "mapping", None
    if isinstance(mapping, (str, os.PathLike)):
        base = Path(mapping).parent
        name, mapping = Path(mapping).name, _read_mapping_file(Path(mapping))
    if not isinstance(mapping, dict):
        raise InputError(
            _("{name} : le fichier de correspondance doit contenir des clés « colonnes » et/ou « valeurs ».", name=name)
        )

    out = ExportMapping(source_name=name)
    for raw_key, content in mapping.items():
        key = _MAPPING_KEYS.get(normalise_key(raw_key)) if raw_key is not None else None
        if key is None:
            allowed = "colonnes, valeurs, separateur, encodage, feuille, description"
            raise InputError(
                _(
                    "{name} : clé inconnue « {key} » (clés possibles : {allowed}).",
                    name=name,
                    key=raw_key,
                    allowed=allowed,
                )
            )
        if key == "columns":
            if not isinstance(content, dict):
                raise InputError(
                    _(
                        "{name} : « colonnes » doit associer chaque en-tête du fichier à une colonne du contrat.",
                        name=name,
                    )
                )
            for header, target in content.items():
                out.columns[normalise_key(header)] = _contract_name(
                    target, _("{name}, colonnes, « {header} »", name=name, header=header)
                )
        elif key == "values":
            if not isinstance(content, dict):
                raise InputError(_("{name} : « valeurs » doit associer chaque colonne à ses libellés.", name=name))
            _add_values(out, content, name)
        elif key == "separator":
            sep = "\t" if str(content) in {"\\t", "tab", "tabulation"} else str(content)
            if sep not in SEPARATORS:
                raise InputError(
                    _(
                        "{name} : séparateur « {separator} » non pris en charge (; , ou tabulation).",
                        name=name,
                        separator=content,
                    )
                )
            out.separator = sep
        elif key == "encoding":
            out.encoding = str(content)
        elif key == "sheet":
            out.sheet = content
        elif key in ("header_row", "situations"):
            setattr(out, key, check_mapping_extra(key, content, name, base))
    return out


def _add_values(out: ExportMapping, content: dict, name: str) -> None:
    """Check the ``valeurs`` of a mapping and add them to ``out``."""
    for column, labels in content.items():
        contract = _contract_name(column, _("{name}, valeurs", name=name))
        if not isinstance(labels, dict):
            raise InputError(
                _(
                    "{name} : valeurs de « {column} » : il faut des paires « libellé: valeur du contrat ».",
                    name=name,
                    column=column,
                )
            )
        if contract not in CODED_COLUMNS and contract not in _RENAMED_COLUMNS:
            allowed = ", ".join([*CODED_COLUMNS, *_RENAMED_COLUMNS])
            raise SchemaError(
                _(
                    "{name} : valeurs de « {column} » : correspondance de libellés non prise en charge pour "
                    "cette colonne (colonnes possibles : {allowed}).",
                    name=name,
                    column=contract,
                    allowed=allowed,
                )
            )
        pairs = {_yaml_text(label): _yaml_text(target) for label, target in labels.items()}
        if contract in CODED_COLUMNS:
            table = label_table(contract)
            for label_text, target in pairs.items():
                if normalise_key(target) not in table:
                    raise SchemaError(
                        _(
                            "{name} : valeurs de « {column} » : « {target} » (pour « {label} ») n'est ni un "
                            "libellé reconnu ni un code du contrat.",
                            name=name,
                            column=contract,
                            target=target,
                            label=label_text,
                        )
                    )
        out.values.setdefault(contract, {}).update(pairs)


def _yaml_text(value: object) -> str:
    """YAML turns yes/no/true into booleans and 1 into ints: give them back as text."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    return "" if value is None else str(value)


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
