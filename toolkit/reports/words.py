"""Content to text, in the current language (:mod:`toolkit.i18n`): messages, numbers, codes.

Every word of a report goes through :func:`toolkit.i18n._` here; numbers
through :mod:`toolkit.formatting`. A number whose cell is hidden is never
formatted: its sentence falls back (or is left out), its card or table cell
shows the suppression marker.
"""

from __future__ import annotations

import pandas as pd

from ..disclosure import CellKey, Ratio
from ..formatting import column_label, fmt_date, fmt_int, fmt_number, fmt_pct, fmt_rate_ci
from ..i18n import _, current_language
from .content import Code, Msg, Num

__all__ = ["Words", "lower_first", "HIDDEN_MARKER"]

# The one marker of a hidden cell ("secret statistique", as INSEE writes it).
HIDDEN_MARKER = "s"


def lower_first(text: str) -> str:
    """'Tranche d'âge' -> 'tranche d'âge', but 'RQTH' and 'Résident QPV' keep their acronyms."""
    if len(text) > 1 and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, (str, list, tuple, Msg, Code)) and pd.isna(value))


class Words:
    """Formats content for one page, knowing which cells the publication hides."""

    def __init__(self, publication, min_cell: int) -> None:
        self.publication = publication
        self.min_cell = int(min_cell)
        self.lang = current_language()

    # -- hidden cells -------------------------------------------------------
    def hidden(self, ref: CellKey | Ratio | None) -> bool:
        if ref is None:
            return False
        if isinstance(ref, CellKey):
            return self.publication.is_hidden(ref)
        return self.publication.ratio_hidden(ref)

    def num_hidden(self, num: Num) -> bool:
        return self.hidden(num.key) or self.hidden(num.ratio)

    def marker(self, value: object = None, count: bool = False) -> str:
        """The one marker of every hidden cell, small or not (:data:`HIDDEN_MARKER`): a marker that told
        "small" from "hidden to protect a small one" would tell the reader which hidden cells are under the
        threshold. ``value`` and ``count`` are accepted for the callers and not used."""
        return HIDDEN_MARKER

    def marker_title(self, value: object = None, count: bool = False) -> str:
        """The tooltip of every hidden cell (the same for all, like the marker)."""
        return _(
            "Secret statistique : valeur non diffusée (moins de {min_cell} stagiaires, ou déductible d’une telle "
            "valeur)",
            min_cell=self.min_cell,
        )

    # -- text ---------------------------------------------------------------
    def number(self, num: Num) -> str:
        lang, value = self.lang, num.value
        if num.kind == "int":
            return fmt_int(value, lang)
        if num.kind == "pct":
            return fmt_pct(value, lang, num.decimals)
        if num.kind == "number":
            return fmt_number(value, lang, num.decimals)
        if num.kind in ("rate_ci", "ci"):
            text = fmt_rate_ci(value[0], value[1], value[2], lang, num.decimals)
            return text.split("[", 1)[1].rstrip("]") if num.kind == "ci" and "[" in text else text
        if num.kind == "date":
            return str(fmt_date(pd.Timestamp(value).date(), lang))
        return str(value)

    def pct(self, value: float, decimals: int = 1) -> str:
        return fmt_pct(value, self.lang, decimals)

    def decimal(self, value: float, decimals: int = 1) -> str:
        return fmt_number(value, self.lang, decimals)

    def code_label(self, column: str, code: object) -> str:
        return self.code(Code(column, code))

    def msg(self, msg: Msg) -> str | None:
        """The message in the current language, or its fallback (None) when one of its numbers is hidden."""
        hidden = any(self.hidden(r) for r in msg.requires)
        nums = [v for v in msg.args.values() if isinstance(v, Num)]
        if msg.role != "marker":
            hidden = hidden or any(self.num_hidden(n) for n in nums)
        if hidden:
            return self.msg(msg.fallback) if msg.fallback is not None else None
        args = {k: self.arg(v) for k, v in msg.args.items()}
        if msg.plural is not None:
            from ..i18n import ngettext

            return ngettext(msg.text, msg.plural, int(msg.count or 0), **args)
        return _(msg.text, **args)

    def arg(self, value: object) -> str:
        if isinstance(value, Num):
            return self.marker(value.value, value.kind == "int") if self.num_hidden(value) else self.number(value)
        return self.text(value)

    def text(self, value: object) -> str:
        """Any content value as text: messages, codes, numbers, literal text from the data."""
        if isinstance(value, Msg):
            return self.msg(value) or ""
        if isinstance(value, Code):
            return self.code(value)
        if isinstance(value, Num):
            return self.arg(value)
        if _missing(value):
            return ""
        return str(value)

    def code(self, code: Code) -> str:
        lang, column, value = self.lang, code.column, code.code
        if column == "__definition__" or column == "__definition_text__":
            from ..definitions import get_definition

            definition = get_definition(value)
            return definition.label(lang) if column == "__definition__" else definition.text(lang)
        if column == "__column__":
            return column_label(value, lang)
        if column == "__column_lower__":
            return lower_first(column_label(value, lang))
        if column == "__columns__":
            return ", ".join(column_label(c, lang) for c in value)
        if column == "__lower__":
            return self.text(value).lower()
        if column == "__reason__":
            from ..cleaning import REJECTION_REASONS, reason_label

            return reason_label(value, lang) if value in REJECTION_REASONS else str(value)
        if column in ("__esf__", "__esf_note__"):
            from ..esf import ESF_INDICATORS, NON_BINARY_NOTE

            if column == "__esf_note__":
                return NON_BINARY_NOTE[lang]
            found = {i.code: i.label for i in ESF_INDICATORS}.get(str(value))
            return _(found) if found else str(value)
        from ..schema import label

        return label(column, value, lang)
