"""``manifest.json``: what a batch published, from what, how, and which regions finished."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__
from ..errors import ReportError
from .engine import RegionResult
from .workspace import write_atomic

__all__ = ["write_manifest", "interrupted_manifest", "file_provenance"]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_provenance(path: str | os.PathLike) -> dict:
    """A file's name (no folder: folders can name people or machines) and SHA-256."""
    path = Path(path)
    try:
        return {"name": path.name, "sha256": _sha256_file(path)}
    except OSError as exc:
        raise ReportError(f"{path} : fichier illisible ({exc}).") from exc


def _attachments(html: str) -> dict:
    """Files published beside a region's page (the ESF+ CSV): relative path and SHA-256."""
    page = Path(html)
    csv = page.with_name(f"{page.stem}-fse.csv")
    if not csv.is_file():
        return {}
    return {"esf_csv": {"path": csv.name, "sha256": _sha256_file(csv)}}  # beside the page and the manifest


def write_manifest(
    path: str | os.PathLike,
    *,
    period: str,
    parameters: Mapping,
    results: Iterable[RegionResult],
    input_info: Mapping | None = None,
    template: str | os.PathLike | None = None,
    timings: Mapping | None = None,
    index: str | os.PathLike | None = None,
    status: str | None = None,
    disclosure: Mapping | None = None,
) -> Path:
    """Write ``manifest.json`` (atomically): parameters, input SHA-256, the comparison file's name and
    SHA-256 (``comparison``, when ``parameters["comparison"]`` names one), toolkit version, template
    checksum, checksum/timing/status of every page (and of its ESF+ CSV, ``esf_csv``), and
    ``finished``: the regions whose page is complete. ``status``: ``ok`` or
    ``failed`` from the regions' statuses unless given (``interrupted``). ``disclosure``: the summary of
    the attacker's audit that the batch passed (:func:`toolkit.reports.protect.audit_gate`)."""
    path = Path(path)
    base = path.parent
    regions = []
    for r in results:
        entry = asdict(r)
        if r.html:
            entry["html"] = os.path.relpath(r.html, base)
            entry |= _attachments(r.html)
        regions.append(entry)
    comparison = parameters.get("comparison")
    manifest = {
        "toolkit_version": __version__,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "period": period,
        "parameters": dict(parameters),
        "input": dict(input_info or {}),
        "comparison": file_provenance(comparison) if comparison else None,
        "template": ({"path": str(template), "sha256": _sha256_file(Path(template))} if template else None),
        "timings_s": dict(timings or {}),
        "status": status or ("ok" if all(r["status"] == "ok" for r in regions) else "failed"),
        "finished": [r["slug"] for r in regions if r["status"] == "ok"],
        "n_ok": sum(r["status"] == "ok" for r in regions),
        "n_failed": sum(r["status"] != "ok" for r in regions),
        "regions": regions,
        "index": ({"path": os.path.relpath(index, base), "sha256": _sha256_file(Path(index))} if index else None),
        "disclosure": dict(disclosure or {}),
    }
    write_atomic(path, json.dumps(manifest, ensure_ascii=False, indent=2, default=str).encode("utf-8"))
    return path


def interrupted_manifest(out_dir: Path, names, jobs, collected: dict, parameters: dict, national) -> None:
    """After an interrupt: say which regions finished (their pages are complete) and which did not."""
    results = []
    for job in jobs:
        done = collected.get(job.key)
        if done is None:
            done = RegionResult(region=job.label, slug=job.key, status="interrupted", notebook="")
        results.append(done)
    try:
        write_manifest(
            out_dir / "manifest.json",
            period=national.period,
            parameters=parameters,
            results=results,
            input_info=national.input_info,
            status="interrupted",
        )
    except ReportError:
        pass  # the interrupt is what the user must hear about
