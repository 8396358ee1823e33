"""Statistical disclosure control: what a batch publishes (:mod:`.cells`), the attacker's system
(:mod:`.atoms`, :mod:`.relations`), the audit (:mod:`.audit`), the choice of hidden cells over the whole
publication (:mod:`.protect`), and the older per-table rules (:mod:`.tables`)."""

from .audit import AuditResult, TargetInterval, required_interval
from .cells import MISSING, CellKey, Publication, Ratio
from .protect import ProtectionResult, audit_publication, protect_publication
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
    "MISSING",
    "protect_publication",
    "audit_publication",
    "ProtectionResult",
    "AuditResult",
    "TargetInterval",
    "required_interval",
    "suppression_marker",
    "SECONDARY_MARKER",
    "SuppressedTable",
    "suppress_counts",
    "assert_publishable",
    "DisclosureError",
]
