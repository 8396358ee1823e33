"""Checks on a report batch's inputs and outputs: the notebook template's ``parameters`` cell,
and a page that would run a script or fetch anything from the network."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..errors import ReportError

__all__ = ["check_parameters_tag", "check_offline_html"]


def check_parameters_tag(template: str | os.PathLike) -> list[str]:
    """Make sure the template has exactly one ``parameters``-tagged code cell.

    Without it papermill only logs a message and injects the values at the top,
    where the defaults then overwrite them: a report would silently show
    another region. Returns the names assigned in the parameters cell.
    """
    path = Path(template)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path} : modèle de rapport illisible ({exc}).") from exc
    tagged = [c for c in nb.get("cells", []) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1 or tagged[0].get("cell_type") != "code":
        raise ReportError(
            f"{path} : le modèle doit avoir exactement une cellule de code étiquetée « parameters » "
            f"(trouvé : {len(tagged)}). Sans elle, papermill écrirait les paramètres au mauvais endroit."
        )
    source = tagged[0]["source"]
    source = "".join(source) if isinstance(source, list) else source
    return re.findall(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=", source, flags=re.MULTILINE)


_NETWORK = re.compile(
    r"<script\b|<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//|"
    r"<(?:img|iframe|source|video|audio|embed|object)\b[^>]*\b(?:src|data)\s*=\s*[\"']?(?:https?:)?//|"
    r"@import|url\(\s*[\"']?(?:https?:)?//",
    flags=re.IGNORECASE,
)


def check_offline_html(html: str, where: str = "") -> None:
    """Raise ReportError if the page runs a script or loads anything from the network."""
    match = _NETWORK.search(html)
    if match:
        raise ReportError(f"{where} : la page chargerait une ressource externe ou un script ({match.group(0)!r}).")
