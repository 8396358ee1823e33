"""Plots: real properties of the figures (labels, French ticks, one mark per table row,
interval segments where the table puts them)."""

import io
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import toolkit.plots as plots  # noqa: E402
from toolkit.errors import E2CError  # noqa: E402

NBSP = "\u00a0"


@pytest.fixture(autouse=True)
def french_theme():
    plots.set_theme("fr")
    yield
    plots.set_theme("fr")


def rates_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": ["Bretagne", "Occitanie", "Grand Est", "Corse"],
            "n_exits": [120, 300, 80, 9],
            "n_known": [110, 280, 75, 8],
            "n_unknown": [10, 20, 5, 1],
            "n_positive": [60, 170, 30, 4],
            "rate": [60 / 110, 170 / 280, 30 / 75, 0.5],
            "ci_low": [0.45, 0.55, 0.29, 0.21],
            "ci_high": [0.64, 0.66, 0.51, 0.79],
            "definition": "projet",
            "national": 0.61,
            "national_year": 2024,
        }
    )


def errorbar_segments(ax) -> list[np.ndarray]:
    containers = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    out = []
    for container in containers:
        bars = [lc for lc in container.lines[2] if isinstance(lc, LineCollection)]
        out.append(np.array(bars[0].get_segments()))
    return out


def tick_texts(axis) -> list[str]:
    axis.figure.canvas.draw()
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]


def source_text(fig) -> str:
    return " ".join(t.get_text() for t in fig.texts if t.get_gid() == "source")


def test_formatters_french_and_english():
    assert plots.percent_formatter("fr")(0.56) == f"56{NBSP}%"
    assert plots.percent_formatter("en")(0.56) == "56%"
    assert plots.percent_formatter("fr", decimals=1)(0.563) == f"56,3{NBSP}%"
    assert plots.number_formatter("fr")(1234) == f"1{NBSP}234"
    assert plots.number_formatter("en")(1234) == "1,234"


