"""The whole deployment on 127.0.0.1: one PostgreSQL database, Redis, a shared media directory,
two application nodes (A: keys in instance files; B: the same keys in environment variables),
one webhook deliverer, and nginx with a certificate of a throw-away CA in front.

Each node's environment is deploy/consent.env.example with this machine's values: a setting
added there reaches the nodes, and a CHANGE-ME left unreplaced stops the self-test.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from bench.common import reset_postgres
from consent.crypto.keyring import write_private_file
from deploy.harness import site
from deploy.harness.client import Client
from deploy.harness.pki import Certificates, make_certificates
from deploy.harness.procs import ROOT, Child, Children, Nginx, Node, free_port, redis_answers
from deploy.harness.settings import (
    ENV_EXAMPLE,
    KEY_NAME,
    SELFTEST_SETTINGS,
    read_env_file,
    webhook_settings,
    write_instance_folder,
)

PYTHON = Path(sys.executable)
PROTECTED_DATABASES = {"test", "test_peer", "postgres", "template0", "template1"}


class Deployment:
    """Everything the self-test starts, and how to reach it. ``stop`` ends it all."""

    def __init__(self, work: Path, database_url: str, redis_url: str, workers: int) -> None:
        name = database_url.rsplit("/", 1)[-1].split("?")[0]
        if name in PROTECTED_DATABASES:
            raise SystemExit(f"refusing to empty the database {name!r}: name one of your own")
        self.work, self.database_url, self.redis_url, self.workers = (
            work,
            database_url,
            redis_url,
            workers,
        )
        self.children = Children()
        self.run_id = secrets.token_hex(6)
        self.rate_prefix = f"consent-selftest-{self.run_id}"
        self.ports = site.Ports(free_port(), free_port(), {"a": free_port(), "b": free_port()})
        self.node_ports = {"a": free_port(), "b": free_port()}
        self.drained: set[str] = set()
        self.nodes: dict[str, Node] = {}
        self.certs: Certificates
        self.nginx: Nginx
        self.keys: dict[str, str] = {}
        self.email = f"selftest-{self.run_id}@hospital.example"
        self.password = secrets.token_urlsafe(18)
        self.secrets = {
            "secret_key": secrets.token_urlsafe(48),
            "seed": base64.b64encode(os.urandom(32)).decode(),
            "master": base64.b64encode(os.urandom(32)).decode(),
            "next": "",
        }

    # Reaching it ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The site: nginx over every node not drained."""
        return f"https://127.0.0.1:{self.ports.https}"

    def pinned_url(self, node: str) -> str:
        return f"https://127.0.0.1:{self.ports.pinned[node]}"

    def client(self, key: str = "writer", *, node: str | None = None, **options: bool) -> Client:
        base = self.pinned_url(node) if node else self.url
        return Client(base, self.certs.ca, self.keys.get(key, ""), **options)

    def env(self, node: str) -> dict[str, str]:
        """What consent-web.service would give node ``node``: the example file, filled in."""
        example = read_env_file(ENV_EXAMPLE)
        filled = {
            **example,
            "CONSENT_INSTANCE_PATH": str(self.work / f"instance-{node}"),
            "CONSENT_DATABASE_URL": self.database_url,
            "CONSENT_MEDIA_DIR": str(self.work / "shared-media"),
            "TMPDIR": str(self.work / "tmp"),
            "CONSENT_SECRET_KEY": self.secrets["secret_key"],
            "CONSENT_SIGNING_KEYS": self.secrets["seed"],
            "CONSENT_NEXT_SIGNING_KEYS": self.secrets["next"],
            "CONSENT_KEY_NAME": KEY_NAME,
            "CONSENT_MASTER_KEY": self.secrets["master"],
            "CONSENT_PUBLIC_URL": self.url,
            "CONSENT_RATELIMIT_STORAGE_URI": self.redis_url,
            "WEB_CONCURRENCY": str(self.workers),
            "GUNICORN_BIND": f"127.0.0.1:{self.node_ports[node]}",
            **SELFTEST_SETTINGS,
            **webhook_settings(self.certs.ca),
        }
        if node == "a":  # node A reads its secrets from its instance folder instead
            for name in (
                "CONSENT_SECRET_KEY",
                "CONSENT_SIGNING_KEYS",
                "CONSENT_NEXT_SIGNING_KEYS",
                "CONSENT_MASTER_KEY",
            ):
                del filled[name]
        unfilled = sorted(name for name, value in filled.items() if "CHANGE-ME" in value)
        if unfilled:
            raise RuntimeError(
                f"consent.env.example settings the self-test does not fill: {unfilled}"
            )
        base = {k: v for k, v in os.environ.items() if not k.startswith(("CONSENT_", "GUNICORN"))}
        return {**base, **filled}

    def write_env_file(self, node: str) -> Path:
        """/etc/consent/consent.env for node ``node`` (its settings only, values quoted), which
        deploy/gunicorn.conf.py reads again on every reload (GUNICORN_ENV_FILE)."""
        path = self.work / f"node-{node}.env"
        names = set(read_env_file(ENV_EXAMPLE)) | set(SELFTEST_SETTINGS) | {"WEB_CONCURRENCY"}
        names |= set(webhook_settings(self.certs.ca)) | {"CONSENT_NEXT_SIGNING_KEYS"}
        lines = [f'{name}="{value}"' for name, value in self.env(node).items() if name in names]
        write_private_file(path, ("\n".join(lines) + "\n").encode())
        return path

    def flask(self, *args: str, node: str = "a", check: bool = True) -> str:
        """``flask --app consent ARGS`` as an operator runs it on node ``node``; its stdout."""
        result = subprocess.run(
            [str(PYTHON.parent / "flask"), "--app", "consent", *args],
            env=self.env(node),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout + (result.stderr if not check else "")

    # Starting it ---------------------------------------------------------------------------

    def _instance_folders(self) -> None:
        """A: secrets in files, as consent.scripts.bootstrap writes them; B: in its environment."""
        write_instance_folder(self.work / "instance-a", self.rate_prefix, self.secrets)
        write_instance_folder(self.work / "instance-b", self.rate_prefix, None)
        for directory in ("shared-media", "tmp"):
            (self.work / directory).mkdir(mode=0o700, exist_ok=True)

    def _database(self) -> None:
        """Migrations and the form catalogue, then an account and its API keys, by the CLI."""
        reset_postgres(self.database_url)
        self.flask("db", "upgrade")
        self.flask("sync-forms")
        email = self.email
        self.flask("create-team", "--slug", "selftest", "--name", "Self-test ward")
        self.flask(
            "create-account",
            "--email",
            email,
            "--name",
            "Dr Selftest",
            # An administrator: its key registers the webhook endpoint (docs/roles.md).
            "--role",
            "admin",
            "--team",
            "selftest",
            "--password",
            self.password,
        )
        for key, scopes in (
            ("writer", "verify,consents:write"),
            ("hooks", "webhooks:manage"),
            ("auditor", "audit"),
        ):
            out = self.flask(
                "create-api-key",
                "--name",
                f"selftest-{key}",
                "--scopes",
                scopes,
                "--team",
                "selftest",
                "--account",
                email,
            )
            self.keys[key] = out.strip().splitlines()[-1]

    def write_nginx_conf(self) -> Path:
        prefix = self.work / "nginx"
        logs = prefix / "logs"
        site_conf, pinned_conf, main_conf = (
            prefix / "consent.conf",
            prefix / "pinned.conf",
            prefix / "nginx.conf",
        )
        site_conf.write_text(
            site.render_site(
                ports=self.ports,
                nodes=self.node_ports,
                drained=self.drained,
                certs=self.certs,
                logs=logs,
                static=self.work / "static",
            )
        )
        pinned_conf.write_text(
            "".join(
                site.render_pinned(
                    name=name,
                    port=self.ports.pinned[name],
                    node_port=self.node_ports[name],
                    certs=self.certs,
                    logs=logs,
                )
                for name in self.node_ports
            )
        )
        main_conf.write_text(site.render_main(prefix=prefix, site=site_conf, pinned=pinned_conf))
        return main_conf

    def _nginx(self) -> None:
        prefix = self.work / "nginx"
        (prefix / "logs").mkdir(parents=True, exist_ok=True)
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / "temp" / kind).mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:  # nginx's workers run as nobody (site.render_main)
                os.chown(prefix / "temp" / kind, 65534, 65534)
        # The checkout's static files, where nginx's workers can read them (site.render_site).
        shutil.copytree(ROOT / "consent" / "static", self.work / "static", dirs_exist_ok=True)
        self.nginx = Nginx(prefix, self.write_nginx_conf())
        self.nginx.check()
        self.children.add(self.nginx)
        self.nginx.start_and_wait([self.ports.https, self.ports.http, *self.ports.pinned.values()])

    def start_node(self, node: str) -> Node:
        if node in self.nodes:
            self.nodes[node].start()
            return self.nodes[node]
        log = self.work / f"node-{node}.log"
        env = {
            **self.env(node),
            "GUNICORN_ENV_FILE": str(self.write_env_file(node)),
            # consent-web.service's RuntimeDirectory: each node's own (gunicorn.conf.py).
            "PROMETHEUS_MULTIPROC_DIR": str(self.work / f"metrics-{node}"),
        }
        server = Node(node, self.node_ports[node], env, log, PYTHON)
        self.nodes[node] = server
        self.children.add(server).start()
        return server

    def start_deliverer(self, node: str, name: str) -> Child:
        """``flask --app consent deliver --loop`` (consent-deliver.service), trusting the CA."""
        env = {**self.env(node), "SSL_CERT_FILE": str(self.certs.ca)}
        command = [
            str(PYTHON.parent / "flask"),
            "--app",
            "consent",
            "deliver",
            "--loop",
            "--interval",
            "1",
        ]
        deliverer = Child(name, command, env, self.work / f"{name}.log")
        self.children.add(deliverer).start()
        return deliverer

    def start(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True, mode=0o700)
        host, port = self.redis_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
        if not redis_answers(host, int(port)):
            raise RuntimeError(f"no Redis answers at {host}:{port} (apt-get install redis-server)")
        self.certs = make_certificates(self.work / "tls")
        self._instance_folders()
        self._database()
        for node in ("a", "b"):
            self.start_node(node)
        self._nginx()
        self.deliverer = self.start_deliverer("a", "deliverer")

    def set_drained(self, drained: set[str]) -> None:
        """Mark nodes down in the site's upstream and reload nginx gracefully."""
        self.drained = set(drained)
        self.write_nginx_conf()
        self.nginx.check()
        self.nginx.reload()

    def stop(self) -> None:
        self.children.stop_all()
        try:
            import redis

            connection = redis.Redis.from_url(self.redis_url)
            for key in connection.scan_iter(match=f"*{self.rate_prefix}*", count=1000):
                connection.delete(key)
            connection.close()
        except Exception as exc:  # Redis's keys expire anyway; say so and go on
            print(f"note: could not remove this run's rate-limit keys from Redis: {exc}")
