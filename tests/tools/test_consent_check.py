"""consent-check against a real server: the app served over HTTP on 127.0.0.1, data made through
the API, and the command run as a subprocess, as a publishing tool would run it. A small proxy
in front of the server plays the attacker: a flipped decision, another file's answer, a forged
signature, a stale answer; each must exit 3, never 0."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import tomllib
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from nacl.signing import SigningKey
from werkzeug.serving import make_server

from consent import clock
from consent.crypto.keyring import ED25519_ALG_BYTE, note_key_id
from consent.crypto.receipts import canonical
from tests.factories import Flow, api_key, photo, reencode, tagged_image

ROOT = Path(__file__).resolve().parents[2]
LINKEDIN = {"public_social_network": ["linkedin"]}


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The app itself (fast path, Flask, the database) on a free port, in a thread."""
    http = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(5)


@pytest.fixture
def key(app: Flask) -> str:
    return api_key(("verify", "consents:write"))


@pytest.fixture
def flow(client: FlaskClient, key: str) -> Flow:
    return Flow(client, key)


@pytest.fixture
def files(flow: Flow, tmp_path: Path) -> dict[str, Path]:
    """A photo allowed on LinkedIn (teaching refused), one withdrawn, one never recorded."""
    allowed, withdrawn, unknown = photo(31), photo(32), photo(33)
    given = flow.consent(
        allowed, {"public_social_network": True, "teaching": False}, channels=LINKEDIN
    )
    ended = flow.consent(withdrawn, {"public_social_network": True}, channels=LINKEDIN)
    response = flow.client.post(
        f"/api/v1/consents/{ended['consent_id']}/withdrawal", json={}, headers=flow.headers
    )
    assert response.status_code == 201, response.json
    paths = {}
    for name, data in (("allowed", allowed), ("withdrawn", withdrawn), ("unknown", unknown)):
        paths[name] = tmp_path / f"{name}.jpg"
        paths[name].write_bytes(data)
    paths["consent_id"] = Path(given["consent_id"])  # carried along for assertions
    return paths


