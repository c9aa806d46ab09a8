"""The gateway's figures, in Prometheus' text format. Each gateway has its own registry, so
that several in one process (the tests) keep their own."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

from app.request_record import RequestRecord

# A `_created` series beside every counter and histogram doubles the text for a start time
# nobody graphs.
disable_created_metrics()


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_requests",
            "Requests by GraphQL operation type (none: no operation ran) and outcome (ok or error)",
            ["operation", "outcome"],
            registry=self.registry,
        )
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
        self.open_subscriptions = Gauge(
            "gateway_open_subscriptions", "GraphQL subscriptions open now", registry=self.registry
        )
        self.unbounded_subscriptions = Gauge(
            "gateway_unbounded_subscriptions",
            "Open subscriptions whose caller and filter name no org, app or party: every change is judged for them",
            registry=self.registry,
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
        )

    def record(self, request: RequestRecord, seconds: float) -> None:
        self.requests.labels(request.operation_type, request.outcome).inc()
        self.request_seconds.labels(request.operation_type).observe(seconds)
        for code in request.error_codes:
            self.errors.labels(code).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
