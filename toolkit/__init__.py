"""E2C impact-evaluation toolkit.

The public API is the short list below (``toolkit.clean_export``, ``toolkit.fit_positive_exit``,
``toolkit.estimate_att``...): what an evaluator's notebook needs, from the raw export to the
published tables. Everything else lives in the module of its concern (``toolkit.schema``,
``toolkit.impact``...) and is imported from there. Names are imported on first use, so that
``import toolkit`` stays fast (report kernels and the CLI start often). The package tree and the
data flow are described in ``docs/architecture.md``.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Public name -> the module that defines it (one line per concern, in data-flow order).
_API: dict[str, str] = {
    **dict.fromkeys(("E2CError", "InputError", "SchemaError", "ModelError", "ReportError"), "errors"),
    **dict.fromkeys(("set_language", "use_language", "current_language"), "i18n"),
    **dict.fromkeys(("DEFAULT_MIN_CELL",), "config"),
    **dict.fromkeys(("resolve_data_path",), "datasets"),
    **dict.fromkeys(("Definition", "get_definition", "positive_exit", "resolve_outcome"), "definitions"),
    **dict.fromkeys(("read_export", "load_mapping"), "io"),
    **dict.fromkeys(("clean_export", "CleanResult"), "cleaning"),
    **dict.fromkeys(("propose_mapping", "MappingProposal"), "mapping"),
    **dict.fromkeys(("find_identifier_columns", "pseudonymise"), "privacy"),
    **dict.fromkeys(("suppress_counts", "assert_publishable"), "disclosure"),
    **dict.fromkeys(("generate_export", "generate_comparison", "write_export", "default_export_path"), "synth"),
    **dict.fromkeys(
        ("positive_exit_rates", "flow_counts", "exit_mix", "trend", "profile", "with_national"), "indicators"
    ),
    **dict.fromkeys(("esf_indicators",), "esf"),
    **dict.fromkeys(
        ("fit_positive_exit", "fit_multilevel", "PositiveExitModel", "average_marginal_effects"),
        "models",
    ),
    **dict.fromkeys(("fit_expected_model", "compare_units", "funnel_limits"), "compare"),
    **dict.fromkeys(
        ("load_impact_frame", "ImpactFrame", "estimate_att", "estimate_att_by", "ATTResult", "e_value"), "impact"
    ),
    "impact_section": "reports.impact_section",
    "build_reports": "reports",
    **dict.fromkeys(("set_theme", "plot_rates", "plot_exit_mix", "plot_trend", "plot_profile"), "plots"),
    **dict.fromkeys(("love_plot", "overlap_plot", "effects_plot"), "plots.impact"),
    **dict.fromkeys(("fmt_int", "fmt_number", "fmt_pct", "format_table", "display_table"), "formatting"),
}

__all__ = list(_API)

# Submodules reachable as attributes (``toolkit.schema``) without an import statement.
_SUBMODULES = frozenset(
    "cleaning cli compare config datasets definitions design dictionary disclosure errors esf formatting i18n "
    "impact indicators io models plots privacy reports schema synth".split()
)


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
