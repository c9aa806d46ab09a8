"""The gateway's figures, in Prometheus' text format. Each gateway has its own registry, so
that several in one process (the tests) keep their own.

Under `serve --workers N` each worker process writes its figures to files in a folder the
serving process shares with them (prometheus-client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR),
and /metrics, whichever worker answers it, adds up every worker's."""

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from app.request_record import RequestRecord

# A `_created` series beside every counter and histogram doubles the text for a start time
# nobody graphs.
disable_created_metrics()

# Where the worker processes keep their figures; prometheus-client reads it when first imported.
WORKERS_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# How often each worker writes the gauges that are read from its state, such as its open subscriptions.
GAUGE_SAMPLING_S = 1.0


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.shared_dir = os.environ.get(WORKERS_METRICS_DIR)
        self.requests = Counter(
            "gateway_requests",
            "Requests by GraphQL operation type (none: no operation ran) and outcome (ok or error)",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.worker_requests = Counter(
            "gateway_worker_requests",
            "Requests by the process that served them (its PID): how evenly `serve --workers` share them",
            ["worker"],
            registry=self.registry,
        ).labels(str(os.getpid()))
        self.errors = Counter("gateway_errors", "GraphQL errors by extensions.code", ["code"], registry=self.registry)
        self.request_seconds = Histogram(
            "gateway_request_duration_seconds",
            "Time from a request's start to its response's end, by GraphQL operation type",
            ["operation"],
            registry=self.registry,
        )
        self.database_seconds = Histogram(
            "gateway_database_call_duration_seconds",
            "Time of each database call made for a request, waiting for a server or connection included",
            registry=self.registry,
        )
        # Across workers: the sum of the live ones' values.
        self.open_subscriptions = Gauge(
            "gateway_open_subscriptions",
            "GraphQL subscriptions open now",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.unbounded_subscriptions = Gauge(
            "gateway_unbounded_subscriptions",
            "Open subscriptions whose caller and filter name no org, app or party: every change is judged for them",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.key_fetch_failures = Counter(
            "gateway_openid_key_fetch_failures",
            "Fetches of the OpenID provider's configuration and keys that failed (the keys held stay in use)",
            registry=self.registry,
        )
        self.unrecorded_instances = Gauge(
            "gateway_unrecorded_audit_event_instances",
            "Instances whose applied changes' audit events this gateway could not record yet (it retries)",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self._sampled: dict[Gauge, Callable[[], float]] = {}

    def sample(self, gauge: Gauge, read: Callable[[], float]) -> None:
        """`gauge` tells `read()`: when scraped, or, in a worker process, as of its last write."""
        if self.shared_dir is None:
            gauge.set_function(read)
            return
        if not self._sampled:
            sampling = threading.Thread(target=self._keep_sampling, args=(self.shared_dir,), daemon=True)
            sampling.start()
        self._sampled[gauge] = read

    def record(self, request: RequestRecord, seconds: float) -> None:
        self.requests.labels(request.operation_type, request.outcome).inc()
        self.worker_requests.inc()
        self.request_seconds.labels(request.operation_type).observe(seconds)
        for code in request.error_codes:
            self.errors.labels(code).inc()

    def exposition(self) -> bytes:
        if self.shared_dir is None:
            return generate_latest(self.registry)
        every_worker = CollectorRegistry()
        MultiProcessCollector(every_worker, path=self.shared_dir)
        return generate_latest(every_worker)

    def _keep_sampling(self, shared_dir: str) -> None:
        # A thread of its own: the values are lengths of the event loop's collections, which any
        # thread may read, and their writes then cost the loop nothing.
        while True:
            for gauge, read in list(self._sampled.items()):
                gauge.set(read())
            forget_dead_workers(shared_dir)
            time.sleep(GAUGE_SAMPLING_S)


def forget_dead_workers(shared_dir: str) -> None:
    """Drop the gauges of worker processes that have gone (a crash the server replaced, or one
    stopped): theirs are no longer open subscriptions. Their counters stay in the totals."""
    for path in Path(shared_dir).glob("gauge_live*.db"):
        pid = int(path.stem.rpartition("_")[2])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            with contextlib.suppress(FileNotFoundError):  # another worker was quicker
                mark_process_dead(pid, shared_dir)
