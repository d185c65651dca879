"""consent-check --text and the Python client ask verify for case texts with the same exit
codes as for files: 0 allowed, 1 not allowed (modified, unknown ...), and the normal form is the
service's own (issue 20)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from consent.client import ConsentClient
from consent.client.texts import normalise as client_normalise
from consent.consents.text_norm import normalise
from tests.factories import Flow, photo
from tests.texts.test_case_texts import CASE, EDITED, UNRELATED
from tests.tools.test_consent_check import check, key, server

__all__ = ["key", "server"]  # fixtures


@pytest.fixture
def consented(client: FlaskClient, key: str) -> str:
    flow = Flow(client, key)
    patient = flow.patient()
    media = flow.media(patient, photo(41))
    request_id = flow.request(patient, [media["id"]], [{"purpose": "teaching"}], texts=[CASE])
    return str(flow.decide(request_id, {"teaching": True})["consent_id"])


@pytest.mark.parametrize(
    ("text", "code", "decision"),
    [(CASE, 0, "allowed"), (EDITED, 1, "modified"), (UNRELATED, 1, "unknown")],
)
def test_consent_check_text_exit_codes(
    server: str, key: str, consented: str, tmp_path: Path, text: str, code: int, decision: str
) -> None:
    post = tmp_path / "post.txt"
    post.write_text(text.replace(". ", ".  ") + "\r\n", encoding="utf-8")
    done = check(str(post), "--text", "--purpose", "teaching", "--url", server, "--api-key", key)
    assert done.returncode == code, done.stderr
    assert done.stdout.startswith(f"{decision}: ")


def test_python_client_checks_the_signed_text_hash(server: str, key: str, consented: str) -> None:
    answer = ConsentClient(server, key).verify_text(CASE, purpose="teaching")
    assert answer.allowed and answer.answer["consent_id"] == consented


def test_the_client_and_the_service_share_one_normal_form() -> None:
    sample = "  Caf\u0065\u0301\u00a0 au\r\n\r\n\r\nlait \t"
    assert client_normalise(sample) == normalise(sample) == "Caf\u00e9 au\n\nlait"
