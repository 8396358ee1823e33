"""The analysis modules speak the current language: words and errors follow i18n, no lang branches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.definitions import get_definition
from toolkit.errors import InputError
from toolkit.esf import NON_BINARY_NOTE, esf_unsupported
from toolkit.formatting import column_label, fmt_pct
from toolkit.i18n import use_language
from toolkit.impact import estimate_att


def _frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"t": rng.integers(0, 2, 60), "y": rng.integers(0, 2, 60), "age": rng.normal(20, 2, 60)})


def test_errors_follow_the_language():
    with pytest.raises(InputError, match="Méthode inconnue"):
        estimate_att(_frame(), "t", "y", ["age"], method="magic")
    with use_language("en"), pytest.raises(InputError, match="Unknown method: 'magic'"):
        estimate_att(_frame(), "t", "y", ["age"], method="magic")


def test_words_and_numbers_follow_the_language_and_lang_still_forces_one():
    assert column_label("n_exits") == "Sorties" and fmt_pct(0.5) == "50,0\u00a0%"
    with use_language("en"):
        assert column_label("n_exits") == "Exits" and fmt_pct(0.5) == "50.0%"
        assert column_label("n_exits", "fr") == "Sorties"  # an explicit lang= wins
        assert get_definition("projet").label().startswith("Project definition")
        assert esf_unsupported()["indicator"].str.contains("Non-binary").any()
    assert get_definition("projet").label("en").startswith("Project definition")
    assert NON_BINARY_NOTE["en"].startswith("Exports record sex") and NON_BINARY_NOTE["fr"].startswith("Le sexe")
