"""An HTTPS client of the service through nginx, checking nginx's certificate against the
throw-away CA, and the API walk a clinician's system makes (patient, photo, request, decision),
as bench/client.py walks it over plain http."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.client import Multipart, unique_png

TIMEOUT = 60.0


@dataclass(frozen=True)
class Answer:
    """An HTTP answer; ``status`` 0 when none came (refused, reset, timed out)."""

    status: int
    headers: dict[str, str]  # names lower-cased; the last of repeated ones
    body: bytes
    seconds: float
    header_list: tuple[tuple[str, str], ...] = ()  # every header as sent, repeats included

    def json(self) -> Any:
        return json.loads(self.body)


class CallFailed(Exception):
    """A call that did not get its expected status."""

    def __init__(self, step: str, answer: Answer) -> None:
        super().__init__(f"{step}: {answer.status or 'no answer'} {answer.body[:300]!r}")
        self.step, self.answer = step, answer


def tls_context(ca: Path) -> ssl.SSLContext:
    """Verifies the server against ``ca`` only, and its name (127.0.0.1)."""
    context = ssl.create_default_context(cafile=str(ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class Client:
    """Calls to one base URL (https://127.0.0.1:port); ``keep_alive`` reuses one connection."""

    def __init__(self, base: str, ca: Path, key: str = "", *, keep_alive: bool = False) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 443
        self.context, self.key, self.keep_alive = tls_context(ca), key, keep_alive
        self._connection: http.client.HTTPSConnection | None = None

    def _connect(self, timeout: float) -> http.client.HTTPSConnection:
        if self._connection is None or not self.keep_alive:
            self._connection = http.client.HTTPSConnection(
                self.host, self.port, context=self.context, timeout=timeout
            )
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = TIMEOUT,
    ) -> Answer:
        """One call; never raises for a failed connection (status 0)."""
        sent = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        started = time.perf_counter()
        connection = self._connect(timeout)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            raw = response.read()
            answer = Answer(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                raw,
                time.perf_counter() - started,
                tuple(response.getheaders()),
            )
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return Answer(0, {}, type(exc).__name__.encode(), time.perf_counter() - started)
        if not self.keep_alive or answer.headers.get("connection") == "close":
            self.close()
        return answer

    def expect(self, step: str, status: int, method: str, path: str, **kwargs: Any) -> Any:
        """A call that must answer ``status``; its JSON. Raises CallFailed."""
        answer = self.request(method, path, **kwargs)
        if answer.status != status:
            raise CallFailed(step, answer)
        return answer.json() if answer.body else None

    # The API walk -------------------------------------------------------------------------

    def patient(self, number: int, salt: str) -> str:
        body = {"record_number": f"DEPLOY-{salt}-{number}", "name": "Deploy Test"}
        body["birth_date"] = "1960-01-01"
        return str(self.expect("patient", 201, "POST", "/api/v1/patients", json_body=body)["id"])

    def media(self, patient_id: str, data: bytes) -> dict[str, Any]:
        upload = Multipart(
            {"patient_id": patient_id, "description": "deploy"}, "p.png", "image/png", data
        )
        body = b"".join(upload.chunks())
        answer = self.expect(
            "media",
            201,
            "POST",
            "/api/v1/media",
            body=body,
            headers={"Content-Type": upload.content_type},
        )
        return dict(answer)

    def open_request(self, patient_id: str, media_id: str, purposes: list[str]) -> str:
        body = {
            "patient_id": patient_id,
            "media_ids": [media_id],
            "form": "media-publication",
            "language": "en",
            "uses": [{"purpose": purpose} for purpose in purposes],
            "expires_at": (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return str(self.expect("request", 201, "POST", "/api/v1/requests", json_body=body)["id"])

    def decide(self, request_id: str, choices: dict[str, bool]) -> dict[str, Any]:
        # A decision another system collected, with its evidence: the only kind the API records.
        body = {
            "signer": {"role": "patient"},
            "method": "external",
            "evidence": {
                "kind": "e-signature",
                "source": "Self-test e-signature service",
                "document": base64.b64encode(b'{"signed": true}').decode(),
            },
            "choices": [{"purpose": p, "granted": g} for p, g in choices.items()],
        }
        path = f"/api/v1/requests/{request_id}/decision"
        return dict(self.expect("decision", 201, "POST", path, json_body=body))

    def consent(self, number: int, salt: str) -> dict[str, Any]:
        """Patient, photo, request and decision (teaching granted); the decision's answer with
        the photo's ``sha256`` added. Raises CallFailed at the first step that fails."""
        patient_id = self.patient(number, salt)
        media = self.media(patient_id, unique_png(number, zlib.crc32(salt.encode())))
        request_id = self.open_request(patient_id, media["id"], ["teaching"])
        decision = self.decide(request_id, {"teaching": True})
        decision["sha256"] = media["sha256"]
        return decision

    def verify_path(self, sha256: str, purpose: str = "teaching") -> str:
        return "/api/v1/verify?" + urlencode({"sha256": sha256, "purpose": purpose})

    def verify(self, sha256: str, purpose: str = "teaching") -> str:
        """The decision verify answers for the photo. Raises CallFailed."""
        answer = self.expect("verify", 200, "GET", self.verify_path(sha256, purpose))
        return str(answer["answer"]["decision"])
