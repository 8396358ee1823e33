"""The cleaned Parquet: the canonical frame written by ``e2c clean --out``, read back by ``e2c reports --data``.

The file holds ``CleanResult.data`` and, in the Parquet schema metadata
(key ``e2c_clean``), what a report needs to account for it: the definition,
the cleaning summary, the rejected-row counts by reason and region, and the
alerts. No rejected row and no raw value is stored: the rejected rows' raw
values stay with the evaluator's cleaning run. An evaluator can then clean
once, check, and report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .errors import InputError
from .i18n import _

__all__ = ["write_cleaned", "read_cleaned", "is_cleaned_parquet", "clean_or_load"]

_KEY = b"e2c_clean"


def write_cleaned(result, path) -> Path:
    """Write ``result.data`` and its accounting to a Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rejected = result.rejected
    by_reason = rejected["reason_code"].astype("object").value_counts().to_dict() if len(rejected) else {}
    meta = {
        "definition": result.definition.name,
        "source_name": result.source_name,
        "sha256": result.sha256,
        "summary": json.loads(json.dumps(result.summary, default=str)),
        "rejected_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "rejected": _rejected_pairs(rejected),
        "alerts": result.alerts,
    }
    table = pa.Table.from_pandas(result.data, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _KEY: json.dumps(meta, default=str)})
    pq.write_table(table, path)
    return path


def _rejected_pairs(rejected: pd.DataFrame) -> list[list[str]]:
    """[reason code, recognised region or "?"] per rejected row (no raw value is kept)."""
    from .schema import REGION_ALIASES, normalise_key

    if len(rejected) == 0:
        return []
    codes = rejected["reason_code"].astype("object").astype(str)
    if "region" in rejected.columns:
        regions = rejected["region"].map(normalise_key).map(REGION_ALIASES).fillna("?")
    else:
        regions = pd.Series("?", index=rejected.index)
    return [[c, r] for c, r in zip(codes, regions)]


def is_cleaned_parquet(path) -> bool:
    """True for a Parquet file written by :func:`write_cleaned`."""
    path = Path(path)
    if path.suffix.lower() not in (".parquet", ".pq") or not path.is_file():
        return False
    import pyarrow.parquet as pq

    try:
        return _KEY in (pq.read_schema(path).metadata or {})
    except Exception:  # not a readable Parquet: the ordinary reading reports it
        return False


def read_cleaned(path, definition=None):
    """A :class:`~toolkit.cleaning.CleanResult` from a cleaned Parquet (empty ``rejected`` and ``warnings``).

    ``definition``: when given and different from the one the file was cleaned under, the positive
    exits are computed again for a one-table export; a two-table export must be cleaned again.
    """
    import pyarrow.parquet as pq

    from .cleaning import CleanResult
    from .definitions import get_definition, positive_exit
    from .schema import CANONICAL_DTYPES

    path = Path(path)
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[_KEY])
    data = table.to_pandas()
    for name, dtype in CANONICAL_DTYPES.items():
        if name not in data.columns:
            raise InputError(
                _("{name} : colonne « {column} » absente du fichier nettoyé.", name=path.name, column=name)
            )
        data[name] = data[name].astype(dtype)
    data = data[list(CANONICAL_DTYPES)]
    d = get_definition(definition or meta["definition"])
    if d.name != meta["definition"]:
        if (meta["summary"].get("situations") or None) is not None:
            raise InputError(
                _(
                    "{name} : nettoyé avec la définition « {old} » et un tableau des situations ; relancez "
                    "« e2c clean --definition {new} » pour la définition « {new} ».",
                    name=path.name,
                    old=meta["definition"],
                    new=d.name,
                )
            )
        data["positive_exit"] = positive_exit(data, d)
    data.attrs["definition"] = d.name
    pairs = meta.get("rejected", [])
    rejected = pd.DataFrame(
        {
            "source_row": pd.Series(range(1, len(pairs) + 1), dtype="int64"),
            "reason_code": pd.Series([c for c, _r in pairs], dtype="object"),
            "region": pd.Series([r for _c, r in pairs], dtype="string"),
        }
    )
    summary = dict(meta["summary"]) | {"definition": d.name, "definition_label": d.label("fr")}
    return CleanResult(
        data=data,
        rejected=rejected,
        warnings=pd.DataFrame(columns=["source_row", "column", "kind", "message"]),
        summary=summary,
        definition=d,
        source_name=meta.get("source_name") or path.name,
        sha256=meta.get("sha256"),
        alerts=list(meta.get("alerts", [])),
    )


def clean_or_load(source, *, definition=None, mapping=None, situations=None, progress: bool = False):
    """``read_cleaned`` for a cleaned Parquet, else :func:`toolkit.cleaning.clean_export`."""
    from .cleaning import clean_export

    if not isinstance(source, pd.DataFrame) and is_cleaned_parquet(source):
        if mapping is not None or situations is not None:
            raise InputError(
                _(
                    "{name} est déjà nettoyé : la correspondance et les situations ne s'y appliquent plus.",
                    name=Path(source).name,
                )
            )
        return read_cleaned(source, definition)
    return clean_export(source, mapping=mapping, definition=definition, progress=progress, situations=situations)
