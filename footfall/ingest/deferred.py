"""Sessions decided after the 202: the ingest tail of workers that share their sessions.

With sessions shared by several workers (`footfall.sessions.store.SharedSessions`) an
accepted event is journalled *before* its session is known, as a pending row: the stored
event row's layout, with the visitor hash under the previous salt where the session id goes,
no visitor number yet, and the attributes of the session the event would open where the
visit attributes go. The writer's apply thread then hands a batch of journal entries to a
`Sessionizer`, which applies them to the shared sessions in one round trip and returns the
event rows to store and the session changes. After a crash the replay does the same with the
entries the store lacks; the shared store recognises events it has applied already.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from footfall.sessions.store import Deferred, Hit, Opening, SessionChange, SharedSessions
from footfall.storage.schema import EVENT_COLUMNS

_PREVIOUS = EVENT_COLUMNS.index("session_id")  # pending rows keep the previous hash there
_VISITOR_ID = EVENT_COLUMNS.index("visitor_id")
_VISIT = EVENT_COLUMNS.index("interactive") + 1
_PROPS_KEYS = EVENT_COLUMNS.index("props_keys")
_PROPS_VALUES = EVENT_COLUMNS.index("props_values")
NO_SESSION_FOR_ENGAGEMENT = "no_session_for_engagement"


class Sessionizer:
    """Turns pending rows of journal entries into event rows and session changes."""

    def __init__(
        self, sessions: SharedSessions, *, stream: int, dropped: Counter[Any] | None = None
    ) -> None:
        """Decides sessions in `sessions` for the journal `stream`.

        Args:
            sessions: The shared sessions.
            stream: The journal stream the entries come from.
            dropped: Where engagement events of no session are counted (the pipeline's).
        """
        self._sessions = sessions
        self.stream = stream
        self._dropped = dropped if dropped is not None else Counter()

    def __call__(
        self, entries: Sequence[tuple[int, Sequence[tuple[Any, ...]]]]
    ) -> tuple[list[tuple[Any, ...]], list[SessionChange]]:
        """Applies entries (journal sequence number, pending rows) in order.

        Returns:
            The event rows to store (engagement events of no session left out) and the
            session changes, in order.

        Raises:
            StoreError: The shared sessions failed; calling again with the same entries is safe.
        """
        pending: list[tuple[Any, ...]] = []
        asked: list[Deferred] = []
        for seq, rows in entries:
            for index, row in enumerate(rows):
                pending.append(row)
                asked.append(_deferred(seq, index, row))
        events: list[tuple[Any, ...]] = []
        changes: list[SessionChange] = []
        dropped = 0
        for row, tracked in zip(
            pending, self._sessions.track_batch(self.stream, asked), strict=True
        ):
            if tracked is None:
                dropped += 1
                continue
            session = tracked.session
            events.append(
                (
                    *row[:_VISITOR_ID],
                    session.visitor_id,
                    session.visitor,
                    session.session_id,
                    *row[_PREVIOUS + 1 : _VISIT],
                    *session.visit,
                )
            )
            if tracked.change is not None:
                changes.append(tracked.change)
        if dropped:
            self._dropped[NO_SESSION_FOR_ENGAGEMENT] += dropped
        return events, changes

    def forget(self, seqs: Sequence[int]) -> None:
        """Lets the shared sessions drop what they kept for these (now stored) entries."""
        self._sessions.forget(self.stream, seqs)


def _deferred(seq: int, index: int, row: tuple[Any, ...]) -> Deferred:
    previous = row[_PREVIOUS]
    visitor_ids = (row[_VISITOR_ID], previous) if previous else (row[_VISITOR_ID],)
    props = tuple(zip(row[_PROPS_KEYS], row[_PROPS_VALUES], strict=True))
    return Deferred(
        seq=seq,
        index=index,
        site_id=row[0],
        visitor_ids=visitor_ids,
        hit=Hit(row[1], row[2], row[3], row[4], bool(row[_VISIT - 1])),
        opening=Opening(visit=tuple(row[_VISIT:]), props=props),
    )
