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
    # Result objects read as in the reports: French tables, no raw dicts or scientific p-values.
    shown = " ".join("".join(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert not re.search(r"\d\.\d+e-\d+", shown), f"{path.name}: a number in scientific notation"
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
    if path.stem == "03_fair_comparison":
        assert "Rapport O/A" in shown and "ordre alphabétique" in shown and "{&#x27;phi&#x27;" not in shown
    if path.stem == "04_impact":
        assert "Effet estimé sur les stagiaires (ATT)" in shown and "Lecture :" in shown
