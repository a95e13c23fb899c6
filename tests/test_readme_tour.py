"""The README's five-minute tour, run as written against a real server: it must show numbers.

The commands are the ```` ```sh ```` blocks of the README's "A five-minute tour" section, taken
from README.md at test time and run in order by one bash process (so that `$IMPORT_KEY` and
`$STATS_KEY` carry from one block to the next), in a fresh directory where a real
`footfall serve` keeps its data in `./footfall-data`, as `make run` does. Only these changes
are made to them, each for a reason the README cannot carry:

- the server's address, ``http://127.0.0.1:8000``, becomes the free port the test chose (and
  ``FOOTFALL_URL`` tells `footfall loadtest` the same);
- the load test's latency budget (``--p95-max``) is dropped: the suite never asserts timings,
  and a shared test machine says nothing about footfall's speed; for the same reason the load
  test runs for two seconds (``--duration 2``) rather than ten: the test checks that it runs
  and reports, not what it measures.

And one to the server: it writes sessions within a second of their events
(``FOOTFALL_SESSION_FLUSH_MS=1000``) rather than five, since a script reaches the questions
sooner than a reader does; visitors and bounce rate are counted from sessions (the README
says so).

The tour runs on the real clock and, through libfaketime, on clocks set to other dates: a leap
day late in the UTC evening, in the future, and just after midnight UTC on the night Europe
moves its clocks forward, in the past. Every block must
succeed, and the answers to the Stats API questions must count the events just sent.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess, free_port
from tests.services import chdb_url, unavailable

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[1] / "README.md"
TOUR_HEADING = "## A five-minute tour"
README_URL = "http://127.0.0.1:8000"
MARKER = re.compile(r"\n@@ end of tour block \d+ @@\n")
# Fake clocks: (name, UTC time the clock is set to when the tour starts).
CLOCKS = {
    "leap-day-evening-2028": dt.datetime(2028, 2, 29, 23, 20, tzinfo=dt.UTC),
    "past-2025": dt.datetime(2025, 3, 30, 0, 40, tzinfo=dt.UTC),
}
FAKETIME_LIBRARIES = (
    "/usr/lib/*/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
)


def _tour_section(text: str) -> str:
    start = text.index(TOUR_HEADING)
    return text[start : text.index("\n## ", start + len(TOUR_HEADING))]


def tour_blocks(text: str) -> list[str]:
    """The ```` ```sh ```` blocks of the README's tour section, in order."""
    return re.findall(r"^```sh\n(.*?)^```$", _tour_section(text), re.S | re.M)


def shown_answers(text: str) -> list[Any]:
    """The answers the tour shows its reader (its ```` ```json ```` blocks), in order."""
    found = re.findall(r"^```json\n(.*?)^```$", _tour_section(text), re.S | re.M)
    return [json.loads(answer) for answer in found]


def prepare(block: str, url: str) -> str:
    """`block` as the test runs it (see the module docstring for the only changes)."""
    block = re.sub(r"(footfall loadtest .*)--duration \d+", r"\1--duration 2", block)
    return re.sub(r" --p95-max \d+", "", block.replace(README_URL, url))


@dataclass
class Tour:
    """What each block of the tour printed, by block, and the UTC date it ran on."""

    blocks: list[str]
    outputs: list[str]
    today: dt.date

    def output_of(self, needle: str) -> str:
        """The output of the one block whose text contains `needle`."""
        found = [
            out for block, out in zip(self.blocks, self.outputs, strict=True) if needle in block
        ]
        assert len(found) == 1, f"{len(found)} tour blocks contain {needle!r}"
        return found[0]

    def json_of(self, needle: str) -> Any:
        """The JSON answer printed by the block whose text contains `needle`."""
        return json.loads(self.output_of(needle))


def _faketime_env(at: dt.datetime) -> dict[str, str]:
    """The environment that sets every process's clock to `at` from now on (libfaketime)."""
    libraries = [path for pattern in FAKETIME_LIBRARIES for path in glob.glob(pattern)]
    if not libraries:
        unavailable("libfaketime is not installed (apt-get install libfaketime)")
    offset = round((at - dt.datetime.now(dt.UTC)).total_seconds())
    return {
        "LD_PRELOAD": libraries[0],
        # A relative offset: every process, started now or later, sees the same clock.
        "FAKETIME": f"{offset:+d}",
        # Monotonic clocks stay real: only the date and time of day move.
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        # No shared state between processes (a relative offset needs none): otherwise each
        # process passes its own semaphore on to its children and removes it when it exits,
        # and a command started after the shell's `$(...)` finished failed to start.
        "FAKETIME_FLSHM": "1",
    }


def _run_tour(
    tmp_path: Path, clock_env: dict[str, str], today: dt.date, store: dict[str, str]
) -> Iterator[Tour]:
    blocks = tour_blocks(README.read_text())
    assert len(blocks) >= 8, "the tour lost its command blocks"
    work = tmp_path / "tour"
    work.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
    environ.update(store)
    server = ServerProcess(data_dir=work / "footfall-data", port=free_port())
    server.env = {**clock_env, **store, "FOOTFALL_SESSION_FLUSH_MS": "1000"}
    server.start(timeout=60)
    try:
        script = ["set -euo pipefail"]
        for index, block in enumerate(blocks):
            script += [
                prepare(block, server.url),
                f"printf '\\n@@ end of tour block {index} @@\\n'",
            ]
        # The tour's second step: `. .venv/bin/activate`, so that `footfall` is on the path.
        path = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"
        result = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=work,
            env={**environ, **clock_env, "PATH": path, "FOOTFALL_URL": server.url},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, f"the tour failed:\n{result.stdout}\n{result.stderr}"
        outputs = MARKER.split(result.stdout)
        assert len(outputs) == len(blocks) + 1 and outputs[-1] == "", result.stdout
        yield Tour(blocks, [out.strip() for out in outputs[:-1]], today)
    finally:
        server.stop()


