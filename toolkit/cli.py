"""The ``e2c`` command line: a thin shell over the toolkit's functions.

Every sub-command calls one toolkit function and prints its result. Toolkit
errors (:class:`toolkit.errors.E2CError`) are printed as one clear message and
the command exits with status 2, never with a traceback.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from .errors import E2CError, console_text
from .i18n import _, check_lang, ngettext, set_language, use_language

__all__ = ["main", "build_parser", "EXIT_DISCLOSURE"]

# `e2c reports`: the attacker's audit refused the batch (a hidden cell could be recovered); no page written.
EXIT_DISCLOSURE = 4


def _describe_input(path: Path) -> None:
    from .config import SYNTH_DATA_DIR

    print(_("Données : {path}", path=path))
    if SYNTH_DATA_DIR in path.resolve().parents:
        print(_("(données synthétiques par défaut : aucun export dans data/raw/)"))


# --------------------------------------------------------------------------
# Sub-commands
# --------------------------------------------------------------------------
def _mapping_for(path: Path, given: str | None) -> str | Path | None:
    """The mapping given, else ``<export>.mapping.yml`` beside the export (said on the screen)."""
    from .cleaned_io import is_cleaned_parquet
    from .mapping_file import mapping_beside

    if given is not None or is_cleaned_parquet(path):
        return given
    found = mapping_beside(path)
    if found is not None:
        print(_("Fichier de correspondance trouvé à côté de l'export : {path}", path=found))
    return found


def _cmd_clean(args: argparse.Namespace) -> int:
    from .datasets import resolve_data_path

    path = resolve_data_path(args.data)
    _describe_input(path)
    from .cleaned_io import write_cleaned
    from .cleaning import clean_export

    mapping = _mapping_for(path, args.mapping)
    result = clean_export(
        path, mapping=mapping, definition=args.definition, progress=not args.quiet, situations=args.situations
    )
    print(result.summary_text(lang=args.lang))
    if args.out:
        out = write_cleaned(result, args.out)  # the canonical frame with its definition, accounting and alerts
        print(_("Lignes gardées écrites dans {path}", path=out))
    return 0


def _cmd_map(args: argparse.Namespace) -> int:
    from .mapping import default_output, propose_mapping

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
    print(_("Écrit : {path}", path=path))
    return 0


def _cmd_reports(args: argparse.Namespace) -> int:
    from .datasets import resolve_data_path
    from .disclosure import DisclosureError
    from .reports import BatchInterrupted, build_reports

    path = resolve_data_path(args.data)
    _describe_input(path)
    try:
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
            engine=args.engine,
            pdf=args.pdf,
        )
    except BatchInterrupted as exc:  # kernels stopped, work folder removed: say so, exit 128 + signal
        print(_("Interrompu."), file=sys.stderr)
        import gc

        gc.freeze()  # nothing is left to clean: spare the exit a full collection (seconds on a large heap)
        return 128 + int(exc.signum)
    except DisclosureError as exc:  # the audit gate: the batch is not published, its own exit status
        print(console_text(_("Erreur : {message}", message=exc)), file=sys.stderr)
        return EXIT_DISCLOSURE
    ok = [r for r in result.regions if r.status == "ok"]
    failed = [r for r in result.regions if r.status != "ok"]
    print(ngettext("{n} rapport écrit dans {out}", "{n} rapports écrits dans {out}", len(ok), out=result.out_dir))
    if result.pdfs:
        print(ngettext("{n} PDF écrit à côté des pages", "{n} PDF écrits à côté des pages", len(result.pdfs)))
    if result.pdf_error:
        print(console_text(result.pdf_error), file=sys.stderr)
    if failed:
        print(ngettext("{n} région en échec :", "{n} régions en échec :", len(failed)), file=sys.stderr)
        for r in failed:
            print(console_text(f"  - {r.region} : {r.error}"), file=sys.stderr)
        return 1
    return 1 if result.pdf_error else 0


def _cmd_dictionary(args: argparse.Namespace) -> int:
    from .dictionary import data_dictionary_markdown

    text = data_dictionary_markdown(lang=args.lang)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(_("Dictionnaire des données écrit dans {path}", path=args.out))
    else:
        print(text)
    return 0


def _cmd_definitions(args: argparse.Namespace) -> int:
    from .definitions import DEFAULT_DEFINITION, DEFINITIONS

    for d in DEFINITIONS.values():
        star = _(" (défaut)") if d is DEFAULT_DEFINITION else ""
        print(f"{d.name}{star}: {d.label(args.lang)}\n    {d.text(args.lang)}\n")
    return 0


# --------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------
# argparse's own words (usage, section titles, its error messages), in French when the language is French.
_ARGPARSE_FR = {
    "usage: ": "utilisation : ",
    "positional arguments": "arguments",
    "options": "options",
    "show this help message and exit": "afficher cette aide et quitter",
    "show program's version number and exit": "afficher la version et quitter",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix invalide : %(value)r (choisir parmi %(choices)s)",
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "expected one argument": "une valeur attendue",
    "expected at least one argument": "au moins une valeur attendue",
    "invalid %(type)s value: %(value)r": "valeur %(type)s invalide : %(value)r",
    "ambiguous option: %(option)s could match %(matches)s": "option ambiguë : %(option)s peut désigner %(matches)s",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
}


class _Parser(argparse.ArgumentParser):
    """argparse in the chosen language: French words for its own messages when the language is French.

    argparse looks its words up through its module-level ``_`` when a parser is built (group titles),
    when help is printed and when an error is reported; each of those runs with French words.
    """

    @staticmethod
    @contextmanager
    def _words():
        from .i18n import current_language

        previous = argparse._
        if current_language() == "fr":
            argparse._ = lambda text: _ARGPARSE_FR.get(text, text)
        try:
            yield
        finally:
            argparse._ = previous

    def __init__(self, *args, **kwargs):
        with self._words():
            super().__init__(*args, **kwargs)

    def parse_args(self, args=None, namespace=None):
        with self._words():
            return super().parse_args(args, namespace)

    def print_help(self, file=None):
        with self._words():
            super().print_help(file)


def _examples(*lines: str) -> str:
    return _("Exemples :") + "\n" + "\n".join(f"  {line}" for line in lines)


def _sub(sub, name: str, help_text: str, *examples: str) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        parents=[_common()],
        add_help=False,
        help=help_text,
        description=help_text[:1].upper() + help_text[1:] + ".",
        epilog=_examples(*examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-h", "--help", action="help", help=_("afficher cette aide et quitter"))
    common.add_argument("--lang", choices=("fr", "en"), default="fr", help=_("langue des messages et des rapports"))
    common.add_argument("--quiet", action="store_true", help=_("sans barre de progression"))
    return common


def build_parser() -> argparse.ArgumentParser:
    """The ``e2c`` parser, its help in the current language (:func:`main` sets it from ``--lang``)."""
    from .definitions import DEFINITIONS

    definition_help = _("définition de la sortie positive (e2c definitions les liste)")
    parser = _Parser(
        prog="e2c",
        description=_("Boîte à outils d'évaluation des Écoles de la 2e Chance."),
        epilog=_examples("e2c map data/raw/export.xlsx", "e2c clean --data data/raw/export.xlsx", "e2c reports"),
        parents=[_common()],
        add_help=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"e2c {__version__}", help=_("afficher la version"))
    sub = parser.add_subparsers(dest="command", required=True, title=_("commandes"), metavar=_("COMMANDE"))

    p = _sub(
        sub,
        "clean",
        _("nettoyer un export et afficher le bilan des lignes"),
        "e2c clean --data data/raw/export.csv",
        "e2c clean --data data/raw/export.xlsx --out data/processed/propre.parquet",
    )
    p.add_argument("--data", help=_("export (CSV, XLSX, Parquet) ; défaut : data/raw/ ou données synthétiques"))
    p.add_argument("--mapping", help=_("fichier YAML de correspondance des colonnes et libellés"))
    p.add_argument("--definition", choices=sorted(DEFINITIONS), default=None, help=definition_help)
    p.add_argument("--situations", help=_("tableau des situations après la sortie (export en deux tableaux)"))
    p.add_argument("--out", help=_("écrire les lignes gardées en Parquet (relu par « e2c reports --data »)"))
    p.set_defaults(func=_cmd_clean)

    p = _sub(
        sub,
        "map",
        _("proposer un fichier de correspondance pour l'export d'une école"),
        "e2c map data/raw/export.xlsx",
        "e2c map data/raw/parcours.csv --situations data/raw/situations.csv",
    )
    p.add_argument("export", help=_("export de l'école (CSV, XLSX, Parquet)"))
    p.add_argument("--situations", help=_("tableau des situations après la sortie (fichier)"))
    p.add_argument("--situations-sheet", help=_("feuille XLSX du tableau des situations (dans l'export)"))
    p.add_argument("--sheet", help=_("feuille XLSX des parcours (défaut : la première)"))
    p.add_argument("--out", help=_("fichier YAML à écrire (défaut : <export>.mapping.yml à côté de l'export)"))
    p.add_argument("--force", action="store_true", help=_("remplacer un fichier de correspondance existant"))
    p.add_argument("--definition", choices=sorted(DEFINITIONS), default=None, help=definition_help)
    p.set_defaults(func=_cmd_map)

    p = _sub(
        sub,
        "synth",
        _("écrire l'export national synthétique"),
        "e2c synth",
        "e2c synth --per-year 500 --seed 3 --out data/synthetic/petit",
    )
    p.add_argument("--out", help=_("dossier de sortie (défaut : data/synthetic/)"))
    p.add_argument("--seed", type=int, default=2024, help=_("graine du générateur"))
    p.add_argument("--per-year", type=int, default=None, help=_("stagiaires par an (défaut : environ 15 000)"))
    p.add_argument("--format", choices=("csv", "xlsx", "parquet"), default="csv", help=_("format du fichier"))
    p.add_argument(
        "--comparison",
        action="store_true",
        help=_("cohorte E2C + groupe de comparaison (évaluation d'impact) au lieu de l'export national"),
    )
    p.set_defaults(func=_cmd_synth)

    p = _sub(
        sub,
        "reports",
        _("produire les rapports HTML par région"),
        "e2c reports",
        "e2c reports --regions Bretagne 53 --lang en",
        "e2c reports --data data/processed/propre.parquet --out reports",
        "e2c reports --regions Île-de-France --pdf",
    )
    p.epilog += "\n\n" + _(
        "Codes de sortie : 0 rapports écrits ; 1 une région en échec ; 2 erreur (données, paramètres) ; "
        "{code} publication refusée par l’audit du secret statistique (aucune page écrite) ; 130 interrompu.",
        code=EXIT_DISCLOSURE,
    )
    p.add_argument("--data", help=_("export ou Parquet de « e2c clean --out » (défaut : data/raw/ ou synthétique)"))
    p.add_argument("--mapping", help=_("fichier YAML de correspondance (défaut : <export>.mapping.yml s'il existe)"))
    p.add_argument("--situations", help=_("tableau des situations après la sortie (export en deux tableaux)"))
    p.add_argument("--out", default=None, help=_("dossier des rapports (défaut : reports/)"))
    p.add_argument("--regions", nargs="+", default=None, help=_("régions à produire (défaut : toutes)"))
    p.add_argument("--jobs", type=int, default=2, help=_("exécutions en parallèle"))
    p.add_argument("--definition", choices=sorted(DEFINITIONS), default=None, help=definition_help)
    p.add_argument("--period", default=None, help=_("période du rapport (défaut : années présentes)"))
    p.add_argument("--min-cell", type=int, default=None, help=_("effectif minimal publié (défaut : 11)"))
    p.add_argument(
        "--comparison",
        default=None,
        help=_("fichier du groupe de comparaison (colonne groupe) : ajoute la section d'impact"),
    )
    p.add_argument(
        "--engine",
        choices=("portable", "fast"),
        default=None,
        help=_("démarrage des noyaux : portable (tout système) ou fast (Linux) ; défaut : fast si possible"),
    )
    p.add_argument(
        "--pdf", action="store_true", help=_("écrire aussi un PDF A4 à côté de chaque page (Chromium requis)")
    )
    p.set_defaults(func=_cmd_reports)

    p = _sub(
        sub,
        "dictionary",
        _("dictionnaire des données de l'export"),
        "e2c dictionary",
        "e2c dictionary --lang en --out dictionary.md",
    )
    p.add_argument("--out", help=_("fichier Markdown à écrire"))
    p.set_defaults(func=_cmd_dictionary)

    p = _sub(sub, "definitions", _("définitions de la sortie positive"), "e2c definitions")
    p.set_defaults(func=_cmd_definitions)
    return parser


def _language_asked(argv: list[str]) -> str:
    """The ``--lang`` of the command line, read before parsing so that help and errors use it."""
    for i, arg in enumerate(argv):
        value = (
            arg.split("=", 1)[1]
            if arg.startswith("--lang=")
            else argv[i + 1]
            if arg == "--lang" and i + 1 < len(argv)
            else None
        )
        if value in ("fr", "en"):
            return value
    return "fr"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The language holds for this command only: a caller in the same process (a notebook, a test)
    # gets its own back afterwards.
    with use_language(check_lang(_language_asked(argv))):
        return _run(argv)


def _run(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "min_cell", 0) is None:
            from .config import DEFAULT_MIN_CELL

            args.min_cell = DEFAULT_MIN_CELL
        set_language(args.lang)  # once, for every message and report that follows
        return args.func(args)
    except E2CError as exc:
        print(console_text(_("Erreur : {message}", message=exc)), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_("Interrompu."), file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``e2c definitions | head``): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
