"""Two people in one photo, one of them agreeing only with their face hidden (issue 19, points
1-5 together): the original answers ``masked_only`` and names the face-masked copy, which is
masked for both and answers ``allowed``; the other subject's withdrawal still stops both."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image
from skimage import data as skimage_data

from tests.factories import Flow, api_key, evidence, jpeg

USES = [{"purpose": "teaching", "channels": []}]


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def _decide(flow: Flow, request_id: str, choice: dict[str, Any]) -> dict[str, Any]:
    body = {
        "signer": {"role": "patient"},
        "choices": [{"purpose": "teaching", **choice}],
        "method": "external",
        "evidence": evidence(),
    }
    response = flow.client.post(
        f"/api/v1/requests/{request_id}/decision", json=body, headers=flow.headers
    )
    assert response.status_code == 201, response.json
    return dict(response.json)


def test_a_face_hidden_grant_and_a_plain_grant_of_two_subjects(flow: Flow) -> None:
    data = jpeg(Image.fromarray(skimage_data.astronaut()).resize((1024, 1024)))
    sha = hashlib.sha256(data).hexdigest()
    a, b = flow.patient(), flow.patient()
    media = flow.media(a, data)
    added = flow.client.post(
        f"/api/v1/media/{media['id']}/subjects", json={"patient_id": b}, headers=flow.headers
    )
    assert added.status_code == 201, added.json
    opened = flow.open_request(a, [media["id"]], USES)
    request_b = opened["group"][0]["id"]
    _decide(flow, opened["id"], {"granted": True, "face": "hidden"})
    plain = _decide(flow, request_b, {"granted": True})

    masked = flow.client.get(f"/api/v1/media/{media['id']}/masked", headers=flow.headers)
    assert masked.status_code == 200, masked.json
    masked_sha = hashlib.sha256(masked.get_data()).hexdigest()
    assert masked_sha != sha

    original = flow.verify(sha, "teaching")["answer"]
    assert original["decision"] == "masked_only"
    assert original["masked_sha256"] == masked_sha
    assert original["subjects"] == 2 and original["grants"] == []
    assert sorted(item["decision"] for item in original["governing"]) == [
        "allowed",
        "masked_only",
    ]

    copy = flow.verify(masked_sha, "teaching")["answer"]
    assert copy["decision"] == "allowed", copy
    assert copy["match"]["rendition"] == "face-masked" and copy["match"]["rendition_of"] == sha
    assert copy["subjects"] == 2
    assert {item["decision"] for item in copy["governing"]} == {"allowed"}
    assert "masked_sha256" not in copy

    # B withdraws their plain grant: neither the original nor the masked copy may be used.
    withdrawn = flow.client.post(
        f"/api/v1/consents/{plain['consent_id']}/withdrawal",
        json={"purposes": ["teaching"]},
        headers=flow.headers,
    )
    assert withdrawn.status_code == 201, withdrawn.json
    for asked in (sha, masked_sha):
        answer = flow.verify(asked, "teaching")["answer"]
        assert answer["decision"] == "withdrawn", (asked, answer)
        assert answer["consent_id"] == plain["consent_id"]
        assert "masked_sha256" not in answer
