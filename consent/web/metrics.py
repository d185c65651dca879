"""Metrics in the Prometheus text format, for ``GET /metrics`` (consent.api.operations).

Two kinds:
- counted by the workers as they answer (requests by route and status, verify's latency, rate
  limit refusals, the rate-limit store's fallback). Under gunicorn every worker is a process of
  its own: with ``PROMETHEUS_MULTIPROC_DIR`` set (deploy/gunicorn.conf.py sets it and empties it
  when the node starts) each worker writes its counts to a file there and a scrape adds up every
  worker of the node, the ones that exited included (prometheus_client's multiprocess mode).
  Without it (``make run``, the tests) a scrape shows the answering process's own counts.
- read at scrape time by the view (consent.api.operations): the log's size and the webhook
  outbox from the database (the same on every node, which share it), and the node's keys.

Labels are bounded: a route is the URL rule (``/api/v1/consents/<consent_id>/receipt``), never
the path, and "(unmatched)" for anything no rule matched; nothing names a patient.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Flask, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["CONTENT_TYPE", "ROUTE", "exposition", "observe_request"]

# The text format every Prometheus server reads (names here are plain, nothing to escape).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Set in the WSGI environ by a layer that answers before Flask routes (the verify fast path).
ROUTE = "consent.route"
UNMATCHED = "(unmatched)"
VERIFY_ROUTE = "/api/v1/verify"
# Verify answers in about a millisecond by hash and in tens to thousands by upload (a video).
VERIFY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# The metrics of this process; a scrape reads them from here, or from every worker's files.
PROCESS = CollectorRegistry()
REQUESTS = Counter(
    "consent_http_requests",
    "HTTP requests answered, by URL rule, method and status.",
    ("route", "method", "status"),
    registry=PROCESS,
)
VERIFY_SECONDS = Histogram(
    "consent_verify_duration_seconds",
    "Time to answer a verify call (GET: by hash; POST: by upload), fast path included.",
    ("method",),
    buckets=VERIFY_BUCKETS,
    registry=PROCESS,
)
RATELIMIT_REFUSED = Counter(
    "consent_ratelimit_refused",
    "Requests refused with 429, by limit (verify, login, withdrawal_code, signing_link, ...).",
    ("limit",),
    registry=PROCESS,
)
RATELIMIT_STORE_FALLBACK = Counter(
    "consent_ratelimit_store_fallback",
    "Verify calls counted in a worker's memory because the shared store (Redis) failed.",
    registry=PROCESS,
)

# Label children, looked up once: .labels() takes a lock and a hash, which cost more than
# counting itself (1 to 2 µs), on every request of the verify hot path.
_children: dict[tuple[str, str, int], Any] = {}
_timers: dict[str, Any] = {}


def init_app(app: Flask) -> None:
    app.before_request(_mark_route)


def _mark_route() -> None:
    # Flask forgets its request (and its matched rule) before the request log's layer gets the
    # answer back: the rule is written into the environ, which outlives it.
    rule = request.url_rule
    if rule is not None:
        request.environ[ROUTE] = rule.rule


def route_of(environ: dict[str, Any]) -> str:
    """The URL rule that answered, as marked by Flask's hook or the fast path."""
    return str(environ.get(ROUTE) or UNMATCHED)


def observe_request(environ: dict[str, Any], status: int, seconds: float) -> None:
    """Count one answered request (called by the request log, for every request)."""
    route = route_of(environ)
    method = str(environ.get("REQUEST_METHOD", ""))[:10]
    key = (route, method, status)
    child = _children.get(key)
    if child is None:
        child = _children[key] = REQUESTS.labels(route, method, str(status))
    child.inc()
    if route == VERIFY_ROUTE and status < 500:
        timer = _timers.get(method)
        if timer is None:
            timer = _timers[method] = VERIFY_SECONDS.labels(method)
        timer.observe(seconds)


def refused(limit: str) -> None:
    RATELIMIT_REFUSED.labels(limit).inc()


class _Fixed:
    """A collector of metric families computed before the scrape."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def exposition(read_now: Iterable[Metric]) -> bytes:
    """The workers' metrics and ``read_now`` in the Prometheus text format (version 0.0.4)."""
    registry = CollectorRegistry(auto_describe=False)
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory:
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Fixed(PROCESS.collect()))
    registry.register(_Fixed(read_now))
    return generate_latest(registry)
