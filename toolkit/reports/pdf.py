"""Paper: the running header of a printed page, and PDF copies of the pages.

A page prints the same from a browser (Ctrl+P) and through ``e2c reports
--pdf``: the A4 format, the margins, the page numbers ("3 / 12") and the
running header are in the page's own print stylesheet (CSS ``@page`` margin
boxes, ``templates/e2c_html/e2c.css``). Only the header's text differs from
page to page (the page title: region and period; and "Données fictives — ne
pas diffuser" when the page carries the synthetic-data banner), so it is
written into a second ``<style>`` element by :func:`running_css`.

:func:`write_pdfs` prints each HTML page to a PDF beside it with Chromium,
driven by Playwright: tagged (a structure tree for screen readers) and with
an outline built from the headings, where the installed Playwright offers
them. Chromium is looked for on the ``PATH`` (``chromium``,
``chromium-browser``, ``google-chrome``), then as Playwright's own browser;
``E2C_CHROMIUM`` names another executable.
"""

from __future__ import annotations

import asyncio
import html as html_lib
import inspect
import os
import re
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import ReportError
from ..i18n import _
from .workspace import write_atomic

__all__ = ["running_css", "css_string", "banner_text", "find_chromium", "write_pdfs", "print_pages", "CHROMIUM_NAMES"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGE_TIMEOUT_MS = 120_000
_BANNER = re.compile(r"<div\b[^>]*\bclass=\"[^\"]*\bbanner-synthetic\b[^\"]*\"[^>]*>(.*?)</div>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_SAFE = re.compile(r"[A-Za-z0-9 ,.:;()'_-]")


def css_string(text: str) -> str:
    """``text`` as the inside of a double-quoted CSS string: every character outside a small safe set
    is a CSS escape (``\\HEX ``), so no text can close the string or the ``<style>`` element."""
    return "".join(c if _SAFE.fullmatch(c) else f"\\{ord(c):x} " for c in str(text))


def banner_text(html: str) -> str | None:
    """The text of the page's synthetic-data banner (``<div class="banner-synthetic">``), if any."""
    match = _BANNER.search(html)
    if match is None:
        return None
    return " ".join(html_lib.unescape(_TAG.sub(" ", match.group(1))).split()) or None


def running_css(title: str, html: str = "") -> str:
    """The ``@page`` rule that puts ``title`` in the running header of every printed page, and the
    synthetic-data banner's text (found in ``html``) at the top right when there is one."""
    rule = f'@page {{ @top-left {{ content: "{css_string(title)}"; }}'
    note = banner_text(html)
    if note:
        rule += f' @top-right {{ content: "{css_string(note)}"; }}'
    return rule + " }"


def find_chromium() -> str | None:
    """A Chromium executable: ``E2C_CHROMIUM``, then the ``PATH``, then Playwright's own browser."""
    given = os.environ.get("E2C_CHROMIUM")
    if given:
        return given if Path(given).exists() or shutil.which(given) else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _missing(first: Path, reason: str) -> ReportError:
    return ReportError(
        _(
            "{path} : PDF non écrit : {reason}. Installez Chromium (Debian/Ubuntu : apt-get install chromium ; "
            "ailleurs : python -m playwright install chromium) et le module playwright (pip install playwright), "
            "ou indiquez le navigateur dans E2C_CHROMIUM. Les pages HTML sont écrites.",
            path=first.with_suffix(".pdf"),
            reason=reason,
        )
    )


def _pdf_options(pdf) -> dict:
    """A4, backgrounds, the page's own @page rules; tagged and with an outline where Playwright offers them."""
    wanted = {"format": "A4", "print_background": True, "prefer_css_page_size": True, "tagged": True, "outline": True}
    accepted = inspect.signature(pdf).parameters
    return {k: v for k, v in wanted.items() if k in accepted}


def write_pdfs(pages: Sequence[str | os.PathLike], *, progress: bool = False, description: str = "") -> list[Path]:
    """Print each HTML page to ``<page>.pdf`` beside it (written atomically); returns the PDFs' paths.

    Raises
    ------
    ReportError
        No Playwright, no Chromium, or a page that cannot be printed: the message names the PDF
        and what to install. PDFs written before the failure stay.
    """
    pages = [Path(p).resolve() for p in pages]
    if not pages:
        return []
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no event loop here: print in this thread (Ctrl-C stops it at once)
        return _print_all(pages, progress, description)
    # Playwright's synchronous API refuses to run inside an event loop (a notebook's): its own thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_print_all, pages, progress, description).result()


def print_pages(pages: Sequence[Path], *, progress: bool = False) -> tuple[list[Path], str | None, float]:
    """:func:`write_pdfs` for a batch: the PDFs written, the error when there are none (no Chromium:
    the message says what to install), and the seconds spent."""
    t0 = time.perf_counter()
    try:
        written, error = write_pdfs(pages, progress=progress, description=_("PDF")), None
    except ReportError as exc:
        written, error = [], str(exc)
    return written, error, round(time.perf_counter() - t0, 3)


def _print_all(pages: list[Path], progress: bool, description: str) -> list[Path]:
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise _missing(pages[0], _("le module Python playwright n’est pas installé")) from None
    executable = find_chromium()
    bar = None
    written: list[Path] = []
    try:
        with sync_playwright() as p:
            if executable is None and not Path(p.chromium.executable_path).exists():
                raise _missing(
                    pages[0], _("aucun navigateur Chromium trouvé ({names})", names=", ".join(CHROMIUM_NAMES))
                )
            try:
                browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
            except PlaywrightError as exc:
                reason = _("Chromium ne démarre pas ({exe})", exe=executable or p.chromium.executable_path)
                raise _missing(pages[0], reason) from exc
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(pages), desc=description or _("PDF"), unit=_("page"))
            try:
                context = browser.new_context(java_script_enabled=False, offline=True)
                for html in pages:
                    written.append(_print_one(context, html, PlaywrightError))
                    if bar is not None:
                        bar.set_postfix_str(html.name)
                        bar.update(1)
            finally:
                browser.close()
    finally:
        if bar is not None:
            bar.close()
    return written


def _print_one(context, html: Path, playwright_error) -> Path:
    target = html.with_suffix(".pdf")
    page = context.new_page()
    try:
        page.goto(html.as_uri(), wait_until="load", timeout=PAGE_TIMEOUT_MS)
        page.emulate_media(media="print")
        data = page.pdf(**_pdf_options(page.pdf))
    except playwright_error as exc:
        raise ReportError(
            _("{path} : PDF non écrit ({reason}).", path=target, reason=str(exc).splitlines()[0])
        ) from exc
    finally:
        page.close()
    write_atomic(target, data)
    return target
