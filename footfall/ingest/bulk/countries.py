"""Countries of many IP addresses at once, from the live pipeline's own network table.

Dotted IPv4 addresses in the one form `socket.inet_pton` accepts are looked up together with
`numpy.searchsorted` in `footfall.ingest.geo.ipv4_ranges()`; every other text (IPv6, spaces,
brackets, garbage) goes through `GeoLocator.country`, once per distinct value.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from footfall.ingest.geo import GeoLocator, ipv4_ranges

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"


def countries(addresses: list[str], geo: GeoLocator) -> list[str]:
    """The country code of each address ("" when unknown), in the order given."""
    text = pa.array(addresses, pa.string())
    dotted = np.asarray(pc.match_substring_regex(text, _DOTTED_QUAD).to_numpy(zero_copy_only=False))
    found = np.full(len(addresses), "", dtype="<U2")
    rows = np.flatnonzero(dotted)
    if len(rows):
        octets = pc.list_flatten(pc.split_pattern(text.take(pa.array(rows)), "."))
        parts = np.asarray(pc.cast(octets, pa.int64()).to_numpy()).reshape(-1, 4)
        numbers = (parts[:, 0] << 24) | (parts[:, 1] << 16) | (parts[:, 2] << 8) | parts[:, 3]
        firsts, lasts, codes = ipv4_ranges()
        index = np.searchsorted(firsts, numbers, side="right") - 1
        inside = (index >= 0) & (numbers <= lasts[np.maximum(index, 0)])
        found[rows[inside]] = codes[index[inside]]
    result: list[str] = found.tolist()
    for row in np.flatnonzero(~dotted).tolist():
        result[row] = geo.country(addresses[row])
    return result