def check(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """consent-check in a process of its own, with no CONSENT_* variable but those given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    clean["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "consent.cli.check_tool", *args]
    return subprocess.run(
        command, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )


def social(file: Path, url: str, key: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return check(
        str(file),
        "--purpose",
        "public_social_network",
        "--channel",
        "linkedin",
        "--url",
        url,
        "--api-key",
        key,
        *extra,
    )


def _keys(url: str) -> list[str]:
    with urllib.request.urlopen(url + "/.well-known/consent-keys", timeout=10) as response:  # noqa: S310
        return [entry["vkey"] for entry in json.load(response)["keys"]]


# --- the decision --------------------------------------------------------------------------


def test_allowed_exits_0_and_says_so(server: str, key: str, files: dict[str, Path]) -> None:
    done = social(files["allowed"], server, key)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("allowed: ")
    assert str(files["consent_id"]) in done.stdout
    assert key not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("name", "purpose", "decision"),
    [
        ("allowed", "teaching", "not_covered"),  # refused by the patient
        ("allowed", "public_social_network", "not_covered"),  # granted for LinkedIn only
        ("withdrawn", "public_social_network", "withdrawn"),
        ("unknown", "public_social_network", "unknown"),
    ],
)
def test_not_allowed_exits_1_with_the_decision(
    server: str, key: str, files: dict[str, Path], name: str, purpose: str, decision: str
) -> None:
    # LinkedIn for the withdrawn and unknown files; the second case asks for no channel.
    channel = ["--channel", "linkedin"] if name != "allowed" else []
    done = check(
        str(files[name]), "--purpose", purpose, *channel, "--url", server, "--api-key", key
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith(f"{decision}: ") and "may NOT be published" in done.stdout


def test_a_publisher_may_accept_some_collection_methods_only(
    server: str, key: str, files: dict[str, Path]
) -> None:
    # The allowed file's consent was collected by another system (method external).
    strict = social(files["allowed"], server, key, "--accept-methods", "tablet,paper")
    assert strict.returncode == 1, strict.stderr
    assert strict.stdout.startswith("allowed: ") and "may NOT be published" in strict.stdout
    assert "collected by external (a method this check does not accept)" in strict.stdout
    lenient = social(files["allowed"], server, key, "--accept-methods", "external,tablet")
    assert lenient.returncode == 0 and "collected by external" in lenient.stdout
    unknown = social(files["allowed"], server, key, "--accept-methods", "fax")
    assert unknown.returncode == 2 and "accept_methods" in unknown.stderr


def test_json_output_is_the_verified_answer(server: str, key: str, files: dict[str, Path]) -> None:
    done = social(files["allowed"], server, key, "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)["answer"]
    assert answer["decision"] == "allowed"
    assert answer["media_sha256"] == hashlib.sha256(files["allowed"].read_bytes()).hexdigest()


def test_the_publishable_copy_is_allowed_too(
    server: str, key: str, flow: Flow, tmp_path: Path
) -> None:
    given = flow.consent(tagged_image("jpeg"), {"public_social_network": True}, channels=LINKEDIN)
    copy = flow.client.post(
        f"/api/v1/media/{given['media']['id']}/publishable", headers=flow.headers
    )
    assert copy.status_code == 200, copy.json
    path = tmp_path / "copy.jpg"
    path.write_bytes(copy.get_data())
    done = social(path, server, key)
    assert done.returncode == 0, done.stderr
    assert "metadata-stripped copy of" in done.stdout


def test_a_resized_copy_matches_perceptually_only_when_asked(
    server: str, key: str, files: dict[str, Path], tmp_path: Path
) -> None:
    resized = tmp_path / "resized.jpg"
    resized.write_bytes(reencode(files["allowed"].read_bytes(), quality=80, scale=0.5))
    assert social(resized, server, key).returncode == 1  # unknown by its SHA-256
    done = social(resized, server, key, "--perceptual")
    assert done.returncode == 0, done.stderr
    assert "matched perceptually" in done.stdout


# --- configuration: flags, environment, errors (exit 2) ------------------------------------


def test_address_and_key_come_from_the_environment(
    server: str, key: str, files: dict[str, Path]
) -> None:
    env = {"CONSENT_URL": server, "CONSENT_API_KEY": key}
    args = [str(files["allowed"]), "--purpose", "public_social_network", "--channel", "linkedin"]
    done = check(*args, env=env)
    assert done.returncode == 0, done.stderr
    # Flags win over the environment.
    wrong = {"CONSENT_URL": "http://127.0.0.1:9", "CONSENT_API_KEY": "cs_wrong"}
    assert check(*args, "--url", server, "--api-key", key, env=wrong).returncode == 0
    missing = check(*args, env={"CONSENT_URL": server})
    assert missing.returncode == 2 and "CONSENT_API_KEY" in missing.stderr
    assert check(*args, env={"CONSENT_API_KEY": key}).returncode == 2


def test_a_wrong_or_unscoped_key_is_a_clear_configuration_error(
    server: str, files: dict[str, Path]
) -> None:
    wrong = "ck_live_not-a-real-key-1234567890"
    done = social(files["allowed"], server, wrong)
    assert done.returncode == 2
    assert "API key was refused" in done.stderr and "HTTP 401" in done.stderr
    assert wrong not in done.stdout + done.stderr
    unscoped = api_key(("consents:write",))
    done = social(files["allowed"], server, unscoped)
    assert done.returncode == 2 and "HTTP 403" in done.stderr
    assert unscoped not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--purpose", "cinema"],
        ["--purpose", "teaching", "--channel", "LinkedIn!"],
        ["--purpose", "teaching", "--timeout", "0"],
    ],
)
def test_bad_arguments_exit_2(
    server: str, key: str, files: dict[str, Path], args: list[str]
) -> None:
    done = check(str(files["allowed"]), *args, "--url", server, "--api-key", key)
    assert done.returncode == 2


def test_a_missing_file_exits_2(server: str, key: str, tmp_path: Path) -> None:
    done = check(
        str(tmp_path / "nope.jpg"), "--purpose", "teaching", "--url", server, "--api-key", key
    )
    assert done.returncode == 2 and "no such file" in done.stderr


def test_the_console_script_is_declared() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["consent-check"] == "consent.cli.check_tool:main"


# --- the service unreachable (exit 3) ------------------------------------------------------


def test_an_unreachable_service_exits_3(key: str, files: dict[str, Path]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    done = social(files["allowed"], f"http://127.0.0.1:{port}", key)
    assert done.returncode == 3 and "cannot be reached" in done.stderr


def test_a_service_that_does_not_answer_times_out_with_3(key: str, files: dict[str, Path]) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        done = social(files["allowed"], url, key, "--timeout", "0.5")
    assert done.returncode == 3 and "cannot be reached" in done.stderr


# --- the attacker in the middle (exit 3) ---------------------------------------------------

Rewrite = Callable[[str, bytes], tuple[str, bytes]]


@pytest.fixture
def proxy(server: str) -> Iterator[Callable[[Rewrite], str]]:
    """Start a proxy to the server that passes each (path, answer body) through ``rewrite``."""
    started: list[ThreadingHTTPServer] = []

    def start(rewrite: Rewrite) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _ = rewrite(self.path, b"")
                forwarded = urllib.request.Request(  # noqa: S310
                    server + path, headers={"Authorization": self.headers["Authorization"] or ""}
                )
                with urllib.request.urlopen(forwarded, timeout=10) as response:  # noqa: S310
                    body = response.read()
                _, body = rewrite(self.path, body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=http.serve_forever, daemon=True).start()
        started.append(http)
        return f"http://127.0.0.1:{http.server_port}"

    yield start
    for http in started:
        http.shutdown()
        http.server_close()


def _answers_only(change: Callable[[bytes], bytes]) -> Rewrite:
    def rewrite(path: str, body: bytes) -> tuple[str, bytes]:
        return path, change(body) if body and path.startswith("/api/v1/verify") else body

    return rewrite


def test_a_refusal_flipped_to_allowed_in_transit_exits_3(
    proxy: Callable[[Rewrite], str], key: str, files: dict[str, Path]
) -> None:
    flip = _answers_only(lambda body: body.replace(b'"withdrawn"', b'"allowed"'))
    done = social(files["withdrawn"], proxy(flip), key)
    assert done.returncode == 3
    assert "signature does not hold" in done.stderr and "NOT allowed" in done.stderr


def test_one_flipped_signature_byte_exits_3(
    proxy: Callable[[Rewrite], str], key: str, files: dict[str, Path]
) -> None:
    def flip(body: bytes) -> bytes:
        envelope = json.loads(body)
        raw = bytearray(base64.b64decode(envelope["signature"]))
        raw[10] ^= 0x01
        envelope["signature"] = base64.b64encode(bytes(raw)).decode()
        return json.dumps(envelope).encode()

    done = social(files["allowed"], proxy(_answers_only(flip)), key)
    assert done.returncode == 3 and "signature does not hold" in done.stderr


def test_the_signed_answer_for_another_file_exits_3(
    proxy: Callable[[Rewrite], str], key: str, files: dict[str, Path]
) -> None:
    """The proxy asks about an allowed photo instead: a genuine signature, the wrong question."""
    allowed_sha = hashlib.sha256(files["allowed"].read_bytes()).hexdigest()
    unknown_sha = hashlib.sha256(files["unknown"].read_bytes()).hexdigest()

    def swap(path: str, body: bytes) -> tuple[str, bytes]:
        return path.replace(unknown_sha, allowed_sha), body

    done = social(files["unknown"], proxy(swap), key)
    assert done.returncode == 3 and "media_sha256" in done.stderr


def test_an_answer_signed_by_a_key_not_published_exits_3(
    proxy: Callable[[Rewrite], str], server: str, key: str, files: dict[str, Path]
) -> None:
    forger = SigningKey.generate()
    name = "attacker.example/consent-log"
    key_id = note_key_id(name, bytes(forger.verify_key)).hex()
    vkey = (
        f"{name}+{key_id}+" + base64.b64encode(ED25519_ALG_BYTE + bytes(forger.verify_key)).decode()
    )

    def forge(body: bytes) -> bytes:
        answer = json.loads(body)["answer"]
        answer.update(
            decision="allowed",
            grants=[{"purpose": "public_social_network", "channels": ["linkedin"]}],
        )
        signature = forger.sign(canonical(answer)).signature
        return json.dumps(
            {"answer": answer, "key_id": key_id, "signature": base64.b64encode(signature).decode()}
        ).encode()

    forged_url = proxy(_answers_only(forge))
    done = social(files["withdrawn"], forged_url, key)
    assert done.returncode == 3 and "unknown key id" in done.stderr

    # A proxy that also swaps the key list fools a client that trusts the keys it fetches over
    # the same path; a pinned key does not move.
    def forge_keys(path: str, body: bytes) -> tuple[str, bytes]:
        if path.startswith("/.well-known/consent-keys") and body:
            public = base64.b64encode(bytes(forger.verify_key)).decode()
            entry = {"key_id": key_id, "algorithm": "Ed25519", "public_key": public}
            return path, json.dumps(
                {"keys": [{**entry, "vkey": vkey, "status": "active"}]}
            ).encode()
        return _answers_only(forge)(path, body)

    swapped = proxy(forge_keys)
    assert social(files["withdrawn"], swapped, key).returncode == 0  # why pinning matters
    pinned = [arg for vkey_line in _keys(server) for arg in ("--key", vkey_line)]
    done = social(files["withdrawn"], swapped, key, *pinned)
    assert done.returncode == 3 and "unknown key id" in done.stderr
    env_pinned = check(
        str(files["withdrawn"]),
        "--purpose",
        "public_social_network",
        "--channel",
        "linkedin",
        env={
            "CONSENT_URL": swapped,
            "CONSENT_API_KEY": key,
            "CONSENT_KEYS": "\n".join(_keys(server)),
        },
    )
    assert env_pinned.returncode == 3


def test_a_stale_answer_replayed_exits_3(
    server: str, key: str, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An "allowed" signed an hour ago (before a withdrawal, say) is not taken as current."""
    an_hour_ago = clock.now() - timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: an_hour_ago)
    done = social(files["allowed"], server, key)
    assert done.returncode == 3 and "stale" in done.stderr
    assert social(files["allowed"], server, key, "--max-age", "7200").returncode == 0


def test_a_failing_service_exits_3(
    server: str, key: str, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from consent.verify import service

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database gone")

    monkeypatch.setattr(service, "decide", broken)
    monkeypatch.setattr("consent.api.verify.decide", broken)
    monkeypatch.setattr("consent.web.fastpath.decide", broken)
    done = social(files["allowed"], server, key)
    assert done.returncode == 3 and "HTTP 500" in done.stderr


def test_the_client_and_the_command_import_no_flask_and_no_database_driver() -> None:
    """A publishing tool installs the package for consent-check, not the service's stack."""
    probe = (
        "import sys, consent.client, consent.cli.check_tool; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'flask', 'werkzeug', 'sqlalchemy', 'psycopg', 'flask_smorest', 'PIL'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
