"""footfall's test suite: it mirrors the package; shared helpers sit at this level."""

from pathlib import Path

# The project's root directory (docs/, footfall/, bench/).
ROOT = Path(__file__).resolve().parents[1]
