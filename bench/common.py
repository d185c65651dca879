"""Helpers shared by the benchmarks: the machine, wrk runs, gunicorn servers, RESULTS.md."""

from __future__ import annotations

import base64
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consent.db import db

if TYPE_CHECKING:
    from flask import Flask

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# Both movable, so that smoke runs (run_all --quick, the tests) leave the recorded figures alone.
OUT = Path(os.environ.get("CONSENT_BENCH_OUT") or BENCH / "out")
RESULTS = Path(os.environ.get("CONSENT_BENCH_RESULTS") or BENCH / "RESULTS.md")
VENV_BIN = Path(sys.executable).parent

# Rate limits stay on, as in production, but out of reach: a benchmark sends thousands of
# calls a second with one key, and log-ins and links from one address.
BENCH_LIMITS = {
    "CONSENT_RATELIMIT_VERIFY": "1000000000 per minute",
    "CONSENT_RATELIMIT_LOGIN": "1000000000 per minute",
    "CONSENT_RATELIMIT_SIGNING_LINK": "1000000000 per minute",
}


def machine() -> str:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def database_versions(postgres_url: str | None = None) -> str:
    """The SQLite library's version, and the PostgreSQL server's when a URL is given."""
    import sqlite3

    text = f"SQLite {sqlite3.sqlite_version}"
    if postgres_url:
        import psycopg

        with psycopg.connect(plain_postgres_url(postgres_url)) as connection:
            row = connection.execute("SHOW server_version").fetchone()
        text += f", PostgreSQL {row[0] if row else 'unknown'}"
    return text


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# PostgreSQL for the benchmarks that need it: emptied (schema dropped) by every run.
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/consent_bench"


def postgres_url() -> str:
    return os.environ.get("CONSENT_BENCH_DATABASE_URL", DEFAULT_POSTGRES_URL)


def plain_postgres_url(url: str) -> str:
    """The libpq form of a SQLAlchemy URL (psycopg.connect wants no driver name)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def reset_postgres(url: str) -> None:
    """Create the database if missing, then empty it (drop and recreate the public schema)."""
    import psycopg
    from psycopg import sql

    plain = plain_postgres_url(url)
    name = plain.rsplit("/", 1)[1].split("?")[0]
    if name in ("test", "postgres", "template0", "template1"):
        raise SystemExit(f"refusing to empty the database {name!r}: name a bench database")
    try:
        psycopg.connect(plain).close()
    except psycopg.OperationalError:
        maintenance = plain.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


class Gunicorn:
    """gunicorn sync workers serving ``app_spec`` on 127.0.0.1:port, which the benchmarks can
    start, kill (SIGKILL, workers or the whole group) and start again.

    The service's JSON request log (one line per request, as in production) goes to
    bench/out/gunicorn-<port>.log. The server runs in its own process group, so that a kill of
    the group reaches the master and its workers and nothing else.
    """

    def __init__(
        self,
        app_spec: str,
        port: int,
        env: dict[str, str],
        workers: int = 2,
        extra: tuple[str, ...] = (),
    ) -> None:
        # Port 0: any free port (smoke runs beside other servers).
        self.app_spec, self.port, self.env = app_spec, port or free_port(), env
        self.workers, self.extra = workers, extra
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        OUT.mkdir(exist_ok=True)
        self._log = (OUT / f"gunicorn-{self.port}.log").open("w")

    def start(self) -> str:
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                *self.extra,
                self.app_spec,
            ],
            env={**os.environ, **BENCH_LIMITS, **self.env},
            cwd=ROOT,
            stderr=self._log,
            start_new_session=True,
        )
        self.wait_up()
        return self.base

    def wait_up(self, timeout: float = 60.0) -> None:
        """Until the server answers and every worker is booted. Raises RuntimeError after
        ``timeout`` or when gunicorn exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self._log.name}")
            try:
                urllib.request.urlopen(self.base + "/.well-known/consent-keys", timeout=2)
                up = True
            except urllib.error.HTTPError:
                up = True  # any HTTP answer means it is up
            except OSError:
                up = False
            if up and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not come up in {timeout:.0f} s")

    @property
    def master_pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The master's live children (its workers), from /proc."""
        if self.process is None:
            return []
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(child) for child in children]

    def kill_worker(self, pid: int) -> None:
        """SIGKILL one worker (the master starts another)."""
        if pid in self.worker_pids():
            os.kill(pid, signal.SIGKILL)

    def kill_all(self) -> None:
        """SIGKILL the master and its workers at once, as a crash of the host would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
        self.process = None

    def close(self) -> None:
        self.stop()
        self._log.close()


@contextmanager
def gunicorn(
    app_spec: str,
    port: int,
    env: dict[str, str],
    workers: int = 2,
    extra: tuple[str, ...] = (),
) -> Iterator[str]:
    """Serve ``app_spec`` with gunicorn sync workers on 127.0.0.1:port until the block ends."""
    with served(app_spec, port, env, workers, extra) as server:
        yield server.base


@contextmanager
def served(
    app_spec: str,
    port: int,
    env: dict[str, str],
    workers: int = 2,
    extra: tuple[str, ...] = (),
) -> Iterator[Gunicorn]:
    """As ``gunicorn``, handing over the server itself (its pids, kills and restarts)."""
    server = Gunicorn(app_spec, port, env, workers, extra)
    try:
        server.start()
        yield server
    finally:
        server.close()


def wrk(
    url: str, *, seconds: int, connections: int, script: Path | None = None
) -> dict[str, float]:
    """Requests per second and latency percentiles (ms) reported by wrk."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", str(script)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for label in ("50%", "90%", "99%"):
        match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", output)
        value, unit = float(match.group(1)), match.group(2)
        result["p" + label[:-1]] = (
            value / 1000 if unit == "us" else value * (1000 if unit == "s" else 1)
        )
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = float(errors.group(1)) if errors else 0.0
    return result


