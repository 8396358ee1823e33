"""Toolkit exceptions. Every error a user can cause is one of these, with a
message that names the file, the column, the row and what is wrong. The CLI
prints the message and exits non-zero, with no traceback."""

from __future__ import annotations

__all__ = ["E2CError", "InputError", "SchemaError", "ModelError", "ReportError", "console_text", "unreadable_file"]


class E2CError(Exception):
    """Base class of every error the toolkit raises on purpose."""


class InputError(E2CError):
    """A file cannot be read: missing, unreadable, empty, unknown encoding, XLSX without data."""


class SchemaError(E2CError):
    """The data do not follow the raw-export contract (e.g. a required column is missing)."""


class ModelError(E2CError):
    """A model cannot be trusted: perfect separation, non-convergence, too few data."""


class ReportError(E2CError):
    """A report could not be produced."""


def console_text(text: object) -> str:
    """``text`` safe for a terminal: control characters (escape sequences included) become spaces.

    Line breaks and tabs are kept. The CLI passes every error message through
    this before printing it, since messages can quote data or file names.
    """
    return "".join(c if c in "\n\t" or not (ord(c) < 32 or 127 <= ord(c) < 160) else " " for c in str(text))


def unreadable_file(name: str, path: object, exc: OSError) -> InputError:
    """The error for an input file the system refuses to read (rights, lock, a folder given for a file)."""
    from .i18n import _

    return InputError(
        _(
            "{name} : fichier illisible ({reason}). Vérifiez les droits de lecture du fichier {path}.",
            name=name,
            reason=exc.strerror or exc,
            path=path,
        )
    )
