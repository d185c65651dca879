"""Child processes of the self-test: each in its own process group, each stopped at the end.

``Children`` keeps every process started; ``stop_all`` ends them (gracefully, then SIGKILL),
and is called on normal exit, on failure and on Ctrl-C (deploy/selftest.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"


def free_port() -> int:
    """A TCP port nobody listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children_of(pid: int) -> list[int]:
    """The live children of ``pid``, from /proc (gunicorn's workers, nginx's workers)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Child:
    """One command in its own process group, its output in ``log``."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.command, self.env, self.log = name, command, env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def send(self, number: int) -> None:
        if self.running():
            os.kill(self.pid, number)

    def kill(self) -> None:
        """SIGKILL the whole process group at once (a crash of the host, for this program)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40.0) -> float:
        """Send ``sig`` and wait for the exit (SIGKILL after ``timeout``); the seconds it took."""
        started = time.monotonic()
        if self.process is None:
            return 0.0
        if self.process.poll() is None:
            self.send(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        # Whatever the group left behind (a worker orphaned by a kill) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return time.monotonic() - started


class Children:
    """Every child started, to stop them all whatever happens."""

    def __init__(self) -> None:
        self.started: list[Child] = []

    def add(self, child: Child) -> Child:
        self.started.append(child)
        return child

    def stop_all(self) -> None:
        for child in reversed(self.started):
            with contextlib.suppress(Exception):
                child.stop(timeout=15)


def wait_http(url: str, *, timeout: float) -> None:
    """Until ``url`` answers anything over HTTP. Raises RuntimeError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s")


class Node(Child):
    """One application node: gunicorn with deploy/gunicorn.conf.py, as consent-web.service runs
    it, listening on 127.0.0.1:port."""

    def __init__(self, name: str, port: int, env: dict[str, str], log: Path, python: Path):
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
        command = [str(python.parent / "gunicorn"), "-c", str(GUNICORN_CONF)]
        super().__init__(name, command, env, log)
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        super().start()
        self.wait_up()

    def workers(self) -> list[int]:
        return children_of(self.pid) if self.running() else []

    def wait_up(self, timeout: float = 90.0) -> None:
        """Until the node answers and all its workers are up. Raises RuntimeError."""
        wanted = int(self.env.get("WEB_CONCURRENCY", "1"))
        deadline = time.monotonic() + timeout
        wait_http(self.base + "/.well-known/consent-keys", timeout=timeout)
        while len(self.workers()) < wanted:
            if not self.running():
                raise RuntimeError(f"node {self.name} exited; see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"node {self.name}: workers did not boot; see {self.log}")
            time.sleep(0.1)

    def reload(self, timeout: float = 90.0) -> None:
        """SIGHUP (systemctl reload): new workers, the old ones finish their requests."""
        old = set(self.workers())
        self.send(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while old & set(self.workers()) or len(self.workers()) < int(self.env["WEB_CONCURRENCY"]):
            if time.monotonic() > deadline:
                raise RuntimeError(f"node {self.name}: reload did not finish; see {self.log}")
            time.sleep(0.1)


class Nginx(Child):
    """Debian's nginx in the foreground, with its own prefix and configuration file."""

    def __init__(self, prefix: Path, conf: Path) -> None:
        command = ["nginx", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
        super().__init__("nginx", command, dict(os.environ), prefix / "stdout.log")
        self.conf = conf

    def check(self) -> None:
        """``nginx -t`` on the configuration. Raises RuntimeError with nginx's complaint."""
        result = subprocess.run(
            [*self.command, "-t"], capture_output=True, text=True, check=False, cwd=ROOT
        )
        if result.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{result.stderr}")

    def workers(self) -> list[int]:
        return children_of(self.pid) if self.running() else []

    def start_and_wait(self, ports: list[int], timeout: float = 20.0) -> None:
        """Start, then wait until every port on 127.0.0.1 accepts. Raises RuntimeError."""
        self.start()
        deadline = time.monotonic() + timeout
        for port in ports:
            while True:
                if not self.running():
                    raise RuntimeError(f"nginx exited; see {self.log} and error.log beside it")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"nginx does not listen on {port}") from None
                    time.sleep(0.05)

    def reload(self, timeout: float = 60.0) -> None:
        """SIGHUP (nginx -s reload), then wait until every old worker has finished its
        connections and exited: from then on no request goes by the old configuration."""
        old = set(self.workers())
        self.send(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while old & set(self.workers()) or not self.workers():
            if time.monotonic() > deadline:
                raise RuntimeError("nginx: old workers did not exit after the reload")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGQUIT, timeout: float = 20.0) -> float:
        # SIGQUIT: graceful shutdown (nginx -s quit).
        return super().stop(sig, timeout)


def redis_answers(host: str, port: int) -> bool:
    """Whether a Redis server answers PING at host:port."""
    try:
        with socket.create_connection((host, port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False
