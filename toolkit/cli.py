"""The ``e2c`` command line: a thin shell over the toolkit's functions.

Every sub-command calls one toolkit function and prints its result. Toolkit
errors (:class:`toolkit.errors.E2CError`) are printed as one clear message and
the command exits with status 2, never with a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import E2CError

__all__ = ["main", "build_parser"]

_MESSAGES = {
    "fr": {
        "error": "Erreur : {}",
        "interrupted": "Interrompu.",
        "data": "Données : {}",
        "synthetic": "(données synthétiques par défaut : aucun export dans data/raw/)",
        "written": "Écrit : {}",
        "kept": "Lignes gardées écrites dans {}",
        "reports_ok": "{n} rapport(s) écrit(s) dans {out}",
        "reports_failed": "{n} région(s) en échec :",
        "dictionary": "Dictionnaire des données écrit dans {}",
    },
    "en": {
        "error": "Error: {}",
        "interrupted": "Interrupted.",
        "data": "Data: {}",
        "synthetic": "(synthetic default data: no export in data/raw/)",
        "written": "Written: {}",
        "kept": "Kept rows written to {}",
        "reports_ok": "{n} report(s) written to {out}",
        "reports_failed": "{n} region(s) failed:",
        "dictionary": "Data dictionary written to {}",
    },
}


def _say(lang: str, key: str, *args, **kwargs) -> str:
    return _MESSAGES.get(lang, _MESSAGES["fr"])[key].format(*args, **kwargs)


def _describe_input(path: Path, lang: str) -> None:
    from .config import SYNTH_DATA_DIR

    print(_say(lang, "data", path))
    if SYNTH_DATA_DIR in path.resolve().parents:
        print(_say(lang, "synthetic"))


# --------------------------------------------------------------------------
# Sub-commands
# --------------------------------------------------------------------------
def _mapping_for(path: Path, given: str | None) -> str | Path | None:
    """The mapping given, else ``<export>.mapping.yml`` beside the export (said on the screen)."""
    from .cleaned_io import is_cleaned_parquet
    from .i18n import _
    from .mapping_file import mapping_beside

    if given is not None or is_cleaned_parquet(path):
        return given
    found = mapping_beside(path)
    if found is not None:
        print(_("Fichier de correspondance trouvé à côté de l'export : {path}", path=found))
    return found


def _cmd_clean(args: argparse.Namespace) -> int:
    from .datasets import resolve_data_path
    from .i18n import set_language

    set_language(args.lang)
    path = resolve_data_path(args.data)
    _describe_input(path, args.lang)
    from .cleaned_io import write_cleaned
    from .cleaning import clean_export

    mapping = _mapping_for(path, args.mapping)
    result = clean_export(
        path, mapping=mapping, definition=args.definition, progress=not args.quiet, situations=args.situations
    )
    print(result.summary_text(lang=args.lang))
    if args.out:
        out = write_cleaned(result, args.out)  # the canonical frame with its definition, accounting and alerts
        print(_say(args.lang, "kept", out))
    return 0


def _cmd_map(args: argparse.Namespace) -> int:
    from .i18n import _, set_language
    from .mapping import default_output, propose_mapping

    set_language(args.lang)
    proposal = propose_mapping(
        args.export,
        situations=args.situations,
        sheet=args.sheet,
        situations_sheet=args.situations_sheet,
        definition=args.definition,
    )
    print(proposal.table_text())
    out = Path(args.out) if args.out else default_output(args.export)
    if out.exists() and not args.force and not args.out:
        print(_("{path} existe déjà : ajoutez --force pour le remplacer, ou --out pour écrire ailleurs.", path=out))
        return 3
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(proposal.to_yaml(out_dir=out.parent), encoding="utf-8")
    print(_("Correspondance proposée écrite dans {path} (à relire).", path=out))
    return 0 if proposal.ok else 3


def _cmd_synth(args: argparse.Namespace) -> int:
    from .config import SYNTH_DATA_DIR
    from .synth import write_export

    kwargs = {"seed": args.seed, "fmt": args.format, "comparison": args.comparison}
    if args.per_year:
        kwargs["trainees_per_year"] = args.per_year
    path = write_export(Path(args.out) if args.out else SYNTH_DATA_DIR, **kwargs)
    print(_say(args.lang, "written", path))
    return 0


def _cmd_reports(args: argparse.Namespace) -> int:
    from .datasets import resolve_data_path
    from .reports import build_reports

    path = resolve_data_path(args.data)
    _describe_input(path, args.lang)
    from .i18n import set_language

    set_language(args.lang)
    result = build_reports(
        data=path,
        mapping=_mapping_for(path, args.mapping),
        situations=args.situations,
        out=args.out,
        regions=args.regions,
        jobs=args.jobs,
        definition=args.definition,
        lang=args.lang,
        min_cell=args.min_cell,
        period=args.period,
        progress=not args.quiet,
        comparison=args.comparison,
    )
    ok = [r for r in result.regions if r.status == "ok"]
    failed = [r for r in result.regions if r.status != "ok"]
    print(_say(args.lang, "reports_ok", n=len(ok), out=result.out_dir))
    if failed:
        print(_say(args.lang, "reports_failed", n=len(failed)), file=sys.stderr)
        for r in failed:
            print(f"  - {r.region}: {r.error} ({r.notebook})", file=sys.stderr)
        return 1
    return 0


def _cmd_dictionary(args: argparse.Namespace) -> int:
    from .dictionary import data_dictionary_markdown

    text = data_dictionary_markdown(lang=args.lang)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(_say(args.lang, "dictionary", args.out))
    else:
        print(text)
    return 0


def _cmd_definitions(args: argparse.Namespace) -> int:
    from .definitions import DEFAULT_DEFINITION, DEFINITIONS

    for d in DEFINITIONS.values():
        star = (
            " (défaut)"
            if d is DEFAULT_DEFINITION and args.lang == "fr"
            else (" (default)" if d is DEFAULT_DEFINITION else "")
        )
        print(f"{d.name}{star}: {d.label(args.lang)}\n    {d.text(args.lang)}\n")
    return 0


# --------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from .definitions import DEFINITIONS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--lang", choices=("fr", "en"), default="fr", help="langue des messages et des rapports")
    common.add_argument("--quiet", action="store_true", help="sans barre de progression")

    parser = argparse.ArgumentParser(
        prog="e2c", description="Boîte à outils d'évaluation des Écoles de la 2e Chance.", parents=[common]
    )
    parser.add_argument("--version", action="version", version=f"e2c {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("clean", parents=[common], help="nettoyer un export et afficher le bilan des lignes")
    p.add_argument("--data", help="export (CSV, XLSX, Parquet) ; défaut : data/raw/ ou données synthétiques")
    p.add_argument("--mapping", help="fichier YAML de correspondance des colonnes et libellés")
    p.add_argument("--definition", choices=sorted(DEFINITIONS), default=None, help="définition de la sortie positive")
    p.add_argument("--situations", help="tableau des situations après la sortie (export en deux tableaux)")
    p.add_argument("--out", help="écrire les lignes gardées en Parquet (relu par « e2c reports --data »)")
    p.set_defaults(func=_cmd_clean)

    p = sub.add_parser("map", parents=[common], help="proposer un fichier de correspondance pour l'export d'une école")
    p.add_argument("export", help="export de l'école (CSV, XLSX, Parquet)")
    p.add_argument("--situations", help="tableau des situations après la sortie (fichier)")
    p.add_argument("--situations-sheet", help="feuille XLSX du tableau des situations (dans l'export)")
    p.add_argument("--sheet", help="feuille XLSX des parcours (défaut : la première)")
    p.add_argument("--out", help="fichier YAML à écrire (défaut : <export>.mapping.yml à côté de l'export)")
    p.add_argument("--force", action="store_true", help="remplacer un fichier de correspondance existant")
    p.add_argument("--definition", choices=sorted(DEFINITIONS), default=None, help="définition de la sortie positive")
    p.set_defaults(func=_cmd_map)

    p = sub.add_parser("synth", parents=[common], help="écrire l'export national synthétique")
    p.add_argument("--out", help="dossier de sortie (défaut : data/synthetic/)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--per-year", type=int, default=None, help="stagiaires par an (défaut : environ 15 000)")
    p.add_argument("--format", choices=("csv", "xlsx", "parquet"), default="csv")
    p.add_argument(
        "--comparison",
        action="store_true",
        help="cohorte E2C + groupe de comparaison (évaluation d'impact) au lieu de l'export national",
    )
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("reports", parents=[common], help="produire les rapports HTML par région")
    p.add_argument("--data", help="export ou Parquet de « e2c clean --out » (défaut : data/raw/ ou synthétique)")
    p.add_argument("--mapping", help="fichier YAML de correspondance (défaut : <export>.mapping.yml s'il existe)")
    p.add_argument("--situations", help="tableau des situations après la sortie (export en deux tableaux)")
    p.add_argument("--out", default=None, help="dossier des rapports (défaut : reports/)")
    p.add_argument("--regions", nargs="+", default=None, help="régions à produire (défaut : toutes)")
    p.add_argument("--jobs", type=int, default=2, help="exécutions en parallèle")
    p.add_argument("--definition", choices=sorted(DEFINITIONS), default=None)
    p.add_argument("--period", default=None, help="période du rapport (défaut : années présentes)")
    p.add_argument("--min-cell", type=int, default=None, help="effectif minimal publié (défaut : 11)")
    p.add_argument(
        "--comparison",
        default=None,
        help="fichier du groupe de comparaison (colonne groupe) : ajoute la section d'impact",
    )
    p.set_defaults(func=_cmd_reports)

    p = sub.add_parser("dictionary", parents=[common], help="dictionnaire des données de l'export")
    p.add_argument("--out", help="fichier Markdown à écrire")
    p.set_defaults(func=_cmd_dictionary)

    p = sub.add_parser("definitions", parents=[common], help="définitions de la sortie positive")
    p.set_defaults(func=_cmd_definitions)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "min_cell", 0) is None:
        from .config import DEFAULT_MIN_CELL

        args.min_cell = DEFAULT_MIN_CELL
    try:
        return args.func(args)
    except E2CError as exc:
        print(_say(args.lang, "error", exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_say(args.lang, "interrupted"), file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
