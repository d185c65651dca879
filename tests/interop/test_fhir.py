"""FHIR Consent export: valid R4 (as R4B) and R5 resources, status from the consent's state,
one provision per use, the media by SHA-256, the receipt PDF and its SHA-1 as the source, and
never the patient's identity."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from fhir.resources.bundle import Bundle as BundleR5
from fhir.resources.consent import Consent as ConsentR5
from fhir.resources.R4B.bundle import Bundle as BundleR4
from fhir.resources.R4B.consent import Consent as ConsentR4
from flask.testing import FlaskClient

from consent.forms.glossary import use_label
from consent.interop.fhir import (
    METHOD_EXTENSION,
    PURPOSE_SYSTEM,
    SHA256_SYSTEM,
    ConsentFacts,
    UnknownVersion,
    consent_resource,
    status,
)
from tests.factories import Flow, admin_key, api_key, auth, in_days, photo
from tests.webhooks.conftest import Clock

NAME, BIRTH, RECORD = "Philomena Bracegirdle", "1961-07-14", "MRN-FHIR-7731"
IDENTITY = (NAME, BIRTH, RECORD, "Philomena", "Bracegirdle", "1961")
MODELS = {"R4": ConsentR4, "R5": ConsentR5}


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def fhir(flow: Flow, consent_id: str, version: str) -> dict[str, Any]:
    response = flow.client.get(
        f"/api/v1/consents/{consent_id}/fhir",
        query_string={"version": version},
        headers=flow.headers,
    )
    assert response.status_code == 200, response.json
    assert response.mimetype == "application/fhir+json"
    resource = json.loads(response.data)
    # fhir.resources validates cardinalities, types, ids and required elements.
    MODELS[version].model_validate(resource)
    return dict(resource)


def no_identity(document: Any) -> None:
    text = json.dumps(document)
    for value in IDENTITY:
        assert value not in text


def r4_uses(resource: dict[str, Any]) -> dict[str, str]:
    return {
        next(c["code"] for c in p["purpose"] if c["system"] == PURPOSE_SYSTEM): p["type"]
        for p in resource["provision"]["provision"]
    }


def r5_permits(resource: dict[str, Any]) -> set[str]:
    return {
        next(c["code"] for c in p["purpose"] if c["system"] == PURPOSE_SYSTEM)
        for p in resource.get("provision", [])
    }


def test_a_consent_maps_to_valid_r4_and_r5_resources(flow: Flow) -> None:
    patient_id = flow.patient(RECORD, name=NAME, birth_date=BIRTH)
    given = flow.consent(
        photo(301),
        {"teaching": True, "public_social_network": False, "care_record": True},
        patient_id=patient_id,
    )
    consent_id, sha256 = given["consent_id"], given["media"]["sha256"]
    pdf = flow.client.get(f"/api/v1/consents/{consent_id}/receipt.pdf", headers=flow.headers)
    assert pdf.status_code == 200
    r4, r5 = fhir(flow, consent_id, "R4"), fhir(flow, consent_id, "R5")
    for resource in (r4, r5):
        no_identity(resource)
        assert resource["status"] == "active"
        assert resource["identifier"][0]["value"] == consent_id
        assert {"code": "59284-0"}.items() <= resource["category"][0]["coding"][0].items()
    # The patient is the pseudonymous id, by identifier only.
    assert r4["patient"]["identifier"]["value"] == patient_id
    assert r5["subject"]["identifier"]["value"] == patient_id
    assert "reference" not in r4["patient"]
    assert r4["policyRule"]["coding"][0]["code"] == "OPTIN"
    assert r4["scope"]["coding"][0]["code"] == "patient-privacy"
    # R4: one provision per use, permit or deny as the patient chose.
    assert r4_uses(r4) == {
        "teaching": "permit",
        "care_record": "permit",
        "public_social_network": "deny",
    }
    # R5: the base rule denies; each permitted use is an exception to it.
    assert r5["decision"] == "deny"
    assert r5_permits(r5) == {"teaching", "care_record"}
    for provision, kind in [
        *((p, "Media") for p in r4["provision"]["provision"]),
        *((p, "DocumentReference") for p in r5["provision"]),
    ]:
        assert provision["data"] == [
            {
                "meaning": "instance",
                "reference": {
                    "type": kind,
                    "identifier": {"system": SHA256_SYSTEM, "value": sha256},
                },
            }
        ]
        assert provision["actor"][0]["role"]["coding"][0]["code"] == "PRCP"
        assert provision["period"]["end"] == r4["provision"]["period"]["end"]
    # The uses are named in the glossary's words (schemas/glossary.yaml), as on every surface.
    displays = {
        coding["code"]: coding["display"]
        for provision in [*r4["provision"]["provision"], *r5["provision"]]
        for coding in provision["purpose"]
        if coding["system"] == PURPOSE_SYSTEM
    }
    assert displays == {
        p: use_label(p, "en") for p in ("teaching", "care_record", "public_social_network")
    }
    assert displays["public_social_network"] == "Public social media"
    care = next(p for p in r4["provision"]["provision"] if p["purpose"][0]["code"] == "TREAT")
    assert care["type"] == "permit"
    # The source: the receipt PDF as served, with the SHA-1 FHIR defines for Attachment.hash.
    attachments = [r4["sourceAttachment"], *r5["sourceAttachment"]]
    for attachment in attachments:
        assert attachment["url"] == f"http://consent.test/api/v1/consents/{consent_id}/receipt.pdf"
        assert (
            attachment["hash"]
            == base64.b64encode(hashlib.sha1(pdf.data, usedforsecurity=False).digest()).decode()
        )
        assert attachment["size"] == len(pdf.data)
        assert attachment["extension"][0]["valueString"] == hashlib.sha256(pdf.data).hexdigest()


def test_withdrawal_denies_the_use_and_a_full_one_makes_the_consent_inactive(
    flow: Flow,
) -> None:
    given = flow.consent(photo(302), {"teaching": True, "survey": True})
    consent_id = given["consent_id"]
    withdraw = f"/api/v1/consents/{consent_id}/withdrawal"
    assert (
        flow.client.post(withdraw, json={"purposes": ["survey"]}, headers=flow.headers).status_code
        == 201
    )
    r4, r5 = fhir(flow, consent_id, "R4"), fhir(flow, consent_id, "R5")
    assert r4["status"] == r5["status"] == "active"
    assert r4_uses(r4) == {"teaching": "permit", "survey": "deny"}
    assert r5_permits(r5) == {"teaching"}
    assert flow.client.post(withdraw, json={}, headers=flow.headers).status_code == 201
    r4, r5 = fhir(flow, consent_id, "R4"), fhir(flow, consent_id, "R5")
    assert r4["status"] == r5["status"] == "inactive"
    assert set(r4_uses(r4).values()) == {"deny"}
    assert "provision" not in r5


def test_an_expired_consent_is_inactive(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    given = flow.consent(photo(303), {"teaching": True}, expires_at=in_days(30))
    assert fhir(flow, given["consent_id"], "R5")["status"] == "active"
    Clock(monkeypatch).advance(days=31)
    for version in ("R4", "R5"):
        assert fhir(flow, given["consent_id"], version)["status"] == "inactive"


def test_a_legal_representative_is_a_role_never_a_name(flow: Flow) -> None:
    patient_id = flow.patient(RECORD, name=NAME, birth_date=BIRTH)
    media = flow.media(patient_id, photo(304))
    request_id = flow.request(
        patient_id,
        [media["id"]],
        [{"purpose": "teaching"}],
        form="media-publication-representative",
    )
    signer = {
        "role": "legal_representative",
        "name": "Ottoline Bracegirdle",
        "relationship": "parent",
    }
    decided = flow.decide(request_id, {"teaching": True}, signer=signer)
    for version, key in (("R4", "performer"), ("R5", "grantor")):
        resource = fhir(flow, decided["consent_id"], version)
        assert resource[key] == [
            {"type": "RelatedPerson", "display": "legal representative (parent)"}
        ]
        assert "Ottoline" not in json.dumps(resource)
        no_identity(resource)


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_a_patients_bundle_holds_every_consent_and_survives_erasure(
    flow: Flow, client: FlaskClient, version: str
) -> None:
    patient_id = flow.patient(RECORD, name=NAME, birth_date=BIRTH)
    first = flow.consent(photo(305), {"teaching": True}, patient_id=patient_id)
    second = flow.consent(photo(306), {"survey": True, "teaching": False}, patient_id=patient_id)
    flow.consent(photo(307), {"teaching": True})  # another patient's: not in the bundle
    url = f"/api/v1/patients/{patient_id}/fhir"
    response = client.get(url, query_string={"version": version}, headers=flow.headers)
    assert response.status_code == 200, response.json
    bundle = json.loads(response.data)
    (BundleR4 if version == "R4" else BundleR5).model_validate(bundle)
    assert bundle["type"] == "collection"
    ids = [entry["resource"]["identifier"][0]["value"] for entry in bundle["entry"]]
    assert ids == [first["consent_id"], second["consent_id"]]
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in bundle["entry"])
    no_identity(bundle)

    erased = client.post(f"/api/v1/patients/{patient_id}/erasure", headers=auth(admin_key()))
    assert erased.status_code == 201, erased.json
    response = client.get(url, query_string={"version": version}, headers=flow.headers)
    assert response.status_code == 200, response.json
    bundle = json.loads(response.data)
    (BundleR4 if version == "R4" else BundleR5).model_validate(bundle)
    assert [e["resource"]["status"] for e in bundle["entry"]] == ["inactive", "inactive"]
    # No receipt PDF once erased (it showed the images); the media stay named by hash only.
    assert all("sourceAttachment" not in e["resource"] for e in bundle["entry"])
    no_identity(bundle)


def test_the_version_must_be_named_and_known(flow: Flow, client: FlaskClient) -> None:
    consent_id = flow.consent(photo(308), {"teaching": True})["consent_id"]
    patient_id = flow.patient()
    for url in (f"/api/v1/consents/{consent_id}/fhir", f"/api/v1/patients/{patient_id}/fhir"):
        for query in ({}, {"version": "R3"}, {"version": "r4"}, {"version": "STU3"}):
            response = client.get(url, query_string=query, headers=flow.headers)
            assert response.status_code == 400
            assert response.json["errors"] == {"version": ["One of R4, R5."]}
            assert "?version=R4" in response.json["message"]
    missing = client.get("/api/v1/consents/cs_nope/fhir?version=R4", headers=flow.headers)
    assert missing.status_code == 404
    missing = client.get("/api/v1/patients/pt_nope/fhir?version=R5", headers=flow.headers)
    assert missing.status_code == 404


def test_only_consent_writers_read_fhir(flow: Flow, client: FlaskClient) -> None:
    consent_id = flow.consent(photo(309), {"teaching": True})["consent_id"]
    url = f"/api/v1/consents/{consent_id}/fhir?version=R4"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth(api_key(("verify",)))).status_code == 403


def facts(**overrides: Any) -> ConsentFacts:
    receipt = {
        "receipt_id": "cs_" + "a" * 32, "log_index": 3, "subject": "pt_" + "b" * 32,
        "signer": {"role": "patient"}, "controller": "Demo Hospital", "method": "paper",
        "issued_at": "2026-11-29T10:00:00Z", "expires_at": "2027-11-29T00:00:00Z",
        "form": {"language": "en"}, "media": [{"sha256": "c" * 64}],
        "uses": [{"purpose": "teaching", "channels": [], "granted": True},
                 {"purpose": "survey", "channels": [], "granted": False}],
    }  # fmt: skip
    values: dict[str, Any] = {
        "receipt": receipt, "withdrawn": frozenset(), "expired": False, "erased": False,
        "base_url": "https://consent.example", **overrides,
    }  # fmt: skip
    return ConsentFacts(**values)


def test_the_mapping_alone_is_pure_and_decides_the_status() -> None:
    assert status(facts()) == "active"
    assert status(facts(withdrawn=frozenset({"teaching"}))) == "inactive"
    assert status(facts(expired=True)) == "inactive"
    assert status(facts(erased=True)) == "inactive"
    refused_only = facts()
    refused_only.receipt["uses"] = [{"purpose": "survey", "channels": [], "granted": False}]
    assert status(refused_only) == "active"  # a standing refusal is an active decision
    for version, model in MODELS.items():
        model.model_validate(consent_resource(facts(), version))
    with pytest.raises(UnknownVersion):
        consent_resource(facts(), "R3")


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_the_resource_says_how_the_consent_was_collected(flow: Flow, version: str) -> None:
    consent_id = flow.consent(photo(311), {"teaching": True})["consent_id"]
    resource = flow.client.get(
        f"/api/v1/consents/{consent_id}/fhir?version={version}", headers=flow.headers
    ).json
    assert {"url": METHOD_EXTENSION, "valueCode": "external"} in resource["extension"]
