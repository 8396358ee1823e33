"""One translation mechanism for everything people read: reports, plots, CLI
messages, errors and notebooks.

French is the source language: every message is written in French in the
code, wrapped in :func:`_` (or :func:`ngettext` for plurals), and the English
catalogue translates it. The catalogue is standard gettext: one ``.po`` file
per area of the toolkit under ``toolkit/locale/en/LC_MESSAGES/`` (``reports.po``,
``cleaning.po``...), read here with Babel and merged, so no compiled ``.mo``
file has to be kept in step. ``pybabel extract -F babel.cfg`` finds the
messages; ``tests/test_i18n.py`` checks that every one has its translation.

The language is chosen once, at an entry point (the CLI, ``build_reports``,
a report notebook's parameters), with :func:`set_language` or
:func:`use_language`; every message made after that follows it, errors
included. Placeholders use ``str.format`` names::

    _("{n} stagiaires", n=fmt_int(12))
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

__all__ = [
    "LANGUAGES",
    "DEFAULT_LANGUAGE",
    "check_lang",
    "current_language",
    "set_language",
    "use_language",
    "_",
    "ngettext",
    "N_",
    "translated",
]

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_language: contextvars.ContextVar[str] = contextvars.ContextVar("e2c_language", default=DEFAULT_LANGUAGE)


def check_lang(lang: str | None) -> str:
    """The language code itself, or an error that names the ones available (``None`` gives French)."""
    from .errors import E2CError

    if lang is None:
        return DEFAULT_LANGUAGE
    if lang not in LANGUAGES:
        # Bilingual on purpose: the language asked for is the one we cannot trust here.
        raise E2CError(f"Langue inconnue / unknown language : {lang!r} ('fr', 'en').")
    return lang


def current_language() -> str:
    """The language every message is made in right now."""
    return _language.get()


def set_language(lang: str | None) -> str:
    """Choose the language for what follows (an entry point calls this once)."""
    lang = check_lang(lang)
    _language.set(lang)
    return lang


@contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Messages made inside the ``with`` block are in ``lang``; the previous language comes back after."""
    token = _language.set(check_lang(lang))
    try:
        yield _language.get()
    finally:
        _language.reset(token)


@cache
def _catalogue(lang: str) -> dict[str, str | tuple[str, ...]]:
    """msgid -> translation (a tuple of plural forms for plural messages), for one language."""
    if lang == DEFAULT_LANGUAGE:
        return {}
    from babel.messages.pofile import read_po

    table: dict[str, str | tuple[str, ...]] = {}
    for path in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with open(path, "rb") as handle:
            catalogue = read_po(handle, locale=lang)
        for message in catalogue:
            if not message.id or not message.string or message.fuzzy:
                continue
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            table[key] = tuple(message.string) if isinstance(message.string, tuple) else message.string
    return table


def _translate(message: str, lang: str) -> str:
    found = _catalogue(lang).get(message)
    if isinstance(found, tuple):
        return found[0]
    return found or message


def _(message: str, /, **kwargs: object) -> str:
    """``message`` (French) in the current language, with ``{name}`` placeholders filled in."""
    text = _translate(message, _language.get())
    return text.format(**kwargs) if kwargs else text


def ngettext(singular: str, plural: str, n: int, /, **kwargs: object) -> str:
    """The singular or plural form for ``n`` in the current language; ``{n}`` is available.

    French uses the singular for 0 and 1, English only for 1.
    """
    lang = _language.get()
    found = _catalogue(lang).get(singular)
    if lang == "fr":
        text = singular if abs(n) < 2 else plural
    elif isinstance(found, tuple) and len(found) >= 2:
        text = found[0] if n == 1 else found[1]
    else:
        text = singular if n == 1 else plural
    return text.format(n=n, **kwargs)


def N_(message: str) -> str:
    """Mark a message for extraction without translating it yet (module-level constants)."""
    return message


def translated(messages, lang: str):
    """A nested dict of marked messages (a plot's words) with every message in ``lang``."""
    with use_language(lang):
        return _translate_tree(messages)


def _translate_tree(messages):
    if isinstance(messages, dict):
        return {k: _translate_tree(v) for k, v in messages.items()}
    return _(messages)
