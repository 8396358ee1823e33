"""The report batch: the parameters tag, a toy template run through both
engines (fresh kernel per region, failures isolated, manifest), build_reports
on small synthetic data (every page and the manifest, nothing unsuppressed
left), and the output folder's failures (relative, a file, read-only, full
disk). Interrupts, crashes and the engines' faults: test_engine.py."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from toolkit.errors import ReportError
from toolkit.reports import RegionJob, check_offline_html, check_parameters_tag, run_batch, write_manifest

MIN_CELL = 11
SMALL_AND_LARGE = ["La Réunion", "Bretagne"]


def toy_template(path: Path, tagged: bool = True) -> Path:
    nb = nbformat.v4.new_notebook()
    imports = nbformat.v4.new_code_cell("import sys, warnings\nfrom IPython.display import HTML")
    params = nbformat.v4.new_code_cell('region = "defaut"\nfail = False\nlang = "fr"\nsleep = 0.0\ncrash = False')
    if tagged:
        params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(
        "print('stdout noise')\n"
        "print('stderr noise', file=sys.stderr)\n"
        "warnings.warn('a warning nobody should read')\n"
        "if fail:\n    raise ValueError(f'boom in {region}')\n"
        "import os, time\n"
        "if os.environ.get('E2C_TEST_FLAGS'):  # tells a test that this kernel is inside a cell\n"
        "    open(os.path.join(os.environ['E2C_TEST_FLAGS'], region), 'w').close()\n"
        "if crash:\n    os._exit(3)\n"
        "time.sleep(sleep)\n"
        "leak = globals().get('secret')\nsecret = region\n"
        "import os\n"
        'HTML(f\'<h1>Rapport {region}</h1><p id="exe">{sys.executable}</p><p id="pid">{os.getpid()}</p>\'\n'
        '     f\'<p id="leak">{leak}</p><p id="cwd">{os.getcwd()}</p>\')'
    )
    note = nbformat.v4.new_markdown_cell("Evaluator's note, not for the published page.")
    nb.cells = [imports, params, note, body]
    nb.metadata["kernelspec"] = {"name": "not-installed-kernel", "display_name": "x", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def toy_jobs(tmp_path: Path, regions: dict[str, bool]) -> list[RegionJob]:
    return [
        RegionJob(
            key=slug,
            label=slug.title(),
            parameters={"region": slug.title(), "fail": fail},
            notebook=tmp_path / "work" / slug / f"{slug}.ipynb",
            html=tmp_path / "out" / f"{slug}.html",
            cwd=tmp_path / "work" / slug,
            lang="fr",
            title=f"Rapport {slug}",
        )
        for slug, fail in regions.items()
    ]


def test_parameters_tag_is_required(tmp_path):
    good = toy_template(tmp_path / "good.ipynb")
    assert check_parameters_tag(good) == ["region", "fail", "lang", "sleep", "crash"]
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
    results = run_batch(template, jobs, workers=2, progress=False, timeout=60, engine="fast")
    plain = run_batch(
        template, toy_jobs(tmp_path, {"delta": False}), workers=1, progress=False, timeout=60, engine="portable"
    )
    assert plain[0].ok and plain[0].kernel == "python3"
    assert all(r.kernel.startswith("e2c-fast-") for r in results)  # forked by the zygote provisioner

    assert [r.slug for r in results] == ["alpha", "beta", "gamma"]
    assert [r.status for r in results] == ["ok", "failed", "ok"]
    failed = results[1]
    assert "ValueError" in failed.error and "boom in Beta" in failed.error
    assert Path(failed.notebook).exists() and failed.html is None
    assert not list((tmp_path / "out").glob(".*"))  # no page fragment left beside the pages
    pids = set()
    for r in (results[0], results[2], plain[0]):
        html = Path(r.html).read_text(encoding="utf-8")
        # Parameters reached the right report (pitfall 2) and the kernel is our interpreter.
        assert f"<h1>Rapport {r.region}</h1>" in html
        assert f'<p id="exe">{sys.executable}</p>' in html
        assert '<html lang="fr">' in html
        # A fresh process per region, in the region's own working directory, with nothing carried over.
        assert '<p id="leak">None</p>' in html and f'<p id="cwd">{tmp_path / "work" / r.slug}</p>' in html
        for leak in ("stdout noise", "stderr noise", "warning nobody", "Evaluator's note", "import sys", "In&nbsp;["):
            assert leak not in html
        check_offline_html(html)
        pids.add(re.search(r'<p id="pid">(\d+)</p>', html).group(1))
        import hashlib

        assert hashlib.sha256(Path(r.html).read_bytes()).hexdigest() == r.sha256
    assert len(pids) == 3

    manifest = write_manifest(
        tmp_path / "out" / "manifest.json",
        period="2024",
        parameters={"lang": "fr"},
        results=results,
        input_info={"sha256": "abc"},
        template=template,
        timings={"total": 1.0},
    )
    data = json.loads(manifest.read_text(encoding="utf-8"))
    assert data["status"] == "failed" and data["n_ok"] == 2 and data["n_failed"] == 1
    assert data["finished"] == ["alpha", "gamma"]
    by_slug = {r["slug"]: r for r in data["regions"]}
    assert by_slug["alpha"]["html"] == "alpha.html" and by_slug["alpha"]["sha256"] == results[0].sha256
    assert by_slug["beta"]["error"].startswith("ValueError") and by_slug["beta"]["notebook"].endswith("beta.ipynb")
    assert data["input"]["sha256"] == "abc" and len(data["template"]["sha256"]) == 64


def _pages(result):
    return {p.name: p.read_text(encoding="utf-8") for p in result.out_dir.glob("*.html")}


def test_batch_writes_every_page_and_a_manifest(batch):
    result, _, export = batch
    assert result.ok, [(r.region, r.error) for r in result.failed]
    names = sorted(p.name for p in result.out_dir.iterdir())
    assert names == [
        "bretagne-fse.csv",
        "bretagne.html",
        "index.html",
        "la-reunion-fse.csv",
        "la-reunion.html",
        "manifest.json",
    ]
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    assert manifest["input"]["sha256"] == hashlib.sha256(export.read_bytes()).hexdigest()
    assert manifest["parameters"]["min_cell"] == MIN_CELL and manifest["status"] == "ok"
    for entry in manifest["regions"]:
        page = result.out_dir / entry["html"]
        assert hashlib.sha256(page.read_bytes()).hexdigest() == entry["sha256"]
        assert entry["seconds"] > 0
    # Only publishable files under `out`: the work folder is private and elsewhere.
    assert sorted(p.name for p in result.out_dir.parent.iterdir()) == [".e2c-batch.lock", result.period]
    # The region kernels read aggregates only: no trainee-level file in the work folder
    # (kept here with keep_work=True; deleted by default, see the test below).
    work = result.work_dir
    assert work is not None and result.out_dir.parent.resolve() not in work.parents
    assert oct(work.stat().st_mode & 0o777) == "0o700"
    names = sorted(p.name for p in (work / result.period / "national").iterdir())
    assert names and not [n for n in names if "impact" in n or "trainee" in n], names  # aggregates only


def private_tmp(tmp_path, monkeypatch) -> Path:
    """A temporary folder of the test's own for the batch's private work folder: other batches on the
    machine create and remove theirs in the shared one meanwhile."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_no_unsuppressed_national_table_is_left_under_out(tmp_path, monkeypatch):
    """The national work folder holds aggregates before suppression: it is removed after the batch."""
    from toolkit.reports import build_reports
    from toolkit.synth import generate_export

    raw = generate_export(seed=21, trainees_per_year=600).raw
    (tmp_path / "a" / "_work" / "2019-2024" / "national").mkdir(parents=True)  # left by an older version
    (tmp_path / "a" / "_work" / "2019-2024" / "national" / "tables.pkl").write_bytes(b"unsuppressed")
    work_tmp = private_tmp(tmp_path, monkeypatch)
    result = build_reports(raw, out=tmp_path / "a", regions=["Bretagne"], jobs=1, progress=False, engine="portable")
    assert result.ok and result.engine == "portable" and result.work_dir is None
    left = sorted(p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert left == [
        ".e2c-batch.lock",
        *(f"{result.period}/{n}" for n in ("bretagne-fse.csv", "bretagne.html", "index.html", "manifest.json")),
    ]
    assert not list(work_tmp.glob("e2c-work-*"))  # the private work folder is gone


# --------------------------------------------------------------------------
# The output folder: relative, a file, read-only, full disk
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_raw():
    from toolkit.synth import generate_export

    return generate_export(seed=5, trainees_per_year=300).raw


def test_a_relative_out_works(tmp_path, monkeypatch, small_raw):
    """Kernels run in another folder: the batch must not hand them a relative path."""
    from toolkit.reports import build_reports

    monkeypatch.chdir(tmp_path)
    template = toy_template(tmp_path / "toy.ipynb")
    result = build_reports(small_raw, out="rel/reports", regions=["Bretagne"], template=template, progress=False)
    assert result.ok, [r.error for r in result.failed]
    assert result.out_dir == tmp_path / "rel" / "reports" / result.period
    assert (result.out_dir / "bretagne.html").is_file()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_out_on_a_file_is_a_clear_error(tmp_path, capsys, lang):
    from toolkit.cli import main

    target = tmp_path / "rapport.html"
    target.write_text("not a folder", encoding="utf-8")
    for out, said in (
        (target, ("pas un dossier", "not a folder")),
        (target / "sub", ("un fichier occupe", "a file is")),
    ):
        assert main(["reports", "--quiet", "--lang", lang, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert str(out) in err and "--out" in err and "Traceback" not in err, err
        assert said[lang == "en"] in err, err
    assert target.read_text(encoding="utf-8") == "not a folder"


def test_a_read_only_out_is_a_clear_error(tmp_path, monkeypatch, capsys):
    import errno

    from toolkit.cli import main
    from toolkit.reports import workspace

    out = tmp_path / "ro"
    out.mkdir()
    if os.geteuid() != 0:  # a real read-only folder (root writes anyway: simulated below)
        out.chmod(0o500)
        assert main(["reports", "--quiet", "--out", str(out)]) == 2
        assert "écriture refusée" in capsys.readouterr().err
        out.chmod(0o700)

    def refused(*args, **kwargs):
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(workspace.tempfile, "NamedTemporaryFile", refused)
    assert main(["reports", "--quiet", "--lang", "en", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out}: writing refused" in err and "--out" in err and "Traceback" not in err


def test_a_full_disk_leaves_nothing_under_out(tmp_path, monkeypatch, small_raw):
    """A page that cannot be written: a clear error naming it, no fragment, nothing before suppression."""
    import errno

    from toolkit.reports import build_reports, workspace

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(workspace, "_fsync", full)
    template = toy_template(tmp_path / "toy.ipynb")
    out = tmp_path / "out"
    work_tmp = private_tmp(tmp_path, monkeypatch)
    with pytest.raises(ReportError, match="disque plein") as error:
        build_reports(small_raw, out=out, regions=["Bretagne", "Occitanie"], template=template, progress=False)
    assert ".html" in str(error.value) and str(out) in str(error.value) and "--out" in str(error.value)
    # The run made `out`: nothing is left of it, not even an empty period folder or the lock file.
    assert not out.exists(), sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert not list(work_tmp.glob("e2c-work-*"))


def test_write_atomic_keeps_the_old_page_when_the_disk_is_full(tmp_path, monkeypatch):
    import errno

    from toolkit.reports import workspace

    page = tmp_path / "bretagne.html"
    workspace.write_atomic(page, b"old page")
    monkeypatch.setattr(workspace, "_fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(ReportError, match=re.escape(str(page))):
        workspace.write_atomic(page, b"new page, never complete")
    assert page.read_bytes() == b"old page" and sorted(p.name for p in tmp_path.iterdir()) == ["bretagne.html"]


# --------------------------------------------------------------------------
# A failed run leaves no empty folder; PDFs without a browser
# --------------------------------------------------------------------------
@pytest.mark.parametrize("existing", [False, True])
def test_a_failed_run_leaves_no_empty_folder(tmp_path, small_raw, existing):
    """A bad parameter found after the national work (an unknown region): the period folder it made goes,
    and so does the reports folder when the run made it; a folder that was there stays, as it was."""
    from toolkit.reports import build_reports

    out = tmp_path / "reports"
    if existing:
        out.mkdir()
        (out / "old.html").write_text("an earlier page", encoding="utf-8")
    with pytest.raises(ReportError, match="Atlantide"):
        build_reports(small_raw, out=out, regions=["Atlantide"], progress=False, engine="portable")
    if existing:
        assert sorted(p.name for p in out.iterdir()) == [".e2c-batch.lock", "old.html"]
    else:
        assert not out.exists()


def test_running_header_css_cannot_break_out_of_its_string():
    from toolkit.reports.pdf import banner_text, running_css

    page = '<div class="banner-synthetic" role="note"><p>Données fictives — ne pas diffuser</p></div>'
    css = running_css('E2C "x" </style><script>alert(1)</script> \\ 2019–2024', page)
    assert css.startswith('@page { @top-left { content: "') and css.endswith('"; } }')
    inner = re.findall(r'content: "((?:[^"\\]|\\[0-9a-f]+ )*)"', css)
    assert len(inner) == 2 and "<" not in css and "\\" + "22 " in inner[0], css  # the quote is escaped
    assert banner_text(page) == "Données fictives — ne pas diffuser"
    assert running_css("Bretagne", "<p>no banner</p>") == '@page { @top-left { content: "Bretagne"; } }'


def test_pdf_without_chromium_is_a_clear_error_and_the_html_is_written(tmp_path, monkeypatch, small_raw, capsys):
    """No browser: the HTML pages and the manifest are written; the error names the PDF and what to install."""
    pytest.importorskip("playwright.sync_api")
    from toolkit.reports import build_reports, pdf

    monkeypatch.setattr(pdf, "find_chromium", lambda: None)
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-browsers"))  # nor Playwright's own
    template = toy_template(tmp_path / "toy.ipynb")
    out = tmp_path / "out"
    result = build_reports(small_raw, out=out, regions=["Bretagne"], template=template, progress=False, pdf=True)
    assert result.ok and result.pdfs == []
    assert sorted(p.name for p in result.out_dir.iterdir()) == [
        "bretagne-fse.csv",
        "bretagne.html",
        "index.html",
        "manifest.json",
    ]
    error = result.pdf_error
    assert error and str(result.out_dir / "bretagne.pdf") in error, error
    assert "apt-get install chromium" in error and "playwright" in error and "HTML" in error, error
