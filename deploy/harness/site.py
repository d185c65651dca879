"""nginx's configuration for the self-test: deploy/nginx/consent.conf itself, with its paths,
ports and nodes replaced, inside a main configuration of its own; plus one server block per
node (same snippets) to reach a chosen node through nginx.

Every replaced line must be found in the shipped file: if consent.conf changes shape, the
self-test stops with the line it could not find, rather than test something else.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from deploy.harness.pki import Certificates

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "consent.conf"
INSTALLED = "/opt/consent/"  # where consent.conf expects the checkout


@dataclass(frozen=True)
class Ports:
    https: int  # the site's TLS server, over every node that is not drained
    http: int  # the site's plain-http redirect
    pinned: dict[str, int]  # node name -> a TLS server that reaches that node only


def _replace(text: str, old: str, new: str) -> str:
    if old not in text:
        raise RuntimeError(f"deploy/nginx/consent.conf no longer holds {old!r}")
    return text.replace(old, new)


def render_site(
    *,
    ports: Ports,
    nodes: dict[str, int],
    drained: set[str],
    certs: Certificates,
    logs: Path,
    static: Path,
) -> str:
    """consent.conf with this machine's paths, ports and nodes (``drained`` ones marked down);
    the static files from ``static``, a copy nginx's workers can read wherever the checkout is
    (as root they run as nobody, and a checkout under /root is closed to them)."""
    text = SITE.read_text()
    lines = "\n".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=10s"
        + (" down;" if name in drained else ";")
        for name, port in nodes.items()
    )
    text, count = re.subn(
        r"upstream consent_app \{.*?\n\}", f"upstream consent_app {{\n{lines}\n}}", text, flags=re.S
    )
    if count != 1:
        raise RuntimeError("deploy/nginx/consent.conf no longer has one upstream consent_app")
    for old, new in (
        ("listen 80;", f"listen 127.0.0.1:{ports.http};"),
        ("listen [::]:80;\n", ""),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{ports.https} ssl http2;"),
        ("listen [::]:443 ssl http2;\n", ""),
        ("/etc/ssl/consent/fullchain.pem", str(certs.certificate)),
        ("/etc/ssl/consent/privkey.pem", str(certs.key)),
        ("/var/log/nginx/consent-access.log", str(logs / "access.log")),
        (f"alias {INSTALLED}consent/static/;", f"alias {static}/;"),
        (INSTALLED, str(ROOT) + "/"),
    ):
        text = _replace(text, old, new)
    return text


def render_pinned(*, name: str, port: int, node_port: int, certs: Certificates, logs: Path) -> str:
    """A TLS server that passes everything to one node, with the site's snippets."""
    snippets = ROOT / "deploy" / "nginx"
    return f"""
upstream consent_node_{name} {{
    server 127.0.0.1:{node_port};
}}
server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {certs.certificate};
    ssl_certificate_key {certs.key};
    include {snippets}/consent-tls.conf;
    include {snippets}/consent-limits.conf;
    server_tokens off;
    gzip off;
    access_log {logs}/access-{name}.log consent_json;
    location /api/ {{
        proxy_pass http://consent_node_{name};
        include {snippets}/consent-proxy.conf;
        error_page 502 503 504 =503 @consent_api_unavailable;
    }}
    location / {{
        proxy_pass http://consent_node_{name};
        include {snippets}/consent-proxy.conf;
    }}
{_named_location(SITE.read_text(), "@consent_api_unavailable")}
}}
"""


def _named_location(text: str, name: str) -> str:
    """The site's own named location ``name`` (its error answer), for the pinned servers."""
    found = re.search(rf"\n(    location {name} \{{.*?\n    \}})", text, flags=re.S)
    if found is None:
        raise RuntimeError(f"deploy/nginx/consent.conf no longer has location {name}")
    return found.group(1).replace(INSTALLED, str(ROOT) + "/")


def render_main(*, prefix: Path, site: Path, pinned: Path) -> str:
    """The main configuration: nginx in the foreground, every path under ``prefix``."""
    # As root, nginx's workers run as nobody: they must write the temporary bodies and read
    # the checkout's static files, and nothing else.
    user = "user nobody nogroup;" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix}/temp/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
{user}
daemon off;
master_process on;
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
{temp}
    include {site};
    include {pinned};
}}
"""
