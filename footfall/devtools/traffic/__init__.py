"""The one synthetic-traffic generator: realistic, seeded visits to a product site.

Everything that needs traffic draws it from here: ``footfall serve --demo`` and ``footfall
demo-data`` (import NDJSON), the load test and the ingest benchmarks (Events API requests), the
capacity probe and the query benchmarks. One model, two outputs:

* the vocabulary: `pages` (a Zipf-like popularity over ~320 paths and a few dead links),
  `sources` (search, social, news, GitHub, newsletters with ``utm_*`` tags, paid clicks, ~40 %
  direct), `goals` (custom events with props), `agents` (~30 browsers by share, crawlers),
  `addresses` (public ranges of 30 countries, some IPv6) and `rhythm` (hour of day, weekday,
  growth, noise and one Hacker News spike);
* `visits`: visitors (some returning) and their visits, drawn hour by hour;
* outputs: `ndjson` (import lines over a window of days, the same lines for the same seed)
  and `events_api` (endless ``POST /api/event`` bodies with a browser's headers).

Standard library only, so that the Locust file can use it in Locust's own process.
"""

from footfall.devtools.traffic.events_api import TrackerRequest, tracker_requests
from footfall.devtools.traffic.ndjson import generate_batches, generate_lines, write_ndjson

__all__ = [
    "TrackerRequest",
    "generate_batches",
    "generate_lines",
    "tracker_requests",
    "write_ndjson",
]
