"""``footfall loadtest``: simulated dashboard users (and ingest traffic) against a running server.

`footfall.devtools.loadtest.mix` is plain data and standard library only, so that the Locust file in
``bench/`` can share the query mix without importing httpx or asyncio; the runner
(`footfall.devtools.loadtest.runner`) and the report (`footfall.devtools.loadtest.report`) are
imported by the command only when it runs.
"""
