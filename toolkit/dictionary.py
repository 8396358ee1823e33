"""The data dictionary of the raw-export contract and of the canonical frame,
generated from :mod:`toolkit.schema` (its single source of truth).

``docs/data_dictionary.md`` is this module's output; a test checks that the
committed file is up to date (regenerate with ``e2c dictionary --out docs/data_dictionary.md``).
"""

from __future__ import annotations

from . import schema
from .definitions import DEFINITIONS
from .i18n import N_, _, current_language, use_language

__all__ = ["data_dictionary_markdown"]

_TEXT = {  # French source text, translated by toolkit.i18n
    "title": N_("# Dictionnaire des données"),
    "intro": N_(
        "Généré depuis `toolkit/schema.py`, seule source de vérité du contrat : ne pas modifier à la "
        "main (`e2c dictionary --out docs/data_dictionary.md`).\n\nLes en-têtes sont reconnus sans tenir "
        "compte de la casse, des accents, des espaces, des tirets ni des soulignés. Formats acceptés : "
        "CSV (séparateur `;`, `,` ou tabulation ; UTF-8 avec ou sans BOM, ou Windows-1252/Latin-1), "
        "XLSX (première feuille), Parquet. `*` = obligatoire."
    ),
    "raw": N_("## Colonnes de l'export (contrat brut)"),
    "raw_head": N_("| Colonne | Obligatoire | Type | Description | Autres en-têtes reconnus | Valeurs acceptées |"),
    "canon": N_("## Table canonique (`CleanResult.data`)"),
    "canon_head": N_("| Colonne | Type | Libellé | Description | Colonnes sources |"),
    "codes": N_("## Codes"),
    "definitions": N_("## Définitions de la sortie positive"),
    "yes": N_("oui"),
    "months": N_("mois"),
    "no": N_("non"),
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


def data_dictionary_markdown(lang: str | None = None) -> str:
    """The data dictionary as Markdown, in ``lang`` (default: the current language)."""
    lang = lang or current_language()
    with use_language(lang):
        t = {key: _(message) for key, message in _TEXT.items()}
    fr = lang == "fr"  # the schema holds its descriptions and labels in both languages
    lines = [t["title"], "", t["intro"], "", t["raw"], "", t["raw_head"], "|---|---|---|---|---|---|"]
    for c in schema.RAW_COLUMNS:
        name = f"`{c.name}`" + ("*" if c.required else "")
        desc = c.description_fr if fr else c.description_en
        variants = ", ".join(f"`{v}`" for v in c.variants)
        lines.append(
            f"| {name} | {t['yes'] if c.required else t['no']} | {c.kind} | {_cell(desc)} | {variants} "
            f"| {_cell(c.allowed)} |"
        )
    lines += ["", t["canon"], "", t["canon_head"], "|---|---|---|---|---|"]
    for c in schema.CANONICAL_COLUMNS:
        dtype = "category" if str(c.dtype) == "category" else str(c.dtype)
        lab = c.label_fr if fr else c.label_en
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
