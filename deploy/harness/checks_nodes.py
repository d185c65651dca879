"""What two nodes over one database, one Redis and one media directory must give: the core
loop, a withdrawal seen at once on the other node, a photo stored by one node read by the
other, rate limits counted across nodes, and each webhook delivered once."""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

from deploy.harness.deployment import Deployment
from deploy.harness.receiver import https_receiver
from deploy.harness.results import Results, require


def check_core_loop(deployment: Deployment) -> None:
    client = deployment.client()
    recorded = client.consent(1, f"core-{deployment.run_id}")
    require(recorded["consent_id"].startswith("cs_"), f"decision answered {recorded}")
    require(client.verify(recorded["sha256"]) == "allowed", "verify after the decision")
    require(
        client.verify(recorded["sha256"], "public_social_network") == "not_covered",
        "a purpose never asked for is covered",
    )


def check_withdrawal_across_nodes(deployment: Deployment) -> None:
    on_a, on_b = deployment.client(node="a"), deployment.client(node="b")
    recorded = on_a.consent(2, f"withdraw-{deployment.run_id}")
    require(on_b.verify(recorded["sha256"]) == "allowed", "node B before the withdrawal")
    path = f"/api/v1/consents/{recorded['consent_id']}/withdrawal"
    on_a.expect("withdrawal", 201, "POST", path, json_body={})
    decision = on_b.verify(recorded["sha256"])
    require(decision == "withdrawn", f"node B's next verify after node A's withdrawal: {decision}")


def check_shared_media(deployment: Deployment) -> None:
    recorded = deployment.client(node="a").consent(3, f"media-{deployment.run_id}")
    answer = deployment.client(node="b").request(
        "GET", f"/api/v1/consents/{recorded['consent_id']}/receipt.pdf"
    )
    require(
        answer.status == 200 and answer.body.startswith(b"%PDF"),
        f"node B's receipt PDF (with node A's photo): {answer.status} {answer.body[:120]!r}",
    )


def _login_form(deployment: Deployment, node: str | None = "a") -> tuple[str, str, bool]:
    """The log-in page (from node A, or through the site): its CSRF token, the session cookie
    that goes with it, and whether its Referrer-Policy lets a browser send a Referer back."""
    page = deployment.client(key="", node=node).request("GET", "/clinician/login")
    require(page.status == 200, f"log-in page: {page.status}")
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.body)
    require(token is not None, "no CSRF token on the log-in page")
    cookies = [
        value.split(";", 1)[0] for name, value in page.header_list if name.lower() == "set-cookie"
    ]
    assert token is not None
    referer = page.headers.get("referrer-policy", "") != "no-referrer"
    return token.group(1).decode(), "; ".join(cookies), referer


