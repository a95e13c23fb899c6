"""SQL for the stats engine: one `Dialect` per backend, the pieces every query shares, and parts.

Nothing here talks to a database: modules produce statement text with numbered ``$n``
placeholders and their values, which the event store (`footfall.storage.base.EventStore.query`)
runs. Only names defined in code (columns, functions) are written into the text.
"""
