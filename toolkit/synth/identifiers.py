"""Fake identifier columns (``nom``, ``prenom``, ``email``, ``telephone``, ``num_secu``) built so that
they cannot belong to anyone: reserved e-mail domains, the phone range reserved for fiction, NIR-like
numbers with a country code INSEE does not use."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .network import _strip_accents

_FIRST_NAMES_F = (
    "Léa",
    "Manon",
    "Chloé",
    "Emma",
    "Camille",
    "Inès",
    "Sarah",
    "Jade",
    "Lina",
    "Océane",
    "Laura",
    "Clara",
    "Yasmine",
    "Fatoumata",
    "Aïcha",
    "Nour",
    "Maëlys",
    "Lou",
    "Anaïs",
    "Mélissa",
    "Kenza",
    "Louna",
    "Wendy",
    "Marine",
    "Justine",
    "Amandine",
    "Cindy",
    "Héloïse",
    "Salomé",
    "Zoé",
)
_FIRST_NAMES_M = (
    "Lucas",
    "Enzo",
    "Nathan",
    "Mathis",
    "Hugo",
    "Théo",
    "Louis",
    "Yanis",
    "Kylian",
    "Rayan",
    "Mohamed",
    "Adam",
    "Ethan",
    "Noah",
    "Gabriel",
    "Jules",
    "Maël",
    "Sacha",
    "Bilal",
    "Ibrahim",
    "Mamadou",
    "Kevin",
    "Dylan",
    "Anthony",
    "Jordan",
    "Jérémy",
    "Loïc",
    "Samuel",
    "Axel",
    "Mehdi",
)
_SURNAMES = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefèvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Robin",
    "Diallo",
    "Traoré",
    "Benali",
    "Haddad",
    "Nguyen",
    "Da Silva",
    "Ferreira",
    "Hoarau",
    "Payet",
    "Grondin",
)


_SEP = {sep: pa.scalar(sep, type=pa.large_string()) for sep in ("", " ")}


def _identifier_columns(rng, n, male, birth, school, habits) -> dict[str, pa.Array]:
    """Fake direct identifiers that a careless export would carry (never real people).

    Built with pyarrow string kernels (table lookups and element-wise joins):
    at 1,000,000 rows Python string concatenation would dominate the run time.
    """

    def table(values) -> pa.Array:
        return pa.array(list(values), type=pa.large_string())

    def pick(values, idx) -> pa.Array:
        return table(values).take(pa.array(idx))

    firsts = [*_FIRST_NAMES_F, *_FIRST_NAMES_M]
    first_idx = np.where(
        male, len(_FIRST_NAMES_F) + rng.integers(len(_FIRST_NAMES_M), size=n), rng.integers(len(_FIRST_NAMES_F), size=n)
    )
    s_idx = rng.integers(len(_SURNAMES), size=n) + np.where(rng.random(n) < 0.5, len(_SURNAMES), 0)
    first = pick(firsts, first_idx)
    surname = pick([*_SURNAMES, *(x.upper() for x in _SURNAMES)], s_idx)
    ascii_first = pick([_strip_accents(x).lower() for x in firsts], first_idx)
    ascii_last = pick(["." + _strip_accents(x).lower().replace(" ", "") for x in _SURNAMES] * 2, s_idx)
    digits = pick([f"{i:02d}" for i in range(100)] + [""] * 100, rng.integers(200, size=n))
    domain = pick(["@example.com", "@example.org", "@example.net"], rng.integers(3, size=n))
    email = pc.binary_join_element_wise(ascii_first, ascii_last, digits, domain, _SEP[""])

    two = [f"{i:02d}" for i in range(100)]
    prefix = pick(["06 39 98", "+33 6 39 98"], (rng.random(n) >= 0.7).astype(np.int64))
    phone = pc.binary_join_element_wise(
        prefix, pick(two, rng.integers(100, size=n)), pick(two, rng.integers(100, size=n)), _SEP[" "]
    )
    none = pa.scalar(None, type=pa.large_string())
    phone = pc.if_else(pa.array(habits["phone"][school] == 1), phone, none)

    # NIR-like: sex, yy, mm, "99" + country code 9xx (unused by INSEE), order, valid key.
    mm = rng.integers(1, 13, size=n)
    body = (
        (np.where(male, 1, 2).astype(np.int64) * 10**12)
        + (birth % 100) * 10**10
        + mm * 10**8
        + 99 * 10**6
        + rng.integers(900, 990, size=n) * 10**3
        + rng.integers(1, 1000, size=n)
    )
    key = 97 - body % 97  # 1..97
    nir = pc.binary_join_element_wise(
        pc.cast(pa.array(body), pa.large_string()), pick([f"{i:02d}" for i in range(98)], key), _SEP[""]
    )
    nir = pc.if_else(pa.array(habits["nir"][school] == 1), nir, none)
    return {"nom": surname, "prenom": first, "email": email, "telephone": phone, "num_secu": nir}
