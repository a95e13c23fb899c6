"""Country and region names for the dashboard, from the ISO 3166 tables ``pycountry`` ships.

Events store ISO codes (``DE``, ``US-MD``); people read names. The tables are installed with the
package, so nothing is fetched at run time. A flag is the pair of regional-indicator symbols
for the code: an emoji, decoration only, next to a name that is always written out.
"""

from __future__ import annotations

import functools

import pycountry

_REGIONAL_A = 0x1F1E6


@functools.lru_cache(maxsize=512)
def country_name(code: str) -> str:
    """The common English name of an ISO 3166-1 alpha-2 code (``KR`` is "South Korea").

    Codes the standard does not know (``A1``, Plausible's anonymous-proxy marker) come back as
    they are.
    """
    found = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    if found is None:
        return code
    return str(getattr(found, "common_name", None) or found.name)


def country_flag(code: str) -> str:
    """The flag emoji of a two-letter code, or "" for anything else."""
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return ""
    return "".join(chr(_REGIONAL_A + ord(letter) - ord("A")) for letter in code.upper())


@functools.lru_cache(maxsize=512)
def region_name(code: str) -> str:
    """The name of an ISO 3166-2 subdivision code (``US-MD`` is "Maryland"), else the code."""
    found = pycountry.subdivisions.get(code=code) if "-" in code else None  # type: ignore[no-untyped-call]
    return str(found.name) if found is not None else code


def matching_countries(text: str) -> list[str]:
    """The codes of the countries whose name or code contains `text` (any case), sorted."""
    needle = text.casefold().strip()
    if not needle:
        return []
    found = []
    for country in pycountry.countries:
        names = (country.alpha_2, country.name, getattr(country, "common_name", ""))
        if any(needle in str(name).casefold() for name in names if name):
            found.append(str(country.alpha_2))
    return sorted(found)
