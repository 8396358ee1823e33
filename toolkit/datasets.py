"""Which data a job runs on: the file given, else the one export waiting in ``data/raw/``, else the
synthetic national default (generated on first use)."""

from __future__ import annotations

import os
from pathlib import Path

from .config import RAW_DATA_DIR, raw_exports
from .errors import InputError
from .i18n import _
from .synth import default_export_path

__all__ = ["resolve_data_path"]


def resolve_data_path(data: str | os.PathLike | None = None) -> Path:
    """The input the main job runs on: ``data`` if given, else the one export in
    ``data/raw/``, else the embedded synthetic national default (generated on first use)."""
    if data is not None:
        path = Path(data)
        if not path.exists():
            raise InputError(_("{path} : fichier introuvable.", path=path))
        return path
    found = raw_exports()
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise InputError(
            _(
                "{folder} contient plusieurs exports ({names}) : choisissez-en un avec --data.",
                folder=RAW_DATA_DIR,
                names=names,
            )
        )
    return default_export_path()
