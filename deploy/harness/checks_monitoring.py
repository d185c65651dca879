"""What monitoring reads (docs/operations.md, "Monitoring"): /health through the site, and each
node's /metrics at the node's own address, every worker of the node added up; not through the
site."""

from __future__ import annotations

import threading
import urllib.request
from urllib.parse import urlencode

from prometheus_client.parser import text_string_to_metric_families

from deploy.harness.deployment import Deployment
from deploy.harness.results import Results, require

CALLS = 40


def _node_get(deployment: Deployment, node: str, path: str, key: str = "") -> tuple[int, bytes]:
    request = urllib.request.Request(deployment.nodes[node].base + path)  # noqa: S310
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return response.status, response.read()


def _scrape(
    deployment: Deployment, node: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = _node_get(deployment, node, "/metrics", deployment.keys["auditor"])
    require(status == 200, f"node {node}'s /metrics answered {status}")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def check_health_and_metrics(deployment: Deployment, results: Results) -> None:
    site = deployment.client(key="")
    health = site.request("GET", "/health")
    require(
        health.status == 200 and health.json() == {"status": "ok", "database": "ok"},
        f"/health through nginx: {health.status} {health.body[:200]!r}",
    )
    hidden = deployment.client("auditor").request("GET", "/metrics")
    require(hidden.status == 404, f"/metrics through the site answered {hidden.status}")
    recorded = deployment.client().consent(30, f"metrics-{deployment.run_id}")
    path = "/api/v1/verify?" + urlencode({"sha256": recorded["sha256"], "purpose": "teaching"})
    labels = (("method", "GET"), ("route", "/api/v1/verify"), ("status", "200"))
    key = ("consent_http_requests_total", labels)
    before = _scrape(deployment, "a").get(key, 0.0)

    def calls(count: int) -> None:
        for _ in range(count):
            _node_get(deployment, "a", path, deployment.keys["writer"])

    # Concurrent callers, so that every worker of the node answers some of them.
    threads = [threading.Thread(target=calls, args=(CALLS // 4,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = _scrape(deployment, "a")
    counted = after.get(key, 0.0) - before
    results.figure(f"node A's /metrics: verify calls counted of {CALLS} sent", counted)
    require(counted == CALLS, f"node A counted {counted} of {CALLS} verify calls")
    # The log's size, as the signed checkpoint states it (nothing is written meanwhile).
    note = deployment.client().request("GET", "/api/v1/log/checkpoint")
    require(note.status == 200, f"checkpoint: {note.status}")
    size = int(note.body.decode().splitlines()[1])  # c2sp.org/tlog-checkpoint: origin, size
    entries = after[("consent_log_entries", ())]
    require(entries == size, f"consent_log_entries {entries}, the checkpoint's size {size}")


def run(deployment: Deployment, results: Results) -> None:
    with results.check("monitoring: /health through nginx; each node's /metrics adds its workers"):
        check_health_and_metrics(deployment, results)