def _form_headers(cookie: str, base: str, referer: bool) -> dict[str, str]:
    """What a browser sends with the log-in form it got from ``base``."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    if referer:
        headers["Referer"] = base + "/clinician/login"
    return headers


def check_login_over_https(deployment: Deployment) -> None:
    """A clinician logs in through nginx over https, as a browser would: the CSRF check holds
    behind TLS and the proxy (the page's token, its cookie, and a Referer when the page's
    Referrer-Policy lets one be sent)."""
    token, cookie, referer = _login_form(deployment, node=None)
    form = urlencode(
        {"email": deployment.email, "password": deployment.password, "csrf_token": token}
    )
    answer = deployment.client(key="").request(
        "POST",
        "/clinician/login",
        body=form.encode(),
        headers=_form_headers(cookie, deployment.url, referer),
    )
    location = answer.headers.get("location", "")
    require(
        answer.status == 302 and "/clinician" in location and "login" not in location,
        f"log-in over https answered {answer.status} {location!r} {answer.body[:200]!r}",
    )


def check_rate_limit_across_nodes(deployment: Deployment, results: Results) -> None:
    """Failed log-ins per address ("10 per minute"), alternately on node A and node B, each
    with another e-mail (so only the address counter can trip) and another forged
    X-Forwarded-For (which nginx's own entry after it must make useless). A CSRF token from
    node A is accepted by node B: one secret key."""
    token, cookie, referer = _login_form(deployment)
    statuses = []
    for attempt in range(11):
        node = "ab"[attempt % 2]
        form = urlencode(
            {
                "email": f"nobody{attempt}-{deployment.run_id}@hospital.example",
                "password": "wrong password " * 2,
                "csrf_token": token,
            }
        )
        answer = deployment.client(key="", node=node).request(
            "POST",
            "/clinician/login",
            body=form.encode(),
            headers={
                **_form_headers(cookie, deployment.pinned_url(node), referer),
                "X-Forwarded-For": f"198.51.100.{attempt + 1}",
            },
        )
        statuses.append(answer.status)
    results.figure("failed log-ins A/B alternately, statuses", statuses)
    require(statuses[:10] == [401] * 10, f"the first ten failed log-ins answered {statuses[:10]}")
    require(statuses[10] == 429, f"the eleventh, across both nodes, answered {statuses[10]}")


def check_webhooks_once(deployment: Deployment, results: Results) -> None:
    """Events emitted on node A and on node B, two deliverers racing: each delivered once."""
    hooks = deployment.client("hooks")
    with https_receiver(deployment.certs) as receiver:
        endpoint = hooks.expect(
            "register",
            201,
            "POST",
            "/api/v1/webhooks",
            json_body={"url": receiver.url, "events": ["consent.created", "consent.withdrawn"]},
        )
        receiver.secret = endpoint["secret"]
        second = deployment.start_deliverer("b", "deliverer-b")
        try:
            first = deployment.client(node="a").consent(4, f"hook-{deployment.run_id}")
            other = deployment.client(node="b").consent(5, f"hook-{deployment.run_id}")
            path = f"/api/v1/consents/{other['consent_id']}/withdrawal"
            deployment.client(node="a").expect("withdrawal", 201, "POST", path, json_body={})
            started = time.monotonic()
            receiver.wait_for(3, timeout=60)
            results.figure(
                "webhooks: seconds until all 3 delivered", round(time.monotonic() - started, 1)
            )
            time.sleep(4)  # several rounds of both deliverers: anything sent twice shows now
        finally:
            second.stop()
        ids = receiver.ids()
        require(receiver.forged == 0, f"{receiver.forged} deliveries failed their signature")
        require(len(ids) == 3 and len(set(ids)) == 3, f"deliveries received: {ids}")
        seen = sorted((item["type"], item["data"]["consent_id"]) for item in receiver.received)
        expected = sorted(
            [
                ("consent.created", first["consent_id"]),
                ("consent.created", other["consent_id"]),
                ("consent.withdrawn", other["consent_id"]),
            ]
        )
        require(seen == expected, f"events received {seen}, expected {expected}")
        log = hooks.expect(
            "deliveries", 200, "GET", f"/api/v1/webhooks/{endpoint['id']}/deliveries"
        )
        attempts = sorted((row["state"], len(row["attempts"])) for row in log)
        require(attempts == [("delivered", 1)] * 3, f"the service recorded {attempts}")
        # The load checks that follow record thousands of consents: no endpoint for them.
        hooks.expect("delete", 204, "DELETE", f"/api/v1/webhooks/{endpoint['id']}")


def run(deployment: Deployment, results: Results) -> None:
    with results.check("core loop through nginx: patient, photo, request, decision, verify"):
        check_core_loop(deployment)
    with results.check("a withdrawal on node A is seen by node B's next verify"):
        check_withdrawal_across_nodes(deployment)
    with results.check("a photo stored through node A is read by node B (shared media)"):
        check_shared_media(deployment)
    with results.check("a clinician logs in through nginx over https (CSRF behind TLS)"):
        check_login_over_https(deployment)
    with results.check("rate limit counted across both nodes in Redis; forged XFF ignored"):
        check_rate_limit_across_nodes(deployment, results)
    with results.check("webhooks from either node delivered exactly once (two deliverers)"):
        check_webhooks_once(deployment, results)
