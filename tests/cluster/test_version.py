"""Workers sharing one query cache agree on the data version its keys carry."""

from __future__ import annotations

from pathlib import Path

from footfall.cluster.version import SharedDataVersion
from tests.services import chdb_store


def test_a_change_recorded_by_any_process_changes_the_shared_version(tmp_path: Path) -> None:
    store = chdb_store(tmp_path / "chdb")
    try:
        fresh = SharedDataVersion(store, refresh_seconds=0)
        slow = SharedDataVersion(store, refresh_seconds=3600)
        before = fresh()
        assert before > 0 and slow() == before
        store.bump_data_version()  # an import or a site reset, by whichever process
        after = fresh()
        assert after > before
        assert slow() == before  # read again only after its refresh interval
    finally:
        store.close()
