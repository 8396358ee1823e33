"""Statistical disclosure control: what a batch publishes (:mod:`.cells`) and
the suppression of small counts in published tables (:mod:`.tables`)."""

from .cells import CellKey, Publication, Ratio
from .tables import (
    SECONDARY_MARKER,
    DisclosureError,
    SuppressedTable,
    assert_publishable,
    suppress_counts,
    suppression_marker,
)

__all__ = [
    "CellKey",
    "Publication",
    "Ratio",
    "suppression_marker",
    "SECONDARY_MARKER",
    "SuppressedTable",
    "suppress_counts",
    "assert_publishable",
    "DisclosureError",
]