def test_theme_uses_the_okabe_ito_palette():
    plots.set_theme("fr")
    from matplotlib.colors import to_hex

    cycle = [to_hex(c).upper() for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert cycle[: len(plots.PALETTE)] == [c.upper() for c in plots.PALETTE]
    # Okabe-Ito has no pure red and no pure green; the reference line is black.
    assert "#FF0000" not in cycle and "#00FF00" not in cycle and plots.REFERENCE == "#000000"
    with pytest.raises(E2CError):
        plots.set_theme("de")


def test_plot_rates_points_intervals_labels_and_national_line():
    table = rates_table()
    pyplot_figures = plt.get_fignums()
    fig = plots.plot_rates(table, highlight="Occitanie")
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == pyplot_figures  # not registered with pyplot: no leak in batch reports
    ax = fig.axes[0]
    (segments,) = errorbar_segments(ax)
    assert len(segments) == len(table)
    # Each interval segment runs from ci_low to ci_high at the row's position (first row on top).
    np.testing.assert_allclose(segments[:, 0, 0], table["ci_low"])
    np.testing.assert_allclose(segments[:, 1, 0], table["ci_high"])
    np.testing.assert_allclose(segments[:, 0, 1], np.arange(len(table)))
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # inverted: table order reads top-down
    labels = tick_texts(ax.yaxis)
    assert labels[0] == f"Bretagne (n{NBSP}={NBSP}110)"
    assert [lab.split(" (")[0] for lab in labels] == table["region"].tolist()
    assert f"20{NBSP}%" in tick_texts(ax.xaxis)
    national = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(national) == 1 and national[0].get_xdata()[0] == pytest.approx(0.61)
    assert ax.get_title(loc="left") == "Taux de sorties positives par région"
    assert ax.get_xlabel() == "Taux de sorties positives (IC à 95 %)"
    assert ax.get_ylabel() == "Région"
    assert source_text(fig).startswith(f"Source{NBSP}: ")
    assert "Réseau E2C" in source_text(fig)
    assert "61" in fig.alt_text
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"


def test_plot_rates_hides_small_groups_and_says_so():
    fig = plots.plot_rates(rates_table(), min_n=11, national=False)
    ax = fig.axes[0]
    (segments,) = errorbar_segments(ax)
    assert len(segments) == 3
    assert not any("Corse" in t for t in tick_texts(ax.yaxis))
    assert "1 groupe(s) de moins de 11 non affiché(s)" in source_text(fig)
    assert not [line for line in ax.get_lines() if line.get_linestyle() == "--"]


def test_plot_rates_in_english():
    fig = plots.plot_rates(rates_table(), lang="en")
    ax = fig.axes[0]
    assert "20%" in tick_texts(ax.xaxis)
    assert ax.get_title(loc="left") == "Positive-exit rate by region"
    assert source_text(fig).startswith("Source: ")


def test_plot_rates_rejects_ambiguous_tables():
    table = rates_table()
    with pytest.raises(E2CError, match="plusieurs lignes"):
        plots.plot_rates(pd.concat([table, table]), y="region")
    with pytest.raises(E2CError, match="colonnes absentes"):
        plots.plot_rates(table.drop(columns="ci_low"))


def mix_table(groups=None) -> pd.DataFrame:
    categories = ["job", "work_study", "training", "other", "unknown"]
    n = np.array([40, 20, 25, 15, 10])
    base = pd.DataFrame({"category": categories, "n": n, "n_exits": 110, "n_known": 100})
    base["share"] = np.where(base["category"] == "unknown", np.nan, n / 100)
    base["ci_low"] = base["share"] - 0.05
    base["ci_high"] = base["share"] + 0.06
    base["share_of_exits"] = n / 110
    if groups is None:
        return base
    return pd.concat([base.assign(site=g) for g in groups], ignore_index=True)[["site", *base.columns]]


def test_plot_exit_mix_bars_match_shares_and_national_diamonds():
    table = mix_table()
    fig = plots.plot_exit_mix(table)
    ax = fig.axes[0]
    bars = ax.patches
    assert len(bars) == 4  # one per known category; the unknown exits are outside the shares
    np.testing.assert_allclose([b.get_height() for b in bars], [0.40, 0.20, 0.25, 0.15])
    (segments,) = errorbar_segments(ax)
    np.testing.assert_allclose(segments[:, 0, 1], table["ci_low"].iloc[:4])
    np.testing.assert_allclose(segments[:, 1, 1], table["ci_high"].iloc[:4])
    assert tick_texts(ax.xaxis) == ["Emploi", "Alternance", "Formation", "Autre sortie"]
    diamonds = [line for line in ax.get_lines() if line.get_marker() == "D"]
    np.testing.assert_allclose(diamonds[0].get_ydata()[:3], [0.20, 0.16, 0.25])  # 2024 national mix
    assert f"hors dénominateur{NBSP}: 10 (9,1{NBSP}%)" in source_text(fig)


def test_plot_exit_mix_stacked_by_group():
    table = mix_table(["Site A", "Site B", "Site C"])
    fig = plots.plot_exit_mix(table, min_n=1)
    ax = fig.axes[0]
    assert len(ax.patches) == 3 * 4
    widths = np.array([p.get_width() for p in ax.patches]).reshape(4, 3)
    np.testing.assert_allclose(widths.sum(axis=0), 1.0)  # each group's known exits: 100 %
    assert [t.split(" (")[0] for t in tick_texts(ax.yaxis)] == ["Site A", "Site B", "Site C"]
    assert ax.get_legend() is not None


def trend_table(by=False) -> pd.DataFrame:
    years = [2021, 2022, 2023, 2024]
    rate = np.array([0.50, 0.55, 0.52, 0.60])
    base = pd.DataFrame(
        {
            "cohort_year": years,
            "n_known": 200,
            "rate": rate,
            "ci_low": rate - 0.07,
            "ci_high": rate + 0.06,
            "national": [0.64, 0.63, 0.62, 0.61],
        }
    )
    if not by:
        return base
    return pd.concat(
        [base.assign(sex="F"), base.assign(sex="M", rate=rate - 0.05, ci_low=rate - 0.1, ci_high=rate)],
        ignore_index=True,
    )[["sex", *base.columns]]


def test_plot_trend_points_intervals_and_national_line():
    table = trend_table()
    fig = plots.plot_trend(table)
    ax = fig.axes[0]
    (segments,) = errorbar_segments(ax)
    np.testing.assert_allclose(segments[:, 0, 0], table["cohort_year"])
    np.testing.assert_allclose(segments[:, 0, 1], table["ci_low"])
    np.testing.assert_allclose(segments[:, 1, 1], table["ci_high"])
    national = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    np.testing.assert_allclose(national[0].get_ydata(), [0.64, 0.63, 0.62, 0.61])
    assert tick_texts(ax.xaxis) == ["2021", "2022", "2023", "2024"]
    assert f"60{NBSP}%" in tick_texts(ax.yaxis)
    assert ax.get_xlabel() == "Année d'entrée"


def test_plot_trend_by_group_draws_one_line_each():
    fig = plots.plot_trend(trend_table(by=True), lang="en")
    ax = fig.axes[0]
    assert len(errorbar_segments(ax)) == 2
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Women" in legend and "Men" in legend and "National benchmark" in legend


def test_plot_profile_bars_and_national_ranges():
    table = pd.DataFrame(
        {
            "variable": ["sex", "sex", "sex", "qpv", "qpv", "qpv"],
            "code": ["F", "M", None, True, False, None],
            "n": [60, 40, 5, 30, 60, 15],
            "n_total": 105,
            "n_known": [100, 100, 100, 90, 90, 90],
            "share": [0.6, 0.4, np.nan, 1 / 3, 2 / 3, np.nan],
            "ci_low": [0.5, 0.3, np.nan, 0.25, 0.57, np.nan],
            "ci_high": [0.7, 0.5, np.nan, 0.43, 0.75, np.nan],
            "share_of_total": [60 / 105, 40 / 105, 5 / 105, 30 / 105, 60 / 105, 15 / 105],
            "national_low": [0.5, np.nan, np.nan, 0.30, np.nan, np.nan],
            "national_high": [0.5, np.nan, np.nan, 0.37, np.nan, np.nan],
        }
    ).astype({"code": "object"})
    fig = plots.plot_profile(table)
    ax = fig.axes[0]
    # F, M, QPV yes: the "not stated" rows and the "no" of a yes/no are not drawn.
    assert len(ax.patches) == 3
    np.testing.assert_allclose([p.get_width() for p in ax.patches], [0.6, 0.4, 1 / 3])
    assert tick_texts(ax.yaxis) == [f"Sexe{NBSP}: Femmes", f"Sexe{NBSP}: Hommes", "Résident QPV"]
    ranges = [c for c in ax.collections if isinstance(c, LineCollection) and c.get_linewidth()[0] >= 3]
    segments = np.array(ranges[0].get_segments())
    np.testing.assert_allclose(segments[:, :, 0], [[0.5, 0.5], [0.30, 0.37]])
    with pytest.raises(E2CError, match="ventilé"):
        plots.plot_profile(table.assign(region="Bretagne"))


def test_add_source_prefix():
    fig, ax = plots.new_figure()
    plots.add_source(fig, "données synthétiques", "fr")
    assert source_text(fig) == f"Source{NBSP}: données synthétiques"
    fig2, _ = plots.new_figure()
    plots.add_source(fig2, "Source : INSEE", "fr")
    assert source_text(fig2) == f"Source{NBSP}: INSEE"  # French high punctuation gets a no-break space


@pytest.mark.slow  # starts a Jupyter kernel
def test_figures_show_once_as_png_in_a_jupyter_kernel():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import pandas as pd\nimport toolkit.plots as p\n"
            "t = pd.DataFrame({'sex': ['F', 'M'], 'n_known': [50, 40], 'rate': [0.5, 0.6],"
            " 'ci_low': [0.4, 0.45], 'ci_high': [0.6, 0.7]})\np.plot_rates(t)"
        ),
        nbformat.v4.new_code_cell("from IPython.display import display\ndisplay(p.plot_rates(t))\nx = 1"),
    ]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    for cell in nb.cells:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(images) == 1, cell.outputs


