"""E2C impact-evaluation toolkit.

One flat public namespace: ``toolkit.clean_export``, ``toolkit.fit_positive_exit``,
``toolkit.compare_units``, ``toolkit.estimate_att``... Each name lives in the
module of its concern and is listed in that module's ``__all__``; it is
imported on first use so that ``import toolkit`` stays fast (report kernels and
the CLI start often).

Modules: schema (contract, codes, labels), definitions (positive exit), io
(reading), cleaning, privacy (identifiers, pseudonyms), disclosure (published
cells), synth (synthetic data), indicators, esf, models, compare (fair
comparison), impact, plots, formatting, reports, cli.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

from .definitions import DEFAULT_DEFINITION, DEFINITIONS, Definition, get_definition  # noqa: E402,F401
from .errors import E2CError, InputError, ModelError, ReportError, SchemaError  # noqa: E402,F401

# Searched in this order for a public name not imported above.
_MODULES = (
    "schema",
    "definitions",
    "io",
    "cleaning",
    "privacy",
    "disclosure",
    "synth",
    "indicators",
    "esf",
    "models",
    "compare",
    "impact",
    "plots",
    "formatting",
    "reports",
)


def __getattr__(name: str):
    if name.startswith("_"):
        raise AttributeError(name)
    if name in _MODULES or name in {"cli", "config", "dictionary"}:
        return importlib.import_module(f"{__name__}.{name}")  # a submodule: no search
    for module_name in _MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{module_name}":
                continue  # module not written yet
            raise
        if name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")


def __dir__():
    names = set(globals())
    for module_name in _MODULES:
        try:
            names.update(getattr(importlib.import_module(f"{__name__}.{module_name}"), "__all__", ()))
        except ModuleNotFoundError:
            pass
    return sorted(names)
