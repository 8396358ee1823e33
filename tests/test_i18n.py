"""The one translation mechanism: every marked message has its English translation."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from toolkit import i18n
from toolkit.errors import E2CError
from toolkit.i18n import _, ngettext, use_language

TOOLKIT = Path(i18n.__file__).resolve().parent
KEYWORDS = {"_": None, "ngettext": (1, 2), "N_": None}


def _marked_messages() -> dict[str, str]:
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(TOOLKIT), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        key = message[0] if isinstance(message, tuple) else message
        found.setdefault(key, f"{filename}:{lineno}")
    return found


def test_every_marked_message_has_an_english_translation():
    catalogue = i18n._catalogue("en")
    missing = {msg: where for msg, where in _marked_messages().items() if msg not in catalogue}
    assert not missing, "messages without an English translation (add them to a .po file):\n" + "\n".join(
        f"{where}: {msg!r}" for msg, where in sorted(missing.items(), key=lambda kv: kv[1])
    )


def test_no_translation_outlives_its_message():
    """A catalogue entry whose French message is no longer in the code (marked in Python, or written in a
    template or a notebook) is dead: the French was changed and the English would silently stop applying."""
    roots = [TOOLKIT, TOOLKIT.parent / "templates", TOOLKIT.parent / "notebooks"]
    sources = "".join(
        path.read_text(encoding="utf-8")
        for root in roots
        for path in root.rglob("*")
        if path.is_file() and path.suffix in (".j2", ".ipynb", ".tpl", ".html")
    )
    marked = set(_marked_messages())
    dead = [
        msgid
        for msgid in i18n._catalogue("en")
        if msgid not in marked and msgid not in sources and msgid.replace('"', '\\"') not in sources
    ]
    assert not dead, "translations of messages the code no longer has (remove them from the .po files):\n" + (
        "\n".join(repr(m[:90]) for m in dead)
    )


def test_placeholders_survive_translation():
    catalogue = i18n._catalogue("en")
    import string

    def names(text):
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    for msgid, translated in catalogue.items():
        forms = translated if isinstance(translated, tuple) else (translated,)
        for form in forms:
            assert names(form) <= names(msgid) | {"n"}, (msgid, form)


def test_language_follows_the_entry_point_and_comes_back():
    assert i18n.current_language() == "fr"
    one, many = "{k} stagiaire E2C", "{k} stagiaires E2C"  # a message of the impact section
    with use_language("en"):
        assert ngettext(one, many, 3, k=3) == "3 E2C trainees"
        assert ngettext(one, many, 1, k=1) == "1 E2C trainee"
    assert ngettext(one, many, 0, k=0) == "0 stagiaire E2C"
    assert ngettext(one, many, 2, k=2) == "2 stagiaires E2C"
    assert _("un message sans traduction") == "un message sans traduction"


def test_unknown_language_is_refused_in_both_languages():
    with pytest.raises(E2CError, match="unknown language"):
        i18n.check_lang("de")
