"""Test-wide settings: a fixed pseudonymisation key, so tests never create a key file in the home folder."""

from __future__ import annotations

import os

os.environ.setdefault("E2C_PSEUDO_KEY", "e2c-test-suite-key")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
