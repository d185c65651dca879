"""The deployment files agree with the service: every setting in the example environment, nginx's
body limit and static headers equal to the service's own, gunicorn's header limits equal to
nginx's, gunicorn's log lines intact, and nginx accepting the site file as shipped."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from consent.settings import SETTINGS, load
from consent.web.securityheaders import _ALWAYS, HSTS
from deploy.harness.settings import ENV_EXAMPLE, read_env_file

ROOT = Path(__file__).resolve().parents[2]
NGINX = ROOT / "deploy" / "nginx"


def test_example_environment_names_every_setting_of_the_service() -> None:
    text = ENV_EXAMPLE.read_text()
    named = set(re.findall(r"^#? ?(CONSENT_[A-Z0-9_]+)=", text, flags=re.M))
    settings = {setting.name for setting in SETTINGS}
    assert settings - named == set(), "settings missing from deploy/consent.env.example"
    assert named - settings == set(), "names the service does not know"


def test_example_environment_leaves_no_secret_filled_in() -> None:
    values = read_env_file(ENV_EXAMPLE)
    for name in ("CONSENT_SECRET_KEY", "CONSENT_SIGNING_KEYS", "CONSENT_MASTER_KEY"):
        assert values[name] == "CHANGE-ME"
    assert "CHANGE-ME" in values["CONSENT_DATABASE_URL"]


def test_nginx_refuses_bodies_past_the_services_own_limit_only() -> None:
    limits = (NGINX / "consent-limits.conf").read_text()
    found = re.search(r"^client_max_body_size (\d+);", limits, flags=re.M)
    assert found is not None
    assert int(found.group(1)) == load(instance_path=None, environ={}).body_limit


def test_nginx_static_headers_are_the_services_headers() -> None:
    snippet = (NGINX / "consent-static-headers.conf").read_text()
    added = dict(re.findall(r'^add_header ([\w-]+) "([^"]*)" always;', snippet, flags=re.M))
    for name, value in (*_ALWAYS, ("Strict-Transport-Security", HSTS)):
        assert added.get(name) == value, name


def test_nginx_adds_no_security_header_around_the_application() -> None:
    site = (NGINX / "consent.conf").read_text()
    proxy = (NGINX / "consent-proxy.conf").read_text()
    assert "add_header" not in proxy
    for block in re.findall(r"location (?:/|/api/) \{(.*?)\n    \}", site, flags=re.S):
        assert "add_header" not in block and "static-headers" not in block


def test_gunicorn_accepts_what_nginx_lets_through() -> None:
    namespace: dict[str, Any] = {}
    exec((ROOT / "deploy" / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102
    limits = (NGINX / "consent-limits.conf").read_text()
    found = re.search(r"^large_client_header_buffers (\d+) (\d+)k;", limits, flags=re.M)
    assert found is not None
    buffer = int(found.group(2)) * 1024
    assert namespace["limit_request_line"] >= buffer - 2  # the line without its CRLF
    assert namespace["limit_request_field_size"] >= buffer - 2
    assert namespace["worker_class"] == "sync"
    assert namespace["wsgi_app"] == "consent:create_app()"


GUNICORN_LOG = """
import logging, sys
from gunicorn.config import Config
from gunicorn.glogging import Logger
from consent.web.requestlog import configure_logging
cfg = Config()
if sys.argv[1] == "deploy":
    namespace = {}
    exec(open("deploy/gunicorn.conf.py").read(), namespace)
    cfg.set("logconfig_dict", namespace["logconfig_dict"])
log = Logger(cfg)
configure_logging("INFO")  # what every worker does when it builds the app
log.info("Worker exiting (pid: %s)", 42)
"""


def _gunicorn_log_line(config: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", GUNICORN_LOG, config],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stderr


def test_gunicorn_messages_in_a_worker_are_json_lines_not_logging_errors() -> None:
    err = _gunicorn_log_line("deploy")
    assert "--- Logging error ---" not in err
    assert '"message": "Worker exiting (pid: 42)"' in err


@pytest.mark.skipif(
    not shutil.which("nginx"), reason="nginx is not installed (apt-get install nginx)"
)
def test_nginx_accepts_the_shipped_site_file(tmp_path: Path) -> None:
    from deploy.harness import site
    from deploy.harness.pki import make_certificates

    certs = make_certificates(tmp_path / "tls")
    ports = site.Ports(8443, 8080, {})
    (tmp_path / "consent.conf").write_text(
        site.render_site(
            ports=ports,
            nodes={"a": 8000, "b": 8001},
            drained={"b"},
            certs=certs,
            logs=tmp_path,
            static=tmp_path,
        )
    )
    (tmp_path / "pinned.conf").write_text("")
    (tmp_path / "temp").mkdir()
    main = tmp_path / "nginx.conf"
    main.write_text(
        site.render_main(
            prefix=tmp_path, site=tmp_path / "consent.conf", pinned=tmp_path / "pinned.conf"
        )
    )
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(main), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