@pytest.fixture(params=["real-clock", "real-clock-chdb", *CLOCKS])
def tour(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tour]:
    """The tour, run to its end on the real clock or a fake one.

    ``real-clock-chdb`` keeps the events in ClickHouse (chdb in the server's process): the
    same tour must give the same answers.
    """
    name = request.param
    today = dt.datetime.now(dt.UTC).date()
    if name == "real-clock":
        yield from _run_tour(tmp_path, {}, today, {})
    elif name == "real-clock-chdb":
        store = {"FOOTFALL_EVENTS_URL": chdb_url(tmp_path / "clickhouse")}
        yield from _run_tour(tmp_path, {}, today, store)
    else:
        clock = CLOCKS[name]
        yield from _run_tour(tmp_path, _faketime_env(clock), clock.date(), {})


def test_the_tour_shows_the_events_it_sent(tour: Tour) -> None:
    for needle in ('"n":"pageview"', '"name":"pageview"', '"n":"Signup"'):
        answer = tour.output_of(needle)
        assert answer.startswith("HTTP/1.1 202"), answer
        assert "x-plausible-dropped" not in answer and answer.endswith("ok"), answer

    assert tour.output_of("cat > events.ndjson") == ""  # the sample file is made silently
    report = tour.json_of("IMPORT_KEY=$(footfall key create")
    assert (report["lines"], report["stored"], report["rejected"]) == (3, 3, 0), report
    refused = [
        out
        for block, out in zip(tour.blocks, tour.outputs, strict=True)
        if "api/import" in block and "IMPORT_KEY=" not in block
    ]
    assert len(refused) == 1 and "already holds the events of this file" in refused[0]
    assert "force=true" in refused[0]

    aggregate = tour.json_of("/api/v1/stats/aggregate")
    # Live: one visitor, two page views and a signup; imported: two visitors, two page views.
    assert aggregate["results"]["visitors"]["value"] == 3, aggregate
    assert aggregate["results"]["pageviews"]["value"] == 4, aggregate
    breakdown = tour.json_of("/api/v1/stats/breakdown")
    assert sorted((row["source"], row["visitors"]) for row in breakdown["results"]) == [
        ("Direct / None", 1),
        ("DuckDuckGo", 1),
    ], breakdown
    assert all(row["conversion_rate"] > 0 for row in breakdown["results"]), breakdown
    # The answers the README shows are the ones the server gave.
    assert shown_answers(README.read_text()) == [aggregate, breakdown]
    pages = tour.json_of("/api/v2/query")
    assert {row["dimensions"][0]: row["metrics"] for row in pages["results"]} == {
        "/": [1, 1],
        "/pricing": [2, 2],
        "/blog": [1, 1],
    }, pages
    # On the clock the test set: "day" is that day.
    assert pages["query"]["date_range"] == [f"{tour.today}T00:00:00Z", f"{tour.today}T23:59:59Z"]

    goals = tour.output_of("footfall goal list")
    assert "Signup" in goals and "Pricing page" in goals
    operate = tour.output_of("footfall loadtest")
    assert "FOOTFALL_DATA_DIR" in operate and "ok" in operate


def test_the_tour_keeps_the_readme_honest() -> None:
    """What the test changes in the commands is only the address and the load test's budget."""
    blocks = tour_blocks(README.read_text())
    text = "\n".join(blocks)
    assert README_URL in text and "--p95-max" in text
    assert re.search(r"footfall loadtest .*--duration \d+", text)
    changed = "\n".join(prepare(block, "http://127.0.0.1:1") for block in blocks)
    expected = re.sub(r"(footfall loadtest .*)--duration \d+", r"\1--duration 2", text)
    expected = re.sub(r" --p95-max \d+", "", expected)
    assert changed.replace("http://127.0.0.1:1", README_URL) == expected
    # Every key the tour makes names its scope, and is kept in a variable it uses.
    for name in ("IMPORT_KEY", "STATS_KEY"):
        made = re.search(rf"{name}=\$\(footfall key create --name \S+ --scope (\S+) ", text)
        assert made, name
        assert f'"Authorization: Bearer ${name}"' in text or f'--key "${name}"' in text
    assert "Bearer KEY" not in text and "$KEY" not in text
    # Periods that end yesterday would not count what the tour just sent.
    assert not re.search(r"period=(7d|30d)|\"date_range\":\"(7d|30d)\"", text)


def test_the_status_says_what_is_not_built_yet() -> None:
    """The Status section calls a command "not built yet" exactly when the CLI lacks it.

    When one of them is built, this fails until the Status section stops listing it.
    """
    import click

    from footfall.cli.main import main

    text = README.read_text()
    status = text[text.index("## Status") : text.index("## Documentation")]
    assert "come next" not in status
    missing = status[status.index("Not built yet:") :] if "Not built yet:" in status else ""
    missing = " ".join(missing.split())
    assert isinstance(main, click.Group)
    ctx = click.Context(main)
    commands = set(main.list_commands(ctx))
    site = main.get_command(ctx, "site")
    assert isinstance(site, click.Group)
    serve = main.get_command(ctx, "serve")
    assert serve is not None
    built = {f"footfall {name}": name in commands for name in ("export", "backup", "restore")}
    built["alert rules"] = "alert" in commands
    for name in ("reset", "set"):
        built[f"site {name}"] = name in site.list_commands(ctx)
    built["--workers"] = any("--workers" in param.opts for param in serve.params)
    for phrase, exists in built.items():
        assert (phrase in missing) != exists, f"{phrase}: update the README's Status"
