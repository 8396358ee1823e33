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
