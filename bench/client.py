"""The HTTP client of the write and verify benchmarks: the API walk a clinician's system makes
(patient, photo, request, decision), over plain http.client, one connection per call as
gunicorn's sync workers close each one anyway.

Every step raises ``CallFailed`` on anything but the expected status, or on a connection error:
the load and crash benchmarks count those as errors, and the crash writers start over.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import math
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from PIL import Image

# The evidence document of a decision collected elsewhere (the only kind the API records).
EVIDENCE = {
    "kind": "e-signature",
    "source": "Bench e-signature service",
    "document": base64.b64encode(b'{"signed": true, "by": "bench"}').decode(),
}

TIMEOUT = 60.0
CHUNK = 1024 * 1024


class CallFailed(Exception):
    """A call that did not get its expected answer: ``status`` 0 for no answer at all."""

    def __init__(self, step: str, status: int, detail: str = "") -> None:
        super().__init__(f"{step}: {status or 'no answer'} {detail[:200]}")
        self.step, self.status = step, status


def call(
    base: str,
    method: str,
    path: str,
    key: str,
    *,
    json_body: Any = None,
    body: bytes | Iterable[bytes] | None = None,
    content_type: str | None = None,
    length: int | None = None,
    expect: int = 200,
    step: str = "",
    timeout: float = TIMEOUT,
) -> Any:
    """One call; the decoded JSON answer. Raises CallFailed (see the module's docstring)."""
    netloc = urlsplit(base).netloc
    host, port = netloc.rsplit(":", 1)
    headers = {"Authorization": f"Bearer {key}"}
    if json_body is not None:
        body = json.dumps(json_body).encode()
        content_type = "application/json"
    if content_type:
        headers["Content-Type"] = content_type
    if isinstance(body, bytes):
        headers["Content-Length"] = str(len(body))
    elif body is not None:
        assert length is not None, "a streamed body needs its length"
        headers["Content-Length"] = str(length)
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise CallFailed(step or path, 0, type(exc).__name__) from exc
    finally:
        connection.close()
    if response.status != expect:
        raise CallFailed(step or path, response.status, raw.decode(errors="replace"))
    return json.loads(raw) if raw else None


@dataclass(frozen=True)
class Multipart:
    """A multipart/form-data body streamed in pieces: fields, then one file read in chunks."""

    fields: dict[str, str]
    file_name: str
    file_type: str
    file: Path | bytes
    boundary: str = "----bench" + uuid.uuid4().hex

    def _head(self) -> bytes:
        parts = [
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in self.fields.items()
        ]
        parts.append(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{self.file_name}"\r\nContent-Type: {self.file_type}\r\n\r\n'
        )
        return "".join(parts).encode()

    def _tail(self) -> bytes:
        return f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def length(self) -> int:
        size = len(self.file) if isinstance(self.file, bytes) else self.file.stat().st_size
        return len(self._head()) + size + len(self._tail())

    def chunks(self) -> Iterator[bytes]:
        """The body; a file on disk is read a chunk at a time, never whole."""
        yield self._head()
        if isinstance(self.file, bytes):
            yield self.file
        else:
            with self.file.open("rb") as source:
                while chunk := source.read(CHUNK):
                    yield chunk
        yield self._tail()


def unique_png(number: int, salt: int = 0) -> bytes:
    """A 16x16 PNG no other consent of the run shares (random pixels seeded by the number)."""
    rng = random.Random(number * 1_000_003 + salt)
    image = Image.frombytes("RGB", (16, 16), rng.randbytes(16 * 16 * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class Recorded:
    """A consent the service acknowledged (201 with its receipt), and what each step took."""

    consent_id: str
    log_index: int
    signature: str
    sha256: str
    seconds: float
    decision_seconds: float


def record_consent(base: str, key: str, number: int, salt: int = 0) -> Recorded:
    """The whole write path for one consent: patient, photo, request, decision.

    Raises CallFailed at the first step that fails.
    """
    started = time.perf_counter()
    patient = call(
        base,
        "POST",
        "/api/v1/patients",
        key,
        json_body={
            "record_number": f"BENCH-{salt}-{number}",
            "name": "Bench Patient",
            "birth_date": "1960-01-01",
        },
        expect=201,
        step="patient",
    )
    upload = Multipart(
        {"patient_id": patient["id"], "description": "bench"},
        "photo.png",
        "image/png",
        unique_png(number, salt),
    )
    media = call(
        base,
        "POST",
        "/api/v1/media",
        key,
        body=upload.chunks(),
        length=upload.length,
        content_type=upload.content_type,
        expect=201,
        step="media",
    )
    request = call(
        base,
        "POST",
        "/api/v1/requests",
        key,
        json_body={
            "patient_id": patient["id"],
            "media_ids": [media["id"]],
            "form": "media-publication",
            "language": "en",
            "uses": [{"purpose": "teaching"}],
            "expires_at": (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        expect=201,
        step="request",
    )
    decided = time.perf_counter()
    answer = call(
        base,
        "POST",
        f"/api/v1/requests/{request['id']}/decision",
        key,
        json_body={
            "signer": {"role": "patient"},
            "method": "external",
            "evidence": EVIDENCE,
            "choices": [{"purpose": "teaching", "granted": True}],
        },
        expect=201,
        step="decision",
    )
    done = time.perf_counter()
    receipt = answer["receipt"]
    return Recorded(
        consent_id=answer["consent_id"],
        log_index=int(receipt["receipt"]["log_index"]),
        signature=receipt["signature"],
        sha256=media["sha256"],
        seconds=done - started,
        decision_seconds=done - decided,
    )


def verify(base: str, key: str, sha256: str, purpose: str = "teaching") -> str:
    """GET verify by hash; the decision. Raises CallFailed."""
    answer = call(
        base,
        "GET",
        f"/api/v1/verify?sha256={sha256}&purpose={purpose}",
        key,
        step="verify",
    )
    return str(answer["answer"]["decision"])


def verify_upload(
    base: str, key: str, file: Path | bytes, media_type: str, purpose: str = "teaching"
) -> dict[str, Any]:
    """POST verify with the file streamed in the body; the signed answer. Raises CallFailed."""
    upload = Multipart({"purpose": purpose}, "upload", media_type, file)
    return dict(
        call(
            base,
            "POST",
            "/api/v1/verify",
            key,
            body=upload.chunks(),
            length=upload.length,
            content_type=upload.content_type,
            step="verify upload",
            timeout=600,
        )
    )


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def file_sha256(source: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := source.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()
