"""What the live pipeline takes from a page URL, once per distinct URL."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from footfall.ingest.domains import root_domain
from footfall.ingest.sources import SOURCE_PARAMS
from footfall.ingest.urls import parse_page_url

# (page hostname, the query parameters that can name a source): all of a page that the
# source classification reads.
SourceContext = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(slots=True)
class Pages:
    """Per distinct URL, in the order of their codes: hostname, pathname, root, source context.

    Attributes:
        hostnames: Stored hostname of each URL.
        pathnames: Stored pathname of each URL.
        root_names: The distinct root domains (part of the visitor hash).
        context_values: The distinct source contexts.
    """

    hostnames: list[str] = field(default_factory=list)
    pathnames: list[str] = field(default_factory=list)
    root_names: list[str] = field(default_factory=list)
    context_values: list[SourceContext] = field(default_factory=list)
    _root_codes: list[int] = field(default_factory=list)
    _context_codes: list[int] = field(default_factory=list)
    _roots: dict[str, int] = field(default_factory=dict)
    _contexts: dict[SourceContext, int] = field(default_factory=dict)

    def add(self, urls: list[str]) -> None:
        """Parses new URLs with the live pipeline's `parse_page_url` and `root_domain`."""
        for url in urls:
            page = parse_page_url(url)
            self.hostnames.append(page.hostname)
            self.pathnames.append(page.pathname)
            root = root_domain(page.hostname)
            if root not in self._roots:
                self._roots[root] = len(self.root_names)
                self.root_names.append(root)
            self._root_codes.append(self._roots[root])
            params = tuple((k, page.query[k]) for k in SOURCE_PARAMS if k in page.query)
            context = (page.hostname, params)
            if context not in self._contexts:
                self._contexts[context] = len(self.context_values)
                self.context_values.append(context)
            self._context_codes.append(self._contexts[context])

    @property
    def roots(self) -> npt.NDArray[np.int64]:
        """Code of each URL's root domain in `root_names`."""
        return np.array(self._root_codes, dtype=np.int64)

    @property
    def contexts(self) -> npt.NDArray[np.int64]:
        """Code of each URL's source context in `context_values`."""
        return np.array(self._context_codes, dtype=np.int64)
