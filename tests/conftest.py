"""Test-wide settings: a fixed pseudonymisation key, so tests never create a key file in the home folder."""

from __future__ import annotations

import os

os.environ.setdefault("E2C_PSEUDO_KEY", "e2c-test-suite-key")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _french_by_default():
    """Every test starts in French, whatever the one before it chose (the language is process state)."""
    from toolkit.i18n import use_language

    with use_language("fr"):
        yield


@pytest.fixture(scope="session")
def batch(tmp_path_factory):
    """One small report batch (La Réunion and Bretagne, work folder kept), shared by the report tests.

    Returns ``(BatchResult, raw export as read, export path)``; the kept work folder is removed at the end.
    """
    import shutil

    import pandas as pd

    from toolkit.reports import build_reports
    from toolkit.synth import write_export

    root = tmp_path_factory.mktemp("reports")
    export = write_export(root / "data", seed=11, trainees_per_year=1200)
    raw = pd.read_csv(export, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
    result = build_reports(
        data=export,
        out=root / "out",
        regions=["La Réunion", "Bretagne"],
        jobs=2,
        progress=False,
        min_cell=11,
        keep_work=True,
    )
    yield result, raw, export
    shutil.rmtree(result.work_dir, ignore_errors=True)  # kept on request: the caller removes it
