"""Visit attributes of sessions, from each session's first event, once per distinct input.

Source and channel (`SourceClassifier`) per distinct (referrer, page source context), country
per distinct IP (`footfall.ingest.bulk.countries`), browser, OS and device per distinct
User-Agent (`UserAgentParser`): the live pipeline's own functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from footfall.ingest.bulk.countries import countries
from footfall.ingest.bulk.distinct import Encoded, combine, encode_keys, first_rows
from footfall.ingest.bulk.pages import Pages
from footfall.ingest.geo import GeoLocator
from footfall.ingest.sources import SourceClassifier
from footfall.ingest.useragent import UserAgentInfo
from footfall.storage.schema import VISIT_COLUMNS

Ints = npt.NDArray[np.int64]
_SOURCE_COLUMNS = VISIT_COLUMNS[: VISIT_COLUMNS.index("country")]
_AGENT_COLUMNS = VISIT_COLUMNS[VISIT_COLUMNS.index("device") :]


@dataclass(frozen=True, slots=True)
class Column:
    """One visit attribute: distinct values, and a code per session into them."""

    values: list[str]
    codes: Ints


def visit_columns(
    *,
    referrers: Encoded[str],
    urls: Ints,
    pages: Pages,
    ips: Encoded[str],
    agents: Encoded[str],
    agent_info: list[UserAgentInfo],
    sources: SourceClassifier,
    geo: GeoLocator,
) -> dict[str, Column]:
    """Every string visit attribute of each session (`region` and `city` are never set).

    Args:
        referrers: Referrer of each session's first event (codes into every distinct one).
        urls: Code of each session's first event's URL in `pages`.
        pages: The distinct URLs, parsed.
        ips: IP address of each session's first event (codes into every distinct one).
        agents: User-Agent of each session's first event (codes into every distinct one).
        agent_info: `agents.values`, parsed.
        sources: The live pipeline's source classifier.
        geo: The live pipeline's locator.
    """
    columns: dict[str, Column] = {}
    contexts = pages.contexts[urls]
    pairs = encode_keys(
        combine((referrers.codes, len(referrers.values)), (contexts, len(pages.context_values)))[0]
    )
    found = []
    for row in first_rows(pairs.codes).tolist():
        referrer = referrers.values[referrers.codes[row]]
        hostname, params = pages.context_values[contexts[row]]
        found.append(
            sources.classify(referrer=referrer or None, page_hostname=hostname, query=dict(params))
        )
    for name in _SOURCE_COLUMNS:
        columns[name] = Column([getattr(source, name) for source in found], pairs.codes)
    columns["country"] = Column(countries(ips.values, geo), ips.codes)
    for name in _AGENT_COLUMNS:
        columns[name] = Column([getattr(info, name) for info in agent_info], agents.codes)
    return columns
