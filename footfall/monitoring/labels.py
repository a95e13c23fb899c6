"""Per-process figures of a worker pool: every sample of a worker's registry carries its index.

Under ``serve --workers N`` each worker answers ``/metrics`` with its own figures (the
connection decides which worker answers). A ``worker`` label on every sample keeps their
series apart in Prometheus, which sums or compares them across the pool; the cluster's shared
figures (Redis, ClickHouse) are the same whichever worker reports them.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric


class WorkerRegistry(CollectorRegistry):
    """A registry that adds ``worker="<index>"`` to every sample it exposes."""

    def __init__(self, worker: int) -> None:
        super().__init__(auto_describe=True)
        self.worker = str(worker)

    def collect(self) -> Iterable[Metric]:
        """Every metric of the registry, its samples labelled with the worker."""
        for metric in super().collect():
            labelled = Metric(metric.name, metric.documentation, metric.type, metric.unit)
            labelled.samples = [
                sample._replace(labels={**sample.labels, "worker": self.worker})
                for sample in metric.samples
            ]
            yield labelled
