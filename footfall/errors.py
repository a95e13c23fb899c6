"""footfall's exception tree. Expected outcomes (a dropped event, a rejected line) are values.

FootfallError
 ├── ConfigError       a setting is missing or malformed; the process cannot start
 ├── InvalidInputError a caller gave something footfall cannot use (bad domain, bad scope)
 ├── NotFoundError     a named site or key does not exist
 ├── ConflictError     it already exists
 └── StoreError        the event store or metadata store cannot do what was asked
      ├── StoreBusyError      another process holds the event store
      ├── QueryTimeoutError   a query ran past its time limit and was stopped
      └── QueryRejectedError  the event store refused a value in a query (a bad regex)
"""

from __future__ import annotations


class FootfallError(Exception):
    """Base class of every error footfall raises on purpose; the message is user-facing."""


class ConfigError(FootfallError):
    """A setting is missing or malformed."""


class InvalidInputError(FootfallError):
    """Input that footfall cannot use."""


class NotFoundError(FootfallError):
    """The named thing does not exist."""


class ConflictError(FootfallError):
    """The named thing already exists."""


class StoreError(FootfallError):
    """A store failed."""


class StoreBusyError(StoreError):
    """Another process holds the event store open."""


class QueryTimeoutError(StoreError):
    """A query ran past the configured time limit and was interrupted."""


class QueryRejectedError(StoreError):
    """The event store refused a value in a query; the message says why."""
