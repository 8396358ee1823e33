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
    with use_language("en"):
        assert ngettext("{n} stagiaire", "{n} stagiaires", 3) == "3 trainees"
        assert ngettext("{n} stagiaire", "{n} stagiaires", 1) == "1 trainee"
    assert ngettext("{n} stagiaire", "{n} stagiaires", 0) == "0 stagiaire"
    assert ngettext("{n} stagiaire", "{n} stagiaires", 2) == "2 stagiaires"
    assert _("un message sans traduction") == "un message sans traduction"


def test_unknown_language_is_refused_in_both_languages():
    with pytest.raises(E2CError, match="unknown language"):
        i18n.check_lang("de")
