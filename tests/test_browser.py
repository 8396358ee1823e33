"""The reports in a real browser: Debian's chromium, headless, driven by
Playwright, pages served on localhost. Images load, no console errors, links
work, axe-core finds no serious or critical accessibility violation, and the
page structure follows the RGAA basics (lang, headings, table headers, alt
text). Screenshots go to tests/artifacts/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    # Outside CI a developer without chromium gets a skip; in CI (.ci/run installs it) a missing
    # browser is a failure, so the report pages are never passed untested.
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian chromium is not installed (/usr/bin/chromium); .ci/run installs it with apt-get",
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The index and one small region's report, in French, served on localhost."""
    from toolkit.reports import build_reports
    from toolkit.synth import write_export

    root = tmp_path_factory.mktemp("browser")
    export = write_export(root / "data", seed=5, trainees_per_year=1000)
    result = build_reports(data=export, out=root / "out", regions=["La Réunion"], jobs=1, progress=False)
    assert result.ok, [(r.region, r.error) for r in result.failed]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(result.out_dir))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", result
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, url
    return page, errors, requests


def _check_page(page, errors, requests, base, lang="fr"):
    assert not errors, errors
    # Only the page itself and data: URIs: nothing else fetched, local or remote.
    fetched = [u for u in requests if not u.startswith("data:")]
    assert len(fetched) == 1 and fetched[0].startswith(base), fetched
    assert page.evaluate("document.documentElement.lang") == lang
    images = page.evaluate("""() => Array.from(document.images).map(i => ({
        w: i.naturalWidth, alt: i.getAttribute('alt') || '', complete: i.complete}))""")
    assert images, "no figure"
    for image in images:
        assert image["complete"] and image["w"] > 0
        assert len(image["alt"].strip()) >= 20, image["alt"]
    levels = page.evaluate("() => Array.from(document.querySelectorAll('h1,h2,h3,h4,h5,h6')).map(h => +h.tagName[1])")
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), levels  # no skipped level
    tables = page.evaluate("""() => Array.from(document.querySelectorAll('table')).map(t => ({
        th: t.querySelectorAll('thead th').length, caption: !!t.querySelector('caption')}))""")
    assert tables and all(t["th"] > 0 and t["caption"] for t in tables), tables


def _axe(page, name):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    (ARTIFACTS / f"axe-{name}.txt").write_text(results.generate_report(), encoding="utf-8")
    assert not bad, [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in bad]


def test_index_page(site, browser):
    base, result = site
    ARTIFACTS.mkdir(exist_ok=True)
    page, errors, requests = _open(browser, f"{base}/index.html")
    _check_page(page, errors, requests, base)
    page.screenshot(path=str(ARTIFACTS / "index.png"), full_page=True)
    links = page.evaluate("() => Array.from(document.querySelectorAll('main a')).map(a => a.getAttribute('href'))")
    local = [h for h in links if h and not h.startswith(("http", "#"))]
    assert sorted(local) == ["la-reunion.html"]
    for href in local:  # every link opens a page
        response = page.goto(f"{base}/{href}")
        assert response is not None and response.ok, href
    page.goto(f"{base}/index.html")
    _axe(page, "index")
    page.close()


def test_region_report(site, browser):
    base, result = site
    ARTIFACTS.mkdir(exist_ok=True)
    page, errors, requests = _open(browser, f"{base}/la-reunion.html")
    _check_page(page, errors, requests, base)
    page.screenshot(path=str(ARTIFACTS / "region-la-reunion.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / "region-la-reunion-top.png"))
    # Table-of-contents anchors all lead to a heading.
    anchors = page.evaluate("() => Array.from(document.querySelectorAll('nav.toc a')).map(a => a.getAttribute('href'))")
    assert len(anchors) >= 8
    for anchor in anchors:
        assert page.query_selector(anchor) is not None, anchor
    _axe(page, "region")
    page.close()
    if shutil.which("true"):  # keep a copy of the pages beside the screenshots for a human reviewer
        for name in ("index.html", "la-reunion.html"):
            shutil.copy(result.out_dir / name, ARTIFACTS / name)
