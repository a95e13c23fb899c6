"""`footfall serve --workers N` is refused on the stores that open in one process only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cluster.harness import environment as _env
from tests.conftest import FOOTFALL, free_port

pytestmark = pytest.mark.slow


def test_more_than_one_worker_on_the_embedded_stores_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [*FOOTFALL, "serve", "--workers", "3", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=_env(FOOTFALL_DATA_DIR=str(tmp_path / "data")),
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: --workers 3 needs stores every worker shares")
    for variable in ("FOOTFALL_EVENTS_URL", "FOOTFALL_DATABASE_URL", "FOOTFALL_REDIS_URL"):
        assert variable in line
    assert not (tmp_path / "data" / "events.duckdb").exists()
