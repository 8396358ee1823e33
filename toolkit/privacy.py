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
]

PSEUDONYM_LENGTH = 20

# kind: (French label, English label)
IDENTIFIER_KINDS: dict[str, tuple[str, str]] = {
    "nom": ("nom ou prénom", "name or first name"),
    "email": ("adresse e-mail", "e-mail address"),
    "telephone": ("numéro de téléphone", "phone number"),
    "adresse": ("adresse postale", "postal address"),
    "code_postal": ("code postal", "postcode"),
    "nir": ("numéro de sécurité sociale (NIR)", "social security number (NIR)"),
    "date_naissance": ("date de naissance exacte", "exact birth date"),
}


def identifier_label(kind: str, lang: str = "fr") -> str:
    """Label of an identifier kind, in French (default) or English."""
    pair = IDENTIFIER_KINDS[kind]
    return pair[0] if lang == "fr" else pair[1]


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
_EMAIL_VALUE = re.compile(r"[^@\s;,<>]+@[^@\s;,<>]+\.[A-Za-z]{2,}")
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
        columns outside the contract.
    """
    dropped: list[tuple[str, str]] = []
    ignored: list[str] = []
    for column, values in distinct_values.items():
        if column in contract_columns:
            continue
        kind = identifier_kind_of_header(column) or identifier_kind_of_values(values)
        if kind is None:
            ignored.append(column)
        else:
            dropped.append((column, kind))
    return dropped, ignored


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
# Keyed pseudonyms
# --------------------------------------------------------------------------
def _key_bytes(key: str | bytes, origin: str) -> bytes:
    data = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    data = data.strip()
    if not data:
        raise E2CError(f"Clé de pseudonymisation vide ({origin}).")
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
        return _key_bytes(key, "argument key")
    from_env = os.environ.get(config.KEY_ENV_VAR)
    if from_env:
        return _key_bytes(from_env, f"variable d'environnement {config.KEY_ENV_VAR}")
    path = Path(key_file if key_file is not None else config.KEY_FILE).expanduser()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # created meanwhile by another process
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    try:
        return _key_bytes(path.read_bytes(), f"fichier {path}")
    except OSError as exc:
        raise E2CError(f"Fichier de clé de pseudonymisation illisible : {path} ({exc.strerror or exc}).") from None


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
