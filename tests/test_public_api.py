"""The public API is an explicit, short list, and ``import toolkit`` stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import toolkit
from toolkit.config import ROOT

PUBLIC_API = [
    # errors and language
    *("E2CError", "InputError", "SchemaError", "ModelError", "ReportError"),
    *("set_language", "use_language", "current_language"),
    # data in
    *("DEFAULT_MIN_CELL", "resolve_data_path", "Definition", "get_definition", "positive_exit", "resolve_outcome"),
    *("read_export", "load_mapping", "clean_export", "CleanResult", "find_identifier_columns", "pseudonymise"),
    *("propose_mapping", "MappingProposal"),
    *("suppress_counts", "assert_publishable"),
    *("generate_export", "generate_comparison", "write_export", "default_export_path"),
    # analysis
    *("positive_exit_rates", "flow_counts", "exit_mix", "trend", "profile", "with_national", "esf_indicators"),
    *("fit_positive_exit", "fit_multilevel", "PositiveExitModel", "average_marginal_effects"),
    *("fit_expected_model", "compare_units", "funnel_limits"),
    *("load_impact_frame", "ImpactFrame", "estimate_att", "estimate_att_by", "ATTResult", "e_value"),
    # output
    *("impact_section", "build_reports"),
    *("set_theme", "plot_rates", "plot_exit_mix", "plot_trend", "plot_profile", "love_plot", "overlap_plot"),
    *("effects_plot", "fmt_int", "fmt_number", "fmt_pct", "format_table", "display_table"),
]


def test_public_api_is_the_pinned_list():
    assert sorted(toolkit.__all__) == sorted(PUBLIC_API)
    assert len(toolkit.__all__) == len(set(toolkit.__all__)) <= 65


@pytest.mark.parametrize("name", PUBLIC_API)
def test_every_public_name_resolves(name):
    value = getattr(toolkit, name)
    assert value is not None and not name.startswith("_")


def test_internal_names_are_not_exported():
    for name in ("RegionReport", "NationalWork", "neutral_name", "TextColumn", "html_page", "start_pool"):
        with pytest.raises(AttributeError):
            getattr(toolkit, name)
    assert toolkit.impact.__name__ == "toolkit.impact"  # submodules stay reachable as attributes


def test_import_toolkit_loads_no_heavy_library():
    code = (
        "import sys, toolkit; heavy = [m for m in ('numpy', 'pandas', 'scipy', 'statsmodels', 'matplotlib') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""


def test_moved_names_still_resolve_at_their_old_address():
    from toolkit.impact import impact_section as old
    from toolkit.indicators import NATIONAL_BENCHMARKS, national_rate, with_national  # now in benchmarks
    from toolkit.models import ModelWarning, fit_positive_exit  # now a package
    from toolkit.reports.impact_section import impact_section

    assert old is impact_section is toolkit.impact_section
    assert "rates" in NATIONAL_BENCHMARKS and callable(national_rate) and callable(with_national)
    assert issubclass(ModelWarning, UserWarning) and callable(fit_positive_exit)
