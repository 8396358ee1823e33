"""The evaluator notebooks run top to bottom on the default data and are committed without outputs."""

from __future__ import annotations

import json
import re

import pytest

from toolkit.config import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def test_expected_notebooks_exist():
    names = {p.stem for p in NOTEBOOKS}
    assert {"01_data_quality", "02_positive_exits", "03_fair_comparison", "04_impact"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and not cell.get("execution_count"), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_has_a_parameters_cell(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: a single cell tagged 'parameters' is needed for papermill"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom(path, tmp_path):
    papermill = pytest.importorskip("papermill")
    out = tmp_path / path.name
    papermill.execute_notebook(
        str(path), str(out), kernel_name="python3", cwd=str(tmp_path), progress_bar=False, execution_timeout=600
    )
    nb = json.loads(out.read_text(encoding="utf-8"))
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    # Warnings would reach evaluators as noise: none is expected.
    stderr = [o["text"] for o in outputs if o["output_type"] == "stream" and o.get("name") == "stderr"]
    assert not stderr, stderr
    assert any("image/png" in o.get("data", {}) for o in outputs) or path.stem == "01_data_quality"
    # Every figure has alternative text: an <img alt="..."> beside its PNG (nbconvert and JupyterLab use it).
    for o in outputs:
        data = o.get("data", {})
        if "image/png" in data:
            html = "".join(data.get("text/html", ""))
            assert re.search(r'<img [^>]*alt="[^"]{20,}"', html), f"{path.name}: a figure without alt text"
    # nbconvert adds "No description has been provided" to an image without alternative text (and warns).
    from nbconvert import HTMLExporter

    page, _resources = HTMLExporter().from_notebook_node(nbformat_read(out))
    assert "No description has been provided for this image" not in page, f"{path.name}: an image without alt"
    # Result objects read as in the reports: French tables, no raw dicts or scientific p-values.
    shown = " ".join("".join(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert not re.search(r"\d\.\d+e-\d+", shown), f"{path.name}: a number in scientific notation"
    _check_tidy(path.name, outputs)
    if path.stem == "02_positive_exits":
        assert "Rapport de cotes" in shown and "Effet marginal moyen (points)" in shown
        by_source = {
            "".join(c["source"]).split()[0]: " ".join(
                "".join(o.get("data", {}).get("text/html", "")) for o in c["outputs"]
            )
            for c in nb["cells"]
            if c["cell_type"] == "code" and c["source"]
        }
        assert "Semaines en entreprise" not in by_source["model"]  # the main model: characteristics at entry only
        assert "Semaines en entreprise" in shown  # the separate, labelled analysis
    if path.stem == "01_data_quality":
        assert "Bilan des lignes" in shown and "Lignes rejetées, par motif" in shown and "Motif de rejet" in shown
        assert "Avertissements (lignes conservées)" in shown and "Empreinte SHA-256" in shown
    if path.stem == "03_fair_comparison":
        assert "Rapport O/A" in shown and "ordre alphabétique" in shown and "{&#x27;phi&#x27;" not in shown
    if path.stem == "04_impact":
        assert "Effet estimé sur les stagiaires (ATT)" in shown and "Lecture :" in shown
        assert "Fonction d’influence" in shown and "Taille effective" in shown  # the jargon, explained


def nbformat_read(path):
    import nbformat

    return nbformat.read(str(path), as_version=4)


_WORD = re.compile(r"\b[a-z][a-z0-9_]*\b")


def _raw_names() -> set[str]:
    """The toolkit's English column names (canonical frame and result tables): never shown by default. The
    export's own headers (``annee_naissance``) may be named, to find a column in the file."""
    from toolkit import schema

    results = """n_outcome_known n_outcome_missing share_outcome_missing median_follow_up_months decile mean_predicted
    observed_rate ci_low ci_high share_outside n_outside reason_code source_row source_line odds_ratio p_value ame
    se flag95 flag998 oe_ratio n_treated n_control ess_control smd_before smd_after mean_treated mean_control"""
    return set(schema.CANONICAL_COLUMNS) | set(results.split())


def _check_tidy(name: str, outputs: list) -> None:
    """Every table is a toolkit display (no pandas frame with its index), and no raw object reaches the reader:
    no dict, no dataclass repr, no English column name, no ``<DataFrame>`` placeholder."""
    for output in outputs:
        data = output.get("data", {})
        html = "".join(data.get("text/html", ""))
        plain = "".join(data.get("text/plain", "")) if output["output_type"] != "stream" else ""
        stream = "".join(output.get("text", "")) if output["output_type"] == "stream" else ""
        assert 'class="dataframe' not in html, f"{name}: a raw pandas table"
        text = re.sub(r"<style.*?</style>|<[^>]+>|data:image/[^\"]+", " ", html, flags=re.S)
        for shown in (text, stream, plain if not html and "text/markdown" not in data else ""):
            assert "<DataFrame>" not in shown and "{'" not in shown and "Model(" not in shown, (name, shown[:300])
            raw = sorted(set(_WORD.findall(shown)) & _raw_names())
            assert not raw, f"{name}: raw names {raw[:5]} in {shown[:200]!r}"