# --------------------------------------------------------------------------
# Funnel plot: tick labels (notebook 03's regional funnel repeated "1,0" down its y axis)
# --------------------------------------------------------------------------
def narrow_regions() -> pd.DataFrame:
    """Thirteen regions whose O/E all lie within ±0.2 of 1, as in the synthetic national export;
    thousands of expected exits each, so the funnel's neck is narrow too."""
    ratio = np.array([0.82, 0.9, 0.95, 0.97, 0.99, 1.0, 1.01, 1.02, 1.04, 1.06, 1.1, 1.15, 1.18])
    expected = np.linspace(1500.0, 7000.0, len(ratio))
    frame = pd.DataFrame(
        {
            "region": [f"Région {i}" for i in range(len(ratio))],
            "n": (expected / 0.6).round().astype(int),
            "observed": ratio * expected,
            "expected": expected,
            "oe_ratio": ratio,
            "adjusted_rate": ratio * 0.6,
            "se": np.sqrt(expected) / expected,
            "flag95": "within",
            "flag998": "within",
        }
    )
    frame.attrs = {"by": "region", "method": "additive", "tau2_used": 0.0019, "phi_used": 1.0, "national_rate": 0.6}
    return frame


@pytest.mark.parametrize("scale", ["ratio", "rate"])
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_funnel_tick_labels_never_repeat(scale, lang):
    from toolkit.plots.funnel import funnel_plot

    fig = funnel_plot(narrow_regions(), lang=lang, scale=scale)
    fig.canvas.draw()
    ax = fig.axes[0]
    for axis, labels in (("y", ax.get_yticklabels()), ("x", ax.get_xticklabels())):
        texts = [t.get_text() for t in labels if t.get_text()]
        assert len(texts) >= 4 and len(set(texts)) == len(texts), (axis, texts)
        # each label is the tick's value, read back (decimal comma in French, % on the rate scale)
        locs = ax.get_yticks() if axis == "y" else ax.get_xticks()
        for text, loc in zip(texts, locs):
            number = text.replace(NBSP, "").replace("%", "").replace(",", "." if lang == "fr" else "")
            factor = 100 if (axis == "y" and scale == "rate") else 1
            assert float(number) == pytest.approx(loc * factor, abs=1e-9), (text, loc)
    if scale == "ratio":  # 0,80 … 1,20 by 0,05: two decimals, in the language's style
        sample = ax.get_yticklabels()[1].get_text()
        assert re.fullmatch(r"\d[,.]\d\d", sample) and (("," in sample) == (lang == "fr")), sample


def test_step_formatter_decimals():
    from toolkit.plots import StepFormatter

    cases = {
        (0.8, 0.9, 1.0, 1.1): ["0,8", "0,9", "1,0", "1,1"],
        (0.96, 0.98, 1.0, 1.02): ["0,96", "0,98", "1,00", "1,02"],
        (0.0, 0.25, 0.5, 0.75): ["0,00", "0,25", "0,50", "0,75"],
        (0.0, 2000.0, 4000.0): ["0", "2" + NBSP + "000", "4" + NBSP + "000"],
    }
    for locs, expected in cases.items():
        formatter = StepFormatter("fr", 1 if locs[-1] < 2 else 0)
        assert formatter.format_ticks(list(locs)) == expected, locs
    assert StepFormatter("en", percent=True).format_ticks([0.585, 0.59, 0.595]) == ["58.5%", "59.0%", "59.5%"]
