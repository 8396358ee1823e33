"""Writing a :class:`toolkit.mapping.MappingProposal`: the YAML mapping file and the readable table."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .i18n import _, current_language
from .privacy import identifier_label

__all__ = ["proposal_yaml", "proposal_text"]


def _q(text: object) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _confidence(choice) -> str:
    score = f"{choice.confidence:.2f}"
    return _("confiance {level} ({score})", level=choice.level, score=score)


def _column_lines(choices, unmatched, indent: str) -> list[str]:
    lines = []
    for c in choices:
        if c.header is None:
            lines.append(
                f"{indent}# {_q('?')}: {c.column}  # " + _("aucune colonne trouvée : à compléter si l'export l'a")
            )
        else:
            lines.append(f"{indent}{_q(c.header)}: {c.column}  # {_confidence(c)} : {c.reason}")
    for header, resembles in unmatched:
        hint = _(" (ressemble à « {column} »)", column=resembles) if resembles else ""
        lines.append(f"{indent}# {_q(header)}: ?  # " + _("colonne non reconnue, ignorée au nettoyage") + hint)
    return lines


def proposal_yaml(proposal, out_dir: str | os.PathLike | None = None) -> str:
    """The proposal as a mapping file (format of :mod:`toolkit.io` plus :mod:`toolkit.mapping_file`)."""
    lines = [
        "# "
        + _(
            "Correspondance proposée par « e2c map » pour {name} ({n} lignes) : à relire.",
            name=proposal.source_name,
            n=proposal.n_rows,
        ),
        "# " + _("Confiance : haute (0,8 et plus), moyenne (0,6 à 0,8), faible (moins de 0,6)."),
        "# " + _("Les lignes en commentaire (#) sont à compléter : en-têtes non reconnus, libellés non classés."),
    ]
    for problem in proposal.problems:
        lines.append("# " + _("À RÉGLER : {problem}", problem=problem))
    lines.append(f"description: {_q(_('Correspondance proposée pour {name}', name=proposal.source_name))}")
    if proposal.header_row:
        lines.append(f"ligne_entete: {int(proposal.header_row)}")
    lines.append("colonnes:")
    lines += _column_lines(proposal.columns, proposal.unmatched, "  ")
    for header, kind in proposal.identifiers.items():
        lines.append(
            f"  # {_q(header)}: "
            + _(
                "identifiant direct ({kind}) : non lu, supprimé au nettoyage",
                kind=identifier_label(kind, current_language()),
            )
        )
    by_column: dict[str, list] = {}
    for item in proposal.labels:
        by_column.setdefault(item.column, []).append(item)
    if by_column:
        lines.append("valeurs:")
    for column, items in by_column.items():
        lines.append(f"  {column}:")
        for item in items:
            rows = _("{n} ligne(s)", n=item.count)
            if item.code is None:
                lines.append(f"    # {_q(item.label)}: ?  # " + _("non classé ({rows})", rows=rows))
            else:
                lines.append(f"    {_q(item.label)}: {item.code}  # {_(item.reason)} ({rows})")
    sit = proposal.situations
    if sit is not None:
        lines.append("situations:")
        if sit["source"] != "<DataFrame>" and sit.get("sheet") is None:
            target = Path(sit["source"])
            if out_dir is not None:
                try:
                    target = Path(os.path.relpath(target, out_dir))
                except ValueError:  # another drive
                    pass
            lines.append(f"  fichier: {_q(target.as_posix())}")
        if sit.get("sheet") is not None:
            lines.append(f"  feuille: {_q(sit['sheet'])}")
        lines.append("  colonnes:")
        lines += _column_lines(sit["columns"], sit["unmatched"], "    ")
    return "\n".join(lines) + "\n"


def _profile_lines(profiles) -> list[str]:
    lines = []
    for p in profiles:
        if p.identifier is not None:
            kind = identifier_label(p.identifier, current_language())
            lines.append(f"  {p.header} : " + _("identifiant ({kind}), valeurs non affichées", kind=kind))
            continue
        head = f"  {p.header} : {_(p.kind)}, " + _("{n} valeur(s) distincte(s)", n=p.n_distinct)
        if p.values:
            shown = ", ".join(f"{v} ({n})" for v, n in p.values[:6])
            head += f" ; {shown}"
        elif p.n_distinct:
            head += " ; " + _("valeurs non affichées")
        lines.append(head)
    return lines


def proposal_text(proposal) -> str:
    """A readable account of the proposal: columns, labels, headers left, problems."""
    lines = [_("Export : {name} ({n} lignes)", name=proposal.source_name, n=proposal.n_rows)]
    lines += [f"  - {note}" for note in proposal.layout_notes]
    lines.append("")
    lines.append(_("Profil des colonnes :"))
    lines += _profile_lines(proposal.profiles)
    lines.append("")
    width = max([len(c.column) for c in proposal.columns] + [10])
    lines.append(_("Colonnes du contrat :"))
    choices = list(proposal.columns) + (proposal.situations["columns"] if proposal.situations else [])
    for c in choices:
        where = "" if c.table == "parcours" else _(" [situations]")
        header = c.header if c.header is not None else "—"
        lines.append(f"  {c.column.ljust(width)}  {header}  ({c.level}{', ' + c.reason if c.reason else ''}){where}")
    unmatched = list(proposal.unmatched) + (proposal.situations["unmatched"] if proposal.situations else [])
    if unmatched:
        lines.append(_("En-têtes non reconnus (ignorés au nettoyage) :"))
        for header, resembles in unmatched:
            hint = _(" ; ressemble à « {column} »", column=resembles) if resembles else ""
            lines.append(f"  - {header}{hint}")
    classified = [i for i in proposal.labels if i.code is not None]
    unclassified = [i for i in proposal.labels if i.code is None]
    lines.append(_("Libellés classés : {n}", n=len(classified)))
    for i in classified[:40]:
        lines.append(f"  {i.column} : {i.label} -> {i.code} ({_(i.reason)}, {i.count})")
    if unclassified:
        lines.append(_("Libellés non classés, à compléter dans le fichier : {n}", n=len(unclassified)))
        for i in unclassified:
            lines.append(f"  {i.column} : {i.label} ({i.count})")
    if proposal.problems:
        lines.append(_("À régler avant le nettoyage :"))
        lines += [f"  - {p}" for p in proposal.problems]
    else:
        lines.append(_("Toutes les colonnes obligatoires sont trouvées et la définition peut être évaluée."))
    return "\n".join(lines)
