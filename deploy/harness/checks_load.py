"""Load: verify throughput through nginx over two nodes and over one, verify's latency while 50
slow clients hold connections, and a node killed (SIGKILL) in the middle of a write load with
nothing acknowledged lost."""

from __future__ import annotations

import re
import statistics
import subprocess
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.common import Instance
from bench.crash import CrashReport, check
from deploy.harness.client import CallFailed, Client, tls_context
from deploy.harness.deployment import Deployment
from deploy.harness.results import Results, require
from deploy.harness.slow import SlowClients

SLOW_CLIENTS = 50
LATENCY_LIMIT_MS = 100.0


def wrk(url: str, key: str, *, seconds: int, connections: int = 16) -> dict[str, float]:
    """Requests per second, latency percentiles (ms) and non-2xx answers, as wrk reports them."""
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {key}",
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert found is not None, output
    result: dict[str, float] = {"rps": round(float(found.group(1)))}
    for label in ("50", "99"):
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)\b", output)
        assert match is not None, output
        value = float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        result[f"p{label}_ms"] = round(value, 1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = int(errors.group(1)) if errors else 0
    return result


def check_throughput(deployment: Deployment, results: Results, seconds: int) -> None:
    recorded = deployment.client().consent(10, f"wrk-{deployment.run_id}")
    path = deployment.client().verify_path(recorded["sha256"])
    key = deployment.keys["writer"]
    runs = {
        "nginx, two nodes": deployment.url + path,
        "nginx, one node": deployment.pinned_url("a") + path,
        "one node without nginx (http)": deployment.nodes["a"].base + path,
    }
    for name, url in runs.items():
        wrk(url, key, seconds=1)  # warm every worker (first PDF-free imports, connections)
        figures = wrk(url, key, seconds=seconds)
        results.figure(f"verify throughput, {name}", figures)
        require(figures["non_2xx"] == 0, f"{name}: {figures['non_2xx']} answers not 2xx")
    two = results.figures["verify throughput, nginx, two nodes"]["rps"]
    one = results.figures["verify throughput, nginx, one node"]["rps"]
    results.figure("verify throughput, two nodes / one node", round(two / one, 2))


def _latencies(client: Client, path: str, seconds: float) -> list[float]:
    """Verify calls, five a second for ``seconds``: each one's latency in ms."""
    samples = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        answer = client.request("GET", path, timeout=10)
        require(answer.status == 200, f"verify during slow clients answered {answer.status}")
        samples.append(answer.seconds * 1000)
        time.sleep(0.2)
    return samples


def check_slow_clients(deployment: Deployment, results: Results, seconds: int) -> None:
    recorded = deployment.client().consent(11, f"slow-{deployment.run_id}")
    path = deployment.client().verify_path(recorded["sha256"])
    baseline = _latencies(deployment.client(keep_alive=True), path, 2)
    slow = SlowClients(deployment.ports.https, tls_context(deployment.certs.ca), SLOW_CLIENTS)
    slow.start()
    try:
        time.sleep(2)
        # Past nginx's client_header_timeout (10 s): the header clients are dropped and return.
        kept = _latencies(deployment.client(keep_alive=True), path, seconds)
        fresh = _latencies(deployment.client(), path, 3)  # a TLS handshake each
        held = sum(1 for _ in slow.sockets)
    finally:
        slow.stop()
    results.figure(
        "verify latency ms without slow clients (median, max)",
        (round(statistics.median(baseline), 1), round(max(baseline), 1)),
    )
    results.figure(
        f"verify latency ms with {SLOW_CLIENTS} slow clients (median, max)",
        (round(statistics.median(kept), 1), round(max(kept), 1)),
    )
    results.figure(
        "same, a new TLS connection per call (median, max)",
        (round(statistics.median(fresh), 1), round(max(fresh), 1)),
    )
    results.figure("slow clients reconnected after nginx dropped them", slow.reconnects)
    require(held == SLOW_CLIENTS, f"only {held} slow clients connected")
    require(
        statistics.median(kept) < LATENCY_LIMIT_MS,
        f"median verify latency {statistics.median(kept):.0f} ms with slow clients",
    )


def contrast_without_nginx(deployment: Deployment, results: Results) -> None:
    """The same slow clients straight at a node (two sync workers): two are enough to stop it.
    A figure for the record, not a check."""
    node = deployment.nodes["b"]
    slow = SlowClients(node.port, None, deployment.workers, headers_only=True)
    slow.start()
    try:
        time.sleep(1)
        recorded_path = "/.well-known/consent-keys"
        started = time.perf_counter()
        try:
            import urllib.request

            urllib.request.urlopen(node.base + recorded_path, timeout=5)  # noqa: S310
            outcome = f"answered in {(time.perf_counter() - started) * 1000:.0f} ms"
        except OSError:
            outcome = "no answer within 5 s"
    finally:
        slow.stop()
    results.figure(f"a node without nginx, {deployment.workers} slow clients", outcome)
    node.wait_up()


def _writer(
    client: Client, salt: str, until: float, acks: list[dict[str, Any]], failed: list[str]
) -> None:
    number = 0
    while time.time() < until:
        number += 1
        try:
            recorded = client.consent(number, salt)
        except CallFailed as exc:
            failed.append(f"{exc.step} {exc.answer.status}")
            time.sleep(0.1)
            continue
        acks.append(
            {
                "consent_id": recorded["consent_id"],
                "log_index": int(recorded["receipt"]["receipt"]["log_index"]),
                "signature": recorded["receipt"]["signature"],
                "sha256": recorded["sha256"],
            }
        )


def check_sigkill_under_writes(deployment: Deployment, results: Results, seconds: int) -> None:
    import json

    acks: list[dict[str, Any]] = []
    failed: list[str] = []
    until = time.time() + seconds
    writers = [
        threading.Thread(
            target=_writer,
            args=(deployment.client(), f"crash{n}-{deployment.run_id}", until, acks, failed),
        )
        for n in range(4)
    ]
    for thread in writers:
        thread.start()
    time.sleep(seconds * 0.35)
    before = len(acks)
    deployment.nodes["a"].kill()  # SIGKILL, master and workers at once
    killed_at = len(acks)
    down = deployment.client(node="a").request("GET", "/api/v1/forms")
    require(
        down.status == 503
        and down.headers.get("retry-after") == "5"
        and down.json()["code"] == 503,
        f"with its node down, nginx answered {down.status} {down.body[:200]!r}",
    )
    time.sleep(seconds * 0.3)
    deployment.start_node("a")
    for thread in writers:
        thread.join()
    results.figure(
        "SIGKILL under writes: acknowledged / failed calls (502 from the killed node)",
        (len(acks), len(failed)),
    )
    require(before > 0 and len(acks) > killed_at, "the writes did not go on across the kill")
    acks_dir = deployment.work / "acks"
    acks_dir.mkdir(exist_ok=True)
    (acks_dir / "acks-0.jsonl").write_text("".join(json.dumps(ack) + "\n" for ack in acks))
    instance = Instance(deployment.work / "instance-a", deployment.database_url)
    try:
        report = CrashReport(writers=len(writers), seconds=seconds, acknowledged=len(acks))
        # check() asks the restarted service for receipts at server.base: node B, directly.
        server: Any = SimpleNamespace(base=deployment.nodes["b"].base)
        check(
            report,
            server=server,
            instance=instance,
            key=deployment.keys["writer"],
            acks_dir=acks_dir,
        )
        orphans = _orphan_media(deployment.work / "shared-media", instance)
    finally:
        instance.dispose()
    results.figure("after the kill: stored consents, audit", (report.stored, report.audit))
    results.figure("encrypted media files without a row (uploads cut by the kill)", orphans)
    require(report.audit_passed, f"audit: {report.audit}")
    require(not report.problems, f"{len(report.problems)} problems: {report.problems[:5]}")
    require(len(acks) > 0 and report.stored >= len(acks), "fewer consents stored than acknowledged")


def _orphan_media(directory: Path, instance: Instance) -> int:
    from sqlalchemy import text

    from consent.db import db

    with instance.app.app_context():
        known = set(
            db.session.scalars(text("SELECT id FROM media_items UNION SELECT id FROM paper_scans"))
        )
        db.session.remove()
    return sum(1 for path in directory.glob("*/*") if path.name not in known)


def run(deployment: Deployment, results: Results, *, quick: bool) -> None:
    with results.check("verify throughput through nginx: two nodes, one node, no nginx"):
        check_throughput(deployment, results, seconds=3 if quick else 10)
    with results.check(f"{SLOW_CLIENTS} slow clients on nginx: verify still under 100 ms"):
        check_slow_clients(deployment, results, seconds=6 if quick else 15)
        contrast_without_nginx(deployment, results)
    with results.check("node A killed (SIGKILL) under writes: nothing acknowledged lost, audit"):
        check_sigkill_under_writes(deployment, results, seconds=12 if quick else 30)
