"""``python -m footfall.devtools.traffic --events N [--out FILE]``: import NDJSON, and its speed."""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from footfall.devtools.traffic.ndjson import write_ndjson


def main(argv: Sequence[str] | None = None) -> int:
    """Writes generated NDJSON to a file or stdout and reports the rate on stderr."""
    parser = argparse.ArgumentParser(description="Generate synthetic footfall NDJSON events.")
    parser.add_argument("--domain", default="demo.example")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--end", default=None, help="ISO end of the window (UTC if no offset); default: now"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="-", help="output file, '-' for stdout")
    args = parser.parse_args(argv)
    end = datetime.datetime.now(datetime.UTC)
    if args.end is not None:
        end = datetime.datetime.fromisoformat(args.end)
        if end.tzinfo is None:
            end = end.replace(tzinfo=datetime.UTC)

    def write(out: TextIO) -> int:
        return write_ndjson(
            out, domain=args.domain, events=args.events, days=args.days, end=end, seed=args.seed
        )

    began = time.perf_counter()
    if args.out == "-":
        n = write(sys.stdout)
    else:
        with open(args.out, "w", encoding="utf-8", buffering=1 << 20) as fh:
            n = write(fh)
    elapsed = time.perf_counter() - began
    print(
        f"wrote {n} events in {elapsed:.2f}s ({n / max(elapsed, 1e-9):,.0f} events/s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
