"""Paths and settings, defined once. Every module imports them from here; this module imports
nothing from the toolkit (which data a job runs on is :mod:`toolkit.datasets`)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
RAW_DATA_DIR = DATA_DIR / "raw"
PROCESSED_DATA_DIR = DATA_DIR / "processed"
SYNTH_DATA_DIR = DATA_DIR / "synthetic"  # generated default data (git-ignored)
REPORTS_DIR = ROOT / "reports"
NOTEBOOKS_DIR = ROOT / "notebooks"
TEMPLATES_DIR = ROOT / "templates"

# Pseudonymisation key: environment variable first, then a key file kept out of git.
KEY_ENV_VAR = "E2C_PSEUDO_KEY"
KEY_FILE = Path(os.environ.get("E2C_KEY_FILE", Path.home() / ".config" / "e2c" / "pseudonym.key"))

DEFAULT_MIN_CELL = 11  # CASD / health-data practice: no published cell under 11 trainees

EXPORT_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".parquet")


def raw_exports(directory: Path = RAW_DATA_DIR) -> list[Path]:
    """Trainee exports waiting in ``data/raw/`` (README, mapping files and test fixtures excluded)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in EXPORT_SUFFIXES)
