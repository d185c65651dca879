"""A rolling restart under load, as docs/operations.md ("Upgrade") describes it: migrations
first, then one node at a time. Node A: drained in nginx, stopped gracefully (SIGTERM),
started, put back. Node B: reloaded in place (SIGHUP: new workers, the old ones finish). A
client that asks idempotent calls again (GET, on no answer or 502/503/504) and never repeats a
write must see no failure at all. Then the audit, and the daily expiry run."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

from consent.crypto.keyring import SIGNING_KEYS_FILE
from deploy.harness.client import CallFailed, Client
from deploy.harness.deployment import Deployment
from deploy.harness.results import Results, require

RETRIED_STATUSES = {0, 502, 503, 504}
RETRIES = 5


@dataclass
class Tally:
    writes: int = 0
    reads: int = 0
    retries: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _read(client: Client, path: str, tally: Tally) -> None:
    """A GET, asked again up to RETRIES times on no answer or a gateway error."""
    for attempt in range(RETRIES + 1):
        answer = client.request("GET", path, timeout=30)
        if answer.status == 200:
            with tally.lock:
                tally.reads += 1
            return
        if answer.status not in RETRIED_STATUSES or attempt == RETRIES:
            with tally.lock:
                tally.failures.append(f"GET {path.split('?')[0]}: {answer.status}")
            return
        with tally.lock:
            tally.retries += 1
        time.sleep(0.2 * (attempt + 1))


def _client_loop(client: Client, salt: str, stop: threading.Event, tally: Tally) -> None:
    number = 0
    while not stop.is_set():
        number += 1
        try:
            recorded = client.consent(number, salt)  # four POSTs: never repeated
        except CallFailed as exc:
            with tally.lock:
                tally.failures.append(f"{exc.step}: {exc.answer.status} {exc.answer.body[:80]!r}")
            continue
        with tally.lock:
            tally.writes += 1
        for _ in range(3):
            _read(client, client.verify_path(recorded["sha256"]), tally)
        _read(client, f"/api/v1/consents/{recorded['consent_id']}/receipt", tally)


def rolling_restart(deployment: Deployment, results: Results, pause: float) -> None:
    a, b = deployment.nodes["a"], deployment.nodes["b"]
    started = time.monotonic()
    deployment.flask("db", "upgrade")  # migrations first, while the old code still serves
    time.sleep(pause)
    # Node A: out of nginx's rotation, stopped gracefully, started, back in.
    old_pid = a.pid
    deployment.set_drained({"a"})
    results.figure("node A graceful stop (s)", round(a.stop(), 1))
    deployment.start_node("a")
    deployment.set_drained(set())
    require(a.pid != old_pid, "node A was not restarted")
    time.sleep(pause)
    # Node B: reloaded in place.
    old_workers = set(b.workers())
    b.reload()
    require(not old_workers & set(b.workers()), "node B's workers were not replaced")
    time.sleep(pause)
    results.figure("rolling restart (s)", round(time.monotonic() - started, 1))


def check_rolling_restart(deployment: Deployment, results: Results, pause: float) -> None:
    tally, stop = Tally(), threading.Event()
    clients = [
        threading.Thread(
            target=_client_loop,
            args=(deployment.client(), f"roll{n}-{deployment.run_id}", stop, tally),
        )
        for n in range(3)
    ]
    for thread in clients:
        thread.start()
    try:
        rolling_restart(deployment, results, pause)
    finally:
        stop.set()
        for thread in clients:
            thread.join(timeout=120)
    results.figure(
        "rolling restart: writes, reads, reads asked again, failed requests",
        (tally.writes, tally.reads, tally.retries, len(tally.failures)),
    )
    require(tally.writes > 0 and tally.reads > 0, "the clients did nothing during the restart")
    require(not tally.failures, f"failed during the rolling restart: {tally.failures[:10]}")


def _published(deployment: Deployment, node: str) -> dict[str, str]:
    keys = deployment.client(key="", node=node).expect(
        "keys", 200, "GET", "/.well-known/consent-keys"
    )
    return {key["key_id"]: key["status"] for key in keys["keys"]}


def _signed_and_checked(deployment: Deployment, signer: str, checker: str, tag: str) -> str:
    """A consent recorded through ``signer``, verified through ``checker``: the signing key id."""
    recorded = deployment.client(node=signer).consent(20, f"{tag}-{signer}-{deployment.run_id}")
    decision = deployment.client(node=checker).verify(recorded["sha256"])
    require(decision == "allowed", f"node {checker} verifies node {signer}'s receipt: {decision}")
    receipt = deployment.client(node=checker).expect(
        "receipt", 200, "GET", f"/api/v1/consents/{recorded['consent_id']}/receipt"
    )
    return str(receipt["key_id"])


def check_key_rotation(deployment: Deployment, results: Results) -> None:
    """docs/operations.md, "Rotating the signing key", on node A (keys in files) and node B
    (keys in its environment file), one node reloaded at a time, calls between each step:
    1. the new key published as "next" (A: ``rotate-key --next``; B: CONSENT_NEXT_SIGNING_KEYS);
    2. promoted (A: ``rotate-key --promote``; B: the seed moved to CONSENT_SIGNING_KEYS).
    At every step each node records consents and verifies the other's; the audit at the end
    checks every signature."""
    old = _published(deployment, "a")
    (old_id,) = [key_id for key_id, status in old.items() if status == "active"]
    out = deployment.flask("rotate-key", "--next", node="a")
    new_id = out.split("new next key ", 1)[1].split(":", 1)[0]
    document = json.loads((deployment.work / "instance-a" / "keys" / SIGNING_KEYS_FILE).read_text())
    new_seed = next(entry["seed"] for entry in document["keys"] if entry.get("next"))
    deployment.secrets["next"] = new_seed
    deployment.write_env_file("b")
    steps = []
    for node in ("a", "b"):  # step 1, node by node: a node knows the key before any signs
        deployment.nodes[node].reload()
        require(_published(deployment, node).get(new_id) == "next", f"node {node}: no next key")
        steps.append(_signed_and_checked(deployment, "a", "b", f"next{node}"))
        steps.append(_signed_and_checked(deployment, "b", "a", f"next{node}"))
    require(set(steps) == {old_id}, f"a next key signed: {steps}")
    deployment.flask("rotate-key", "--promote", node="a")
    deployment.secrets["seed"] += "," + new_seed
    deployment.secrets["next"] = ""
    deployment.write_env_file("b")
    deployment.nodes["a"].reload()  # A signs with the new key; B still signs with the old
    require(_published(deployment, "a").get(new_id) == "active", "node A did not promote")
    window = (
        _signed_and_checked(deployment, "a", "b", "window"),
        _signed_and_checked(deployment, "b", "a", "window"),
    )
    require(window == (new_id, old_id), f"keys while half promoted: {window}")
    deployment.nodes["b"].reload()
    for node in ("a", "b"):
        states = _published(deployment, node)
        require(states == {old_id: "retired", new_id: "active"}, f"node {node} publishes {states}")
        require(_signed_and_checked(deployment, node, "ab"[node == "a"], "done") == new_id, node)
    results.figure(
        "signing key rotated by next, then promote, one node at a time", f"{old_id} -> {new_id}"
    )
    deployment.deliverer.stop()  # systemctl restart consent-deliver: it loads the keys at start
    deployment.deliverer.start()


def check_audit_and_expiry(deployment: Deployment, results: Results) -> None:
    out = deployment.flask("audit", node="b")
    results.figure(
        "final audit (node B's keys, from the environment)", out.strip().splitlines()[-1]
    )
    require(out.strip().splitlines()[-1].startswith("audit passed"), out)
    expired = deployment.flask("expire")
    require("consents expired" in expired, f"expire printed {expired!r}")


def run(deployment: Deployment, results: Results, *, quick: bool) -> None:
    with results.check(
        "rolling restart under load: migrations, then node A drained, then B reloaded"
    ):
        check_rolling_restart(deployment, results, pause=2.0 if quick else 5.0)
    with results.check("signing key rotated node by node (next, then promote): no window"):
        check_key_rotation(deployment, results)
    with results.check("audit passes at the end; the daily expiry run works"):
        check_audit_and_expiry(deployment, results)
