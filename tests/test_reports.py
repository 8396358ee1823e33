"""Report builder: the batch engine on a toy template (fast), then the real
reports on small synthetic data (privacy, disclosure, manifest)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

from toolkit.errors import ReportError
from toolkit.reports import (
    RegionJob,
    check_offline_html,
    check_parameters_tag,
    html_page,
    run_batch,
    write_manifest,
)


def toy_template(path: Path, tagged: bool = True) -> Path:
    nb = nbformat.v4.new_notebook()
    imports = nbformat.v4.new_code_cell("import sys, warnings\nfrom IPython.display import HTML")
    params = nbformat.v4.new_code_cell('region = "defaut"\nfail = False\nlang = "fr"')
    if tagged:
        params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(
        "print('stdout noise')\n"
        "print('stderr noise', file=sys.stderr)\n"
        "warnings.warn('a warning nobody should read')\n"
        "if fail:\n    raise ValueError(f'boom in {region}')\n"
        "HTML(f'<h1>Rapport {region}</h1><p id=\"exe\">{sys.executable}</p>')"
    )
    note = nbformat.v4.new_markdown_cell("Evaluator's note, not for the published page.")
    nb.cells = [imports, params, note, body]
    nb.metadata["kernelspec"] = {"name": "not-installed-kernel", "display_name": "x", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def toy_jobs(tmp_path: Path, regions: dict[str, bool]) -> list[RegionJob]:
    return [
        RegionJob(
            key=slug, label=slug.title(), parameters={"region": slug.title(), "fail": fail},
            notebook=tmp_path / "work" / slug / f"{slug}.ipynb", html=tmp_path / "out" / f"{slug}.html",
            cwd=tmp_path / "work" / slug, lang="fr", title=f"Rapport {slug}",
        )
        for slug, fail in regions.items()
    ]


def test_parameters_tag_is_required(tmp_path):
    good = toy_template(tmp_path / "good.ipynb")
    assert check_parameters_tag(good) == ["region", "fail", "lang"]
    bad = toy_template(tmp_path / "bad.ipynb", tagged=False)
    with pytest.raises(ReportError, match="parameters"):
        check_parameters_tag(bad)


def test_real_template_has_its_parameters():
    from toolkit.reports import REPORT_TEMPLATE

    names = check_parameters_tag(REPORT_TEMPLATE)
    assert {"region", "period", "work_dir", "data_path", "definition", "lang", "min_cell"} <= set(names)


def test_toy_batch_keeps_going_past_a_failing_region_and_writes_clean_pages(tmp_path):
    template = toy_template(tmp_path / "toy.ipynb")
    (tmp_path / "out").mkdir()
    jobs = toy_jobs(tmp_path, {"alpha": False, "beta": True, "gamma": False})
    results = run_batch(template, jobs, workers=2, progress=False, timeout=60)

    assert [r.slug for r in results] == ["alpha", "beta", "gamma"]
    assert [r.status for r in results] == ["ok", "failed", "ok"]
    failed = results[1]
    assert "ValueError" in failed.error and "boom in Beta" in failed.error
    assert Path(failed.notebook).exists() and failed.html is None
    for r in (results[0], results[2]):
        html = Path(r.html).read_text(encoding="utf-8")
        # Parameters reached the right report (pitfall 2) and the kernel is our interpreter.
        assert f"<h1>Rapport {r.region}</h1>" in html
        assert f'<p id="exe">{sys.executable}</p>' in html
        assert '<html lang="fr">' in html
        for leak in ("stdout noise", "stderr noise", "warning nobody", "Evaluator's note", "import sys", "In&nbsp;["):
            assert leak not in html
        check_offline_html(html)
        import hashlib

        assert hashlib.sha256(Path(r.html).read_bytes()).hexdigest() == r.sha256

    manifest = write_manifest(tmp_path / "out" / "manifest.json", period="2024", parameters={"lang": "fr"},
                              results=results, input_info={"sha256": "abc"}, template=template,
                              timings={"total": 1.0})
    data = json.loads(manifest.read_text(encoding="utf-8"))
    assert data["status"] == "failed" and data["n_ok"] == 2 and data["n_failed"] == 1
    by_slug = {r["slug"]: r for r in data["regions"]}
    assert by_slug["alpha"]["html"] == "alpha.html" and by_slug["alpha"]["sha256"] == results[0].sha256
    assert by_slug["beta"]["error"].startswith("ValueError") and by_slug["beta"]["notebook"].endswith("beta.ipynb")
    assert data["input"]["sha256"] == "abc" and len(data["template"]["sha256"]) == 64


def test_offline_check_catches_network_resources():
    for bad in ('<script src="x.js"></script>', '<link rel="stylesheet" href="https://cdn.x/y.css">',
                '<img src="//cdn.x/a.png" alt="a">', "<style>@import 'https://x/y.css';</style>"):
        with pytest.raises(ReportError):
            check_offline_html(bad)
    check_offline_html('<a href="https://www.reseau-e2c.fr">source</a><img src="data:image/png;base64,AAA" alt="x">')


def test_html_page_skeleton_is_offline_and_in_the_right_language():
    page = html_page("<h1>Index</h1>", lang="en", title="Reports")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page and "<title>Reports</title>" in page
    check_offline_html(page)
