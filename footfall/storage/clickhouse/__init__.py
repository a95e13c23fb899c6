"""The ClickHouse event store: a ClickHouse server or cluster over HTTP, or chdb in-process.

`store.ClickHouseEventStore` implements `footfall.storage.base.EventStore`; `connection`
turns ``FOOTFALL_EVENTS_URL`` into a client, `migrations` holds the versioned schema and
`params` binds the stats engine's ``$n`` placeholders as typed server-side parameters. Only
this package imports `clickhouse_connect` and `chdb`.
"""
