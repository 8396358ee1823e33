"""The data dictionary of the raw-export contract and of the canonical frame,
generated from :mod:`toolkit.schema` (its single source of truth).

``docs/data_dictionary.md`` is this module's output; a test checks that the
committed file is up to date (regenerate with ``e2c dictionary --out docs/data_dictionary.md``).
"""

from __future__ import annotations

from . import schema
from .definitions import DEFINITIONS

__all__ = ["data_dictionary_markdown"]

_TEXT = {
    "fr": {
        "title": "# Dictionnaire des données",
        "intro": (
            "Généré depuis `toolkit/schema.py`, seule source de vérité du contrat : ne pas modifier à la main "
            "(`e2c dictionary --out docs/data_dictionary.md`).\n\n"
            "Les en-têtes sont reconnus sans tenir compte de la casse, des accents, des espaces, des tirets ni "
            "des soulignés. Formats acceptés : CSV (séparateur `;`, `,` ou tabulation ; UTF-8 avec ou sans BOM, "
            "ou Windows-1252/Latin-1), XLSX (première feuille), Parquet. `*` = obligatoire."
        ),
        "raw": "## Colonnes de l'export (contrat brut)",
        "raw_head": "| Colonne | Obligatoire | Type | Description | Autres en-têtes reconnus | Valeurs acceptées |",
        "canon": "## Table canonique (`CleanResult.data`)",
        "canon_head": "| Colonne | Type | Libellé | Description | Colonnes sources |",
        "codes": "## Codes",
        "definitions": "## Définitions de la sortie positive",
        "yes": "oui",
        "months": "mois",
        "no": "non",
    },
    "en": {
        "title": "# Data dictionary",
        "intro": (
            "Generated from `toolkit/schema.py`, the contract's single source of truth: do not edit by hand "
            "(`e2c dictionary --lang en`).\n\n"
            "Headers match regardless of case, accents, spaces, hyphens and underscores. Accepted formats: CSV "
            "(`;`, `,` or tab separator; UTF-8 with or without BOM, or Windows-1252/Latin-1), XLSX (first sheet), "
            "Parquet. `*` = required."
        ),
        "raw": "## Export columns (raw contract)",
        "raw_head": "| Column | Required | Type | Description | Other recognised headers | Accepted values |",
        "canon": "## Canonical frame (`CleanResult.data`)",
        "canon_head": "| Column | Type | Label | Description | Source columns |",
        "codes": "## Codes",
        "definitions": "## Positive-exit definitions",
        "yes": "yes",
        "months": "months",
        "no": "no",
    },
}

_CODED = {
    "region": schema.REGION_NAMES,
    "sex": schema.SEX_CODES,
    "education_level": schema.EDUCATION_LEVELS,
    "nationality": schema.NATIONALITY_CODES,
    "referrer": schema.REFERRER_CODES,
    "exit_category": schema.EXIT_CATEGORIES,
    "exit_reason": schema.EXIT_REASON_CODES,
    "group": schema.GROUP_CODES,
}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def data_dictionary_markdown(lang: str = "fr") -> str:
    """The data dictionary as Markdown, in French (default) or English."""
    t = _TEXT["en" if lang == "en" else "fr"]
    lines = [t["title"], "", t["intro"], "", t["raw"], "", t["raw_head"], "|---|---|---|---|---|---|"]
    for c in schema.RAW_COLUMNS:
        name = f"`{c.name}`" + ("*" if c.required else "")
        desc = c.description_fr if lang != "en" else c.description_en
        variants = ", ".join(f"`{v}`" for v in c.variants)
        lines.append(
            f"| {name} | {t['yes'] if c.required else t['no']} | {c.kind} | {_cell(desc)} | {variants} | {_cell(c.allowed)} |"
        )
    lines += ["", t["canon"], "", t["canon_head"], "|---|---|---|---|---|"]
    for c in schema.CANONICAL_COLUMNS:
        dtype = "category" if str(c.dtype) == "category" else str(c.dtype)
        lab = c.label_fr if lang != "en" else c.label_en
        sources = ", ".join(f"`{s}`" for s in c.source)
        lines.append(f"| `{c.name}` | {dtype} | {_cell(lab)} | {_cell(c.description_en)} | {sources} |")
    lines += ["", t["codes"], ""]
    for column, codes in _CODED.items():
        lines.append(f"### `{column}`")
        lines.append("")
        for code in codes:
            extra = ""
            if column == "exit_reason":
                reason = schema.EXIT_REASON_BY_CODE[code]
                extra = f" — {reason.category}" + (" (interruption)" if reason.interruption else "")
                extra += "; " + ", ".join(reason.variants)
            elif column == "region":
                region = schema.REGION_BY_NAME[code]
                extra = f" — INSEE {region.insee}" + (
                    "; " + ", ".join(region.former + region.extra_aliases)
                    if region.former or region.extra_aliases
                    else ""
                )
            lines.append(f"- `{code}`: {_cell(schema.label(column, code, lang))}{_cell(extra)}")
        lines.append("")
    lines += [t["definitions"], ""]
    for d in DEFINITIONS.values():
        lines += [f"### `{d.name}` — {d.label(lang)}", "", d.text(lang), ""]
        lines.append(", ".join(f"`{code}`" + (f" (> {m} {t['months']})" if m else "") for code, m in d.min_months))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
