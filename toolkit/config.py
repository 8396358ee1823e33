"""Paths, defined once. Every module imports them from here."""

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
