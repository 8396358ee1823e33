"""Privacy on the way in: direct identifiers are found and dropped, trainee ids
are replaced by keyed pseudonyms.

Direct identifiers
------------------
A column that matches no contract column is a direct identifier when its
header names one (matched like contract headers, ignoring case, accents and
punctuation) or when its values look like one:

* names and first names (``nom``, ``prénom``, ``nom de naissance``,
  ``nom d'usage``, ``patronyme``...);
* e-mail (header, or values such as ``x@y.fr``);
* phone (header, or French numbers such as ``06 12 34 56 78`` / ``+33 6...``);
* postal address and postcode;
* social security number (NIR): header, or values of 13 characters plus a
  2-digit key (``1 85 05 75 123 456 78``, with or without spaces; Corsica
  ``2A``/``2B`` accepted);
* exact birth date (``date de naissance``, ``ddn``...): the column is dropped
  and only the year is kept (it feeds ``annee_naissance`` when the export has
  no such column).

Such columns never reach ``CleanResult.data`` nor ``CleanResult.rejected``;
the cleaning step reports them by column name (never by value).

Pseudonyms
----------
``trainee_id`` is ``HMAC-SHA256(key, id)`` in hexadecimal, truncated to
:data:`PSEUDONYM_LENGTH` characters (80 bits: collisions are negligible for
millions of ids). The key comes, in order, from the ``key=`` argument, the
environment variable named by :data:`toolkit.config.KEY_ENV_VAR`, or the key
file :data:`toolkit.config.KEY_FILE` (outside the repository; created on first
use with random content and permissions 0600). The same id with the same key
always gives the same pseudonym, so exports of different years can be linked
without keeping raw ids; a different key gives unrelated pseudonyms.
Pseudonymised data remain personal data (GDPR art. 4(5)): keep the key apart.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import config  # attribute access at call time, so tests can point KEY_FILE elsewhere
from .config import KEY_ENV_VAR  # noqa: F401  (loads toolkit.config before the next line)
from .errors import E2CError
from .i18n import N_, _, current_language, use_language
from .schema import normalise_key

__all__ = [
    "PSEUDONYM_LENGTH",
    "IDENTIFIER_KINDS",
    "identifier_label",
    "identifier_kind_of_header",
    "identifier_kind_of_values",
    "identifier_like",
    "is_birth_date_header",
    "IdentifierScan",
    "find_identifier_columns",
    "split_identifiers",
    "load_key",
    "pseudonymise",
    "pseudonymise_unique",
    "TEXT_IDENTIFIER_PATTERNS",
    "MASK",
    "MAX_TEXT_LENGTH",
    "mask_identifiers_in_text",
]

PSEUDONYM_LENGTH = 20

# kind: label (French source, translated by toolkit.i18n)
IDENTIFIER_KINDS: dict[str, str] = {
    "nom": N_("nom ou prénom"),
    "email": N_("adresse e-mail"),
    "telephone": N_("numéro de téléphone"),
    "adresse": N_("adresse postale"),
    "code_postal": N_("code postal"),
    "nir": N_("numéro de sécurité sociale (NIR)"),
    "date_naissance": N_("date de naissance exacte"),
}


def identifier_label(kind: str, lang: str | None = None) -> str:
    """Label of an identifier kind in the current language (or ``lang``)."""
    with use_language(lang or current_language()):
        return _(IDENTIFIER_KINDS[kind])


# --------------------------------------------------------------------------
# Detection by header (normalised keys)
# --------------------------------------------------------------------------
_NAME_KEYS = {
    "nom",
    "noms",
    "prenom",
    "prenoms",
    "nomprenom",
    "prenomnom",
    "nomcomplet",
    "patronyme",
    "name",
    "names",
    "firstname",
    "lastname",
    "surname",
    "fullname",
    "givenname",
    "familyname",
    "nomdenaissance",
    "nomnaissance",
    "nomdusage",
    "nomusage",
    "nomdefamille",
    "nomfamille",
    "nomdejeunefille",
    "nomjeunefille",
    "nommarital",
    "identite",
    "civiliteetnom",
}
_PHONE_KEYS = {
    "tel",
    "telephone",
    "portable",
    "mobile",
    "phone",
    "gsm",
    "telfixe",
    "telportable",
    "numerodetelephone",
    "numtel",
    "notel",
    "ntel",
    "telmobile",
    "fixe",
    "cellulaire",
}
_ADDRESS_PARTS = ("adresse", "address", "adr", "rue", "voie", "lieudit", "complementdadresse", "domicile")
_POSTCODE_KEYS = {"cp", "codepostal", "cpostal", "postcode", "postalcode", "zip", "zipcode", "codepostaldomicile"}
_NIR_KEYS = {
    "nir",
    "nss",
    "numss",
    "nuss",
    "insee",
    "numeroinsee",
    "ninsee",
    "noinsee",
    "numinsee",
    "nirpp",
    "numerosecu",
    "numsecu",
    "nsecu",
    "nosecu",
    "secu",
    "securitesociale",
    "numerodesecuritesociale",
    "numerosecuritesociale",
    "socialsecuritynumber",
    "ssn",
}
_BIRTH_DATE_KEYS = {
    "datenaissance",
    "datedenaissance",
    "ddn",
    "nele",
    "neele",
    "nee",
    "ne",
    "birthdate",
    "dateofbirth",
    "dob",
    "datenaiss",
    "dtnaissance",
    "dtenaissance",
    "naissancedate",
}


def is_birth_date_header(header: object) -> bool:
    """True when a header names an exact birth date (``Date de naissance``, ``DDN``...)."""
    key = normalise_key(header)
    return key in _BIRTH_DATE_KEYS or key.startswith(("datenaiss", "datedenaiss"))


def identifier_kind_of_header(header: object) -> str | None:
    """Kind of direct identifier a header names (see :data:`IDENTIFIER_KINDS`), or None.

    Only headers that match no contract column should be asked: ``nom_ecole``
    or ``nombre_stages`` are contract variants, not names.
    """
    key = normalise_key(header)
    if not key:
        return None
    if is_birth_date_header(key):
        return "date_naissance"
    if key in _NIR_KEYS or "securitesociale" in key or key.startswith(("numsecu", "numerosecu", "nir")):
        return "nir"
    if "mail" in key or "courriel" in key or key in {"mel", "adressemel", "mels"}:
        return "email"
    if key in _POSTCODE_KEYS or "codepostal" in key:
        return "code_postal"
    if key in _PHONE_KEYS or key.startswith(("tel", "telephone", "portable", "mobile", "phone")):
        return "telephone"
    if any(part in key for part in _ADDRESS_PARTS if len(part) > 3) or key in {"adr", "rue", "voie"}:
        return "adresse"
    if (
        key in _NAME_KEYS
        or "prenom" in key
        or "patronyme" in key
        or key.endswith("name")
        or (key.startswith("nom") and not key.startswith(("nombre", "nomenclature")))
    ):
        return "nom"
    return None


# --------------------------------------------------------------------------
# Detection by values
# --------------------------------------------------------------------------
# Linear: the local part must start a run of non-separators and is taken possessively (no retry per position).
_EMAIL_VALUE = re.compile(r"(?<![^\s@;,<>])[^\s@;,<>]++@[^\s@;,<>]+\.[A-Za-z]{2,}")
_PHONE_VALUE = re.compile(r"^(?:\+33|0033|\(0\)|0)[1-9]\d{8}$")
_NIR_VALUE = re.compile(r"^[1-478]\d{4}(?:\d{2}|2[AB])\d{6}\d{2}$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s.\-()/]")


def identifier_kind_of_values(values: pd.Series | pd.Index | np.ndarray | list) -> str | None:
    """Kind of direct identifier that the values look like (e-mail, NIR, phone), or None.

    Pass the distinct values of a column: the check is on patterns only. A
    single matching value is enough, because these columns should never be
    in an export at all.
    """
    texts = pd.Series(pd.Index(values).dropna().astype(str), dtype="str").str.strip()
    texts = texts[texts != ""]
    if texts.empty:
        return None
    if texts.str.contains(_EMAIL_VALUE).any():
        return "email"
    compact = texts.str.replace(_SEPARATORS, "", regex=True)
    if compact.str.fullmatch(_NIR_VALUE).any():
        return "nir"
    if compact.str.replace(r"^\+33\(0\)", "+33", regex=True).str.fullmatch(_PHONE_VALUE).any():
        return "telephone"
    return None


def identifier_like(values: pd.Series | pd.Index | np.ndarray | list) -> np.ndarray:
    """Per value: does it look like a direct identifier (e-mail, NIR, phone)?

    For the free-text contract columns (``ecole``, ``site``), checked on their
    distinct values: such a value is masked rather than published.
    """
    texts = pd.Series(list(values), dtype="object").astype("string").str.strip()
    compact = texts.str.replace(_SEPARATORS, "", regex=True)
    looks = (
        texts.str.contains(_EMAIL_VALUE)
        | compact.str.fullmatch(_NIR_VALUE)
        | compact.str.replace(r"^\+33\(0\)", "+33", regex=True).str.fullmatch(_PHONE_VALUE)
    )
    return looks.fillna(False).to_numpy(dtype=bool)


@dataclass
class IdentifierScan:
    """Outcome of :func:`split_identifiers`.

    Attributes
    ----------
    frame : DataFrame
        The input without its identifier columns.
    dropped : list of (column, kind)
        Identifier columns removed, in input order, with their kind.
    birth_date : Series or None
        The raw values of the first exact-birth-date column (for the cleaning
        step to reduce them to the year), or None.
    ignored : list of str
        Columns outside the contract that carry no detected identifier.
    """

    frame: pd.DataFrame
    dropped: list[tuple[str, str]] = field(default_factory=list)
    birth_date: pd.Series | None = None
    ignored: list[str] = field(default_factory=list)


def find_identifier_columns(distinct_values, contract_columns) -> tuple[list[tuple[str, str]], list[str]]:
    """Direct-identifier columns among the columns outside the contract.

    Parameters
    ----------
    distinct_values : mapping of str to array-like
        For each column (in input order), its distinct raw values.
    contract_columns : set of str
        Columns that belong to the contract (never flagged here: the trainee
        id is pseudonymised, the others are coded).

    Returns
    -------
    (dropped, ignored)
        ``dropped``: list of (column, kind) to remove; ``ignored``: the other
        columns outside the contract. The values of all columns are checked
        in one pass, so thousands of columns cost little more than one.
    """
    outside = [c for c in distinct_values if c not in contract_columns]
    kinds = {c: identifier_kind_of_header(c) for c in outside}
    todo = [c for c in outside if kinds[c] is None and len(distinct_values[c])]
    if todo:
        arrays = [np.asarray(distinct_values[c], dtype=object) for c in todo]
        owner = np.repeat(np.arange(len(todo)), [len(a) for a in arrays])
        for kind, hit in _value_kinds(np.concatenate(arrays)):
            for position in np.unique(owner[hit]):
                kinds[todo[position]] = kinds[todo[position]] or kind
    dropped = [(c, kinds[c]) for c in outside if kinds[c] is not None]
    ignored = [c for c in outside if kinds[c] is None]
    return dropped, ignored


def _value_kinds(values: np.ndarray):
    """(kind, per-value mask) for e-mail, NIR and phone, in that order of priority."""
    texts = pd.Series(values, dtype="object").astype("string").str.strip()
    yield "email", texts.str.contains(_EMAIL_VALUE).fillna(False).to_numpy(dtype=bool)
    compact = texts.str.replace(_SEPARATORS, "", regex=True)
    yield "nir", compact.str.fullmatch(_NIR_VALUE).fillna(False).to_numpy(dtype=bool)
    phone = compact.str.replace(r"^\+33\(0\)", "+33", regex=True).str.fullmatch(_PHONE_VALUE)
    yield "telephone", phone.fillna(False).to_numpy(dtype=bool)


def split_identifiers(frame: pd.DataFrame, contract_columns) -> IdentifierScan:
    """Find and remove direct-identifier columns of a DataFrame (see :func:`find_identifier_columns`).

    Returns
    -------
    IdentifierScan
    """
    distinct = {c: pd.Series(frame[c]).dropna().unique() for c in frame.columns}
    dropped, ignored = find_identifier_columns(distinct, set(contract_columns))
    birth = next((c for c, kind in dropped if kind == "date_naissance"), None)
    return IdentifierScan(
        frame=frame.drop(columns=[c for c, _ in dropped]),
        dropped=dropped,
        birth_date=None if birth is None else frame[birth],
        ignored=ignored,
    )


# --------------------------------------------------------------------------
# Identifiers inside free text
# --------------------------------------------------------------------------
# Every pattern is linear in the length of the text: no pattern starts with an
# unbounded repetition that could be retried from every position (the e-mail's
# local part must start a run, and is consumed possessively), and the others
# have bounded length.
_EMAIL_IN_TEXT = r"(?<![^\s@;,<>()\[\]\"'])[^\s@;,<>()\[\]\"']++@[^\s@;,<>()\[\]\"']+\.[A-Za-z]{2,}"
_PHONE_IN_TEXT = (
    # no digit boundary on purpose: a phone glued to other digits ("1907 81 22 43 19") is still masked
    r"(?:(?:\+|00)\s?33[\s.\-]{0,2}(?:\(0\)[\s.\-]{0,2})?|\(?0)[1-9]\)?(?:[\s.\-]{0,2}\d{2}){4}"
)
_NIR_IN_TEXT = (
    r"[1-478][\s.\-]?\d{2}[\s.\-]?(?:0[1-9]|1[0-2]|[2-9]\d)[\s.\-]?(?:\d{2}|2[ABab])"
    r"[\s.\-]?\d{3}[\s.\-]?\d{3}(?:[\s.\-]?\d{2})?(?!\d)"
)
_DIGIT_RUN_IN_TEXT = r"\d{9,}+"
_CIVILITY = r"(?:M\.|Mr\.?|Mme\.?|Mlle\.?|Mmes|MM\.|Monsieur|Madame|Mademoiselle|Dr\.?|Docteur|Me\.?|Maître)"
_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][A-Za-zÀ-ÖØ-öø-ÿ'’\-]{0,40}"
_CONTACT_WORD = r"(?:contact|chez|c/o|aupr[eè]s de|r[ée]f[ée]rent(?:e)?|correspondant(?:e)?|att(?:n|\.)?)"
_NAME_IN_TEXT = (
    rf"(?<![\w]){_CIVILITY}\s{{1,3}}{_NAME_WORD}(?:[\s\-]{{1,3}}{_NAME_WORD}){{0,2}}"
    rf"|(?i:(?<![\w]){_CONTACT_WORD})\s{{0,3}}:?\s{{0,3}}(?:{_CIVILITY}\s{{1,3}})?{_NAME_WORD}(?:[\s\-]{{1,3}}{_NAME_WORD}){{0,2}}"
)
TEXT_IDENTIFIER_PATTERNS: dict[str, str] = {
    "email": _EMAIL_IN_TEXT,
    "nir": _NIR_IN_TEXT,
    "telephone": _PHONE_IN_TEXT,
    "nombre": _DIGIT_RUN_IN_TEXT,
    "nom": _NAME_IN_TEXT,
}
_EMAIL_RE = re.compile(_EMAIL_IN_TEXT)
_NUMBER_RE = re.compile("|".join(f"(?:{p})" for p in (_NIR_IN_TEXT, _PHONE_IN_TEXT, _DIGIT_RUN_IN_TEXT)))
_NAME_RE = re.compile(_NAME_IN_TEXT)
_NAME_HINT = re.compile(rf"(?i:{_CIVILITY}|{_CONTACT_WORD})")
MASK = "[masqué]"
_ONLY_MASKS = re.compile(r"^(?:\[masqué\]|[\s\W_])*$")
MAX_TEXT_LENGTH = 300  # a longer "name" is not a name: masked whole, not scanned


def _mask_one(text: str) -> str:
    """``text`` with every identifier replaced by ``[masqué]`` (linear in its length)."""
    if "@" in text:
        text = _EMAIL_RE.sub(MASK, text)
    if sum(map(text.count, "0123456789")) >= 9:
        text = _NUMBER_RE.sub(MASK, text)
    if _NAME_HINT.search(text):
        text = _NAME_RE.sub(MASK, text)
    return text


def mask_identifiers_in_text(values) -> tuple[np.ndarray, np.ndarray]:
    """Mask e-mails, phones, NIR, long digit runs and civility + name inside free text.

    Meant for the distinct values of a free-text column. Each identifier is
    replaced by ``[masqué]``; a value that is nothing but identifiers becomes
    missing, and so does a value longer than :data:`MAX_TEXT_LENGTH`
    characters (free notes, not a name). Every pattern is linear in the
    length of the text.

    Returns
    -------
    (masked values, changed)
        Object array (None where missing or nothing left) and a boolean array
        marking the values that contained an identifier.
    """
    values = np.asarray(values, dtype=object)
    out = values.copy()
    changed = np.zeros(len(values), dtype=bool)
    if len(values) == 0:
        return out, changed
    for i, text in enumerate(values):
        if not isinstance(text, str):
            continue
        masked = MASK if len(text) > MAX_TEXT_LENGTH else _mask_one(text)
        if masked != text:
            changed[i] = True
            out[i] = None if _ONLY_MASKS.match(masked) else masked
    return out, changed


# --------------------------------------------------------------------------
# Keyed pseudonyms
# --------------------------------------------------------------------------
def _key_bytes(key: str | bytes, origin: str) -> bytes:
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    data = data.strip()
    if not data:
        raise E2CError(_("Clé de pseudonymisation vide ({origin}).", origin=origin))
    return data


def load_key(key: str | bytes | None = None, key_file: str | os.PathLike | None = None) -> bytes:
    """The pseudonymisation key.

    Order: ``key`` argument; environment variable ``config.KEY_ENV_VAR``; key
    file (``key_file`` or ``config.KEY_FILE``), created on first use with 64
    random hexadecimal characters and permissions 0600 (its folder 0700).

    Returns
    -------
    bytes
    """
    if key is not None:
        return _key_bytes(key, _("argument key"))
    from_env = os.environ.get(config.KEY_ENV_VAR)
    if from_env:
        return _key_bytes(from_env, _("variable d'environnement {name}", name=config.KEY_ENV_VAR))
    path = Path(key_file if key_file is not None else config.KEY_FILE).expanduser()
    try:
        if not path.exists():
            _create_key_file(path)
        return _key_bytes(path.read_bytes(), _("fichier {path}", path=path))
    except OSError as exc:
        raise E2CError(
            _(
                "Fichier de clé de pseudonymisation inutilisable : {path} ({reason}). Rendez ce dossier "
                "accessible en écriture, ou donnez la clé dans la variable d'environnement {name}.",
                path=path,
                reason=exc.strerror or exc,
                name=config.KEY_ENV_VAR,
            )
        ) from None


def _create_key_file(path: Path) -> None:
    """A new key file with 64 random hexadecimal characters (0600; its folder 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # created meanwhile by another process
        return
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")


def pseudonymise_unique(ids, key: bytes, length: int = PSEUDONYM_LENGTH) -> np.ndarray:
    """HMAC-SHA256 pseudonyms of distinct ids (strings, already stripped; None stays None).

    The HMAC pads are hashed once and copied for each id (same result as
    ``hmac.new(key, id, sha256)``, about twice as fast).

    Returns
    -------
    ndarray of object (str or None)
    """
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner_pad = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer_pad = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    inner_copy, outer_copy = inner_pad.copy, outer_pad.copy

    def one(value):  # the only per-value Python work: one HMAC per distinct id
        if value is None:
            return None
        inner = inner_copy()
        inner.update(value.encode("utf-8"))
        outer = outer_copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:length]

    out = np.empty(len(ids), dtype=object)
    out[:] = list(map(one, ids))
    return out


def pseudonymise(ids: pd.Series | list, key: str | bytes | None = None, length: int = PSEUDONYM_LENGTH) -> pd.Series:
    """Keyed pseudonyms (HMAC-SHA256, hex) of trainee ids; missing or blank ids stay missing.

    Ids are stripped of surrounding spaces first; each distinct id is hashed
    once.

    Returns
    -------
    Series of dtype ``string``, same index as ``ids``.
    """
    series = pd.Series(ids)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    stripped = [None if u is None else (str(u).strip() or None) for u in uniques]
    hashed = np.append(pseudonymise_unique(stripped, load_key(key), length), None)
    return pd.Series(pd.array(hashed[codes], dtype="string"), index=series.index, name=series.name)
