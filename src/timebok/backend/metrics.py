"""What the backend counts for Prometheus (`/metrics`): requests per route, bookings and refusals, the database pool,
generation runs and the outbox; one process or `--workers N` (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# prometheus-client picks its storage when first imported: with PROMETHEUS_MULTIPROC_DIR set, every process writes its
# values to files there and a scrape sums them. `timebok serve --workers N` sets it (multiprocess_dir below) before
# anything imports this module (server.metrics_folder).
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as _DEFAULT_REGISTRY
from sqlalchemy import Engine, event

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
TOKEN_ENV = "TIMEBOK_METRICS_TOKEN"

# Request durations: 1 ms to 10 s, finer where the goals are (p99 ≤ 100 ms and ≤ 250 ms).
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Histogram(
    "timebok_http_request_duration_seconds",
    "Time from a request's arrival to its answer, by route template (never the raw path: no ids in labels)",
    ("method", "route", "status"),
    buckets=_BUCKETS,
)
BOOKINGS = Counter("timebok_bookings_total", "Booking requests made (POST /fhir/Appointment answered 201)")
CHANGES = Counter("timebok_changes_total", "Appointments moved to another time (issue 24: call metrics.changed())")
CANCELS = Counter("timebok_cancels_total", "Appointments cancelled, by who cancelled", ("by",))
HOLDS = Counter("timebok_holds_total", "Slots held for a citizen while they decide (issue 24: call metrics.held())")
ANSWERS = Counter("timebok_answers_total", "The office's answers to booking requests", ("answer",))
REFUSALS = Counter(
    "timebok_rejections_total",
    "Requests refused by a rule (4xx with an OperationOutcome), by HTTP status and rule code (slot-gone, too-soon, …)",
    ("status", "rule"),
)
OUTBOX_LAG = Gauge(
    "timebok_outbox_lag_seconds",
    "Age of the oldest message not yet sent (issue 25: call metrics.outbox_lag(seconds))",
    multiprocess_mode="max",
)
OUTBOX_FAILURES = Counter(
    "timebok_outbox_failures_total", "Messages whose sending failed (issue 25: call metrics.outbox_failed())"
)
POOL_IN_USE = Gauge(
    "timebok_db_connections_in_use", "Database connections checked out of the pool now", multiprocess_mode="livesum"
)
POOL_OPEN = Gauge("timebok_db_connections_open", "Database connections open now (in use or idle)", multiprocess_mode="livesum")
POOL_TIMEOUTS = Counter("timebok_db_pool_timeouts_total", "Requests that waited in vain for a free connection (answered 503)")
GENERATION_RUNS = Counter("timebok_generation_runs_total", "Free-time generation runs, by outcome", ("outcome",))
GENERATION_SECONDS = Histogram(
    "timebok_generation_duration_seconds", "How long one generation run took", buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
)
GENERATED = Counter(
    "timebok_generated_slots_total", "Free times made (created) or taken away (removed) by generation", ("change",)
)


# One-line hooks for the code that does the thing.
def booked() -> None:
    BOOKINGS.inc()


def changed() -> None:
    CHANGES.inc()


def held() -> None:
    HOLDS.inc()


def cancelled(by_office: bool) -> None:
    CANCELS.labels(by="office" if by_office else "patient").inc()


def answered(accepted: bool) -> None:
    ANSWERS.labels(answer="accepted" if accepted else "declined").inc()


def refused(status: int, rule: str | None) -> None:
    REFUSALS.labels(status=str(status), rule=rule or "none").inc()


def outbox_lag(seconds: float) -> None:
    OUTBOX_LAG.set(seconds)


def outbox_failed() -> None:
    OUTBOX_FAILURES.inc()


def request_done(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method=method, route=route, status=str(status)).observe(seconds)


@contextmanager
def generation_run() -> Iterator[None]:
    """Times one generation run and counts it as ok or failed (re-raising the failure)."""
    with GENERATION_SECONDS.time():
        try:
            yield
        except BaseException:
            GENERATION_RUNS.labels(outcome="failed").inc()
            raise
    GENERATION_RUNS.labels(outcome="ok").inc()


def scrape() -> tuple[bytes, str]:
    """The Prometheus text of this process, or of every process of a `--workers N` server."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(_DEFAULT_REGISTRY), CONTENT_TYPE_LATEST


LOOPBACK = ("127.0.0.1", "::1", "localhost")
FORWARDED = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


def allowed(client_host: str | None, headers: dict[bytes, bytes], token: str | None) -> bool:
    """Who may read /metrics: anyone presenting $TIMEBOK_METRICS_TOKEN as a bearer token, else only a caller on this
    machine that came straight (no proxy's forwarding header: a proxy on the same host would otherwise make every
    caller on the internet look local)."""
    given = headers.get(b"authorization", b"").decode("latin-1")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
        return True
    return client_host in LOOPBACK and not any(name in headers for name in FORWARDED)


def worker_exited(pid: int) -> None:
    """Drop a stopped worker's live gauges (connections in use and open), so they are not summed for ever."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]  # untyped in prometheus-client


def watch_pool(engine: Engine) -> None:
    """Count the engine's connections: open, and checked out by a request."""

    @event.listens_for(engine, "connect")
    def _opened(*_: Any) -> None:
        POOL_OPEN.inc()

    @event.listens_for(engine, "close")
    def _closed(*_: Any) -> None:
        POOL_OPEN.dec()

    @event.listens_for(engine, "checkout")
    def _out(*_: Any) -> None:
        POOL_IN_USE.inc()

    @event.listens_for(engine, "checkin")
    def _in(*_: Any) -> None:
        POOL_IN_USE.dec()
