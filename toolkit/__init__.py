"""E2C impact-evaluation toolkit.

One flat public namespace. Modules, one per concern:
schema (contract, codes, labels), definitions (positive exit), io (reading),
cleaning, privacy, synth (synthetic data), indicators, esf, models, compare
(fair comparison), impact, plots, formatting, reports, cli.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import E2CError, InputError, ModelError, ReportError, SchemaError  # noqa: F401
from .definitions import DEFINITIONS, DEFAULT_DEFINITION, Definition, get_definition  # noqa: F401
