"""footfall: self-hosted, privacy-first web analytics compatible with Plausible's APIs."""

__version__ = "0.1.0"