def write_section(name: str, markdown: str) -> None:
    """Replace this benchmark's section in RESULTS.md (other sections are kept)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    block = f"{start}\n{markdown.strip()}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


class Instance:
    """An instance folder and its database, for a benchmark's servers and checks.

    ``env`` is what a server or a CLI command needs to use it; ``app`` is this process's own
    app on it (for set-up and SQL checks). ``fresh`` makes a new one.
    """

    def __init__(self, path: Path, database_url: str | None = None, app: Flask | None = None):
        self.path = path
        self.database_url = database_url
        self.env = {"CONSENT_INSTANCE_PATH": str(path)}
        if database_url:
            self.env["CONSENT_DATABASE_URL"] = database_url
        self.app = app or self.make_app()

    @classmethod
    def fresh(
        cls, name: str, database_url: str | None = None, root: Path | None = None
    ) -> Instance:
        """A new folder under ``root`` (bench/out by default): secrets, migrated database, forms.

        ``database_url`` None: SQLite inside the folder; else that PostgreSQL database, emptied.
        """
        from consent.scripts.bootstrap import prepare_database, write_instance_secrets

        path = (root or OUT) / name
        shutil.rmtree(path, ignore_errors=True)
        if database_url:
            reset_postgres(database_url)
        write_instance_secrets(path, key_name="bench.example/consent-log")
        instance = cls(path, database_url)
        prepare_database(instance.app)
        return instance

    def make_app(self) -> Flask:
        from consent import create_app

        saved = {key: os.environ.get(key) for key in self.env}
        os.environ.update(self.env)
        try:
            return create_app()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def api_key(self, scopes: tuple[str, ...] = ("verify", "consents:write")) -> str:
        """A key of a clinician account of the bench team (requests name their clinician)."""
        with self.app.app_context():
            secret = clinician_key(scopes)
            db.session.commit()
            return secret

    def dispose(self) -> None:
        """Close this process's connections (the servers and writers have their own)."""

        with self.app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()

    def audit(self) -> tuple[bool, str]:
        """``flask --app consent audit`` on this instance: (passed, its last line)."""
        result = subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "consent", "audit"],
            env={**os.environ, **self.env},
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        lines = (result.stdout + result.stderr).strip().splitlines()
        return result.returncode == 0, lines[-1] if lines else f"exit {result.returncode}"


def free_port() -> int:
    """A TCP port nobody listens on now (for servers started by tests and smoke runs)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bench_team() -> Any:
    """The care team the benchmarks record in (made the first time)."""
    from sqlalchemy import select

    from consent.accounts.models import Team
    from consent.accounts.teams import create_team

    found = db.session.scalar(select(Team).where(Team.slug == "bench"))
    return found or create_team(db.session, slug="bench", name="Bench")


def bench_clinician() -> Any:
    """A new clinician account, a member of the bench team."""
    from consent.accounts.service import create_account
    from consent.accounts.teams import add_member

    account = create_account(
        db.session,
        email=f"bench{time.monotonic_ns()}@hospital.example",
        display_name="Dr Bench",
        role="clinician",
    )
    add_member(db.session, account=account, team=bench_team())
    return account


def clinician_key(scopes: tuple[str, ...] = ("verify", "consents:write")) -> str:
    """A key of a new bench clinician (the caller commits)."""
    from consent.accounts.keys import create_api_key

    issued = create_api_key(
        db.session,
        name="bench",
        scopes=list(scopes),
        days=30,
        team=bench_team(),
        account=bench_clinician(),
    )
    return issued.secret


def publisher_key() -> str:
    """A verify-only key of a publishing system registered for the bench team."""
    from consent.accounts.keys import create_api_key
    from consent.accounts.teams import create_integration

    team = bench_team()
    issued = create_api_key(
        db.session,
        name="bench",
        scopes=["verify"],
        days=1,
        team=team,
        integration=create_integration(db.session, team=team, name="Bench publisher"),
    )
    return issued.secret


# What a system that collected consent elsewhere sends with a decision: its evidence document.
EVIDENCE = {
    "kind": "e-signature",
    "source": "Bench e-signature service",
    "document": base64.b64encode(b'{"signed": true, "by": "bench"}').decode(),
}
