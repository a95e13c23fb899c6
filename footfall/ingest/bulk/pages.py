"""What the live pipeline takes from a page URL, once per distinct URL."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from footfall.ingest.bulk.distinct import Encoded
from footfall.ingest.domains import root_domain
from footfall.ingest.sources import SOURCE_PARAMS
from footfall.ingest.urls import parse_page_url

# (page hostname, the query parameters that can name a source): all of a page that the
# source classification reads.
SourceContext = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class Pages:
    """Per distinct URL: its hostname, pathname, root domain and source context.

    Attributes:
        hostnames: Stored hostname of each URL.
        pathnames: Stored pathname of each URL.
        roots: Code of each URL's root domain in `root_names` (part of the visitor hash).
        root_names: The distinct root domains.
        contexts: Code of each URL's source context in `context_values`.
        context_values: The distinct source contexts.
    """

    hostnames: list[str]
    pathnames: list[str]
    roots: npt.NDArray[np.int64]
    root_names: list[str]
    contexts: npt.NDArray[np.int64]
    context_values: list[SourceContext]


def parse_pages(urls: Encoded[str]) -> Pages:
    """Parses each distinct URL with the live pipeline's `parse_page_url` and `root_domain`."""
    hostnames: list[str] = []
    pathnames: list[str] = []
    roots: dict[str, int] = {}
    contexts: dict[SourceContext, int] = {}
    root_codes: list[int] = []
    context_codes: list[int] = []
    for url in urls.values:
        page = parse_page_url(url)
        hostnames.append(page.hostname)
        pathnames.append(page.pathname)
        root_codes.append(roots.setdefault(root_domain(page.hostname), len(roots)))
        params = tuple((k, page.query[k]) for k in SOURCE_PARAMS if k in page.query)
        context_codes.append(contexts.setdefault((page.hostname, params), len(contexts)))
    return Pages(
        hostnames=hostnames,
        pathnames=pathnames,
        roots=np.array(root_codes, dtype=np.int64),
        root_names=list(roots),
        contexts=np.array(context_codes, dtype=np.int64),
        context_values=list(contexts),
    )
