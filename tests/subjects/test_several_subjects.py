"""Several people in one picture (issue 19): each subject decides on their own request, and
verify answers the most protective of their decisions, for the file, its publishable copy and a
re-encoded copy alike; the same file stored for two patients before subjects existed follows
the same rule."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from consent.db import db
from consent.media.models import MediaItem
from tests.factories import Flow, api_key, photo
from tests.pdf.readback import pdf_text

USES = ("teaching", "journal_publication", "survey", "professional_network")


@pytest.fixture
def flow(client: FlaskClient) -> Flow:
    return Flow(client, api_key())


def _uses() -> list[dict[str, Any]]:
    return [{"purpose": purpose, "channels": []} for purpose in USES]


def _pair(flow: Flow, data: bytes) -> dict[str, Any]:
    """A photo of A with B added as a second subject, and a request for A (and so for B)."""
    a, b = flow.patient(), flow.patient()
    media = flow.media(a, data)
    added = flow.client.post(
        f"/api/v1/media/{media['id']}/subjects", json={"patient_id": b}, headers=flow.headers
    )
    assert added.status_code == 201, added.json
    assert added.json["subjects"] == [a, b]
    opened = flow.open_request(a, [media["id"]], _uses())
    assert opened["group_id"] and [member["patient_id"] for member in opened["group"]] == [b]
    assert opened["group"][0]["signing_url"] != opened["signing_url"]
    return {
        "a": a,
        "b": b,
        "media": media,
        "request_a": opened["id"],
        "request_b": opened["group"][0]["id"],
    }


def _decisions(flow: Flow, sha256: str, upload: bytes | None = None) -> dict[str, str]:
    answers = {
        purpose: (flow.verify_upload(upload, purpose) if upload else flow.verify(sha256, purpose))
        for purpose in USES
    }
    return {purpose: answer["answer"]["decision"] for purpose, answer in answers.items()}


def test_a_withdrawal_of_one_subject_stops_every_use_they_withdrew(flow: Flow) -> None:
    data = photo(1901)
    pair = _pair(flow, data)
    sha = pair["media"]["sha256"]
    a = flow.decide(
        pair["request_a"],
        {
            "teaching": True,
            "journal_publication": True,
            "survey": True,
            "professional_network": False,
        },
    )
    # B has not decided yet: nothing of theirs covers the file, so nothing is allowed.
    assert set(_decisions(flow, sha).values()) == {"not_covered"}
    b = flow.decide(
        pair["request_b"],
        {
            "teaching": True,
            "journal_publication": True,
            "survey": True,
            "professional_network": True,
        },
    )
    assert _decisions(flow, sha) == {
        "teaching": "allowed",
        "journal_publication": "allowed",
        "survey": "allowed",
        "professional_network": "not_covered",  # A refused it: one refusal is enough
    }
    answer = flow.verify(sha, "teaching")["answer"]
    assert answer["subjects"] == 2
    assert sorted(item["consent_id"] for item in answer["governing"]) == sorted(
        [a["consent_id"], b["consent_id"]]
    )
    assert {item["decision"] for item in answer["governing"]} == {"allowed"}
    assert pair["a"] not in str(answer) and pair["b"] not in str(answer)  # no patient id

    withdrawn = flow.client.post(
        f"/api/v1/consents/{a['consent_id']}/withdrawal",
        json={"purposes": ["teaching", "survey"]},
        headers=flow.headers,
    )
    assert withdrawn.status_code == 201, withdrawn.json
    assert _decisions(flow, sha) == {
        "teaching": "withdrawn",
        "journal_publication": "allowed",  # both granted it, neither withdrew
        "survey": "withdrawn",
        "professional_network": "not_covered",
    }
    answer = flow.verify(sha, "teaching")["answer"]
    # The top-level consent is the deciding subject's: A's, whose withdrawal decides.
    assert answer["consent_id"] == a["consent_id"]
    assert [item["decision"] for item in answer["governing"]] == ["withdrawn", "allowed"]

    # The publishable copy and a re-encoded copy follow the same rule.
    copy = flow.client.post(
        f"/api/v1/media/{pair['media']['id']}/publishable", headers=flow.headers
    )
    assert copy.status_code == 200, copy.json
    copy_sha = hashlib.sha256(copy.get_data()).hexdigest()
    assert _decisions(flow, copy_sha)["teaching"] == "withdrawn"
    assert flow.verify(copy_sha, "journal_publication")["answer"]["subjects"] == 2
    reencoded = photo(1901, quality=70)
    assert hashlib.sha256(reencoded).hexdigest() != sha
    near = _decisions(flow, "", upload=reencoded)
    assert near == _decisions(flow, sha)
    near_answer = flow.verify_upload(reencoded, "teaching")["answer"]
    assert near_answer["match"]["kind"] == "perceptual" and near_answer["subjects"] == 2


def test_a_subject_of_another_team_is_not_found(flow: Flow) -> None:
    media = flow.media(flow.patient(), photo(1902))
    outsider = Flow(flow.client, api_key(team="oncology")).patient()
    added = flow.client.post(
        f"/api/v1/media/{media['id']}/subjects",
        json={"patient_id": outsider},
        headers=flow.headers,
    )
    assert added.status_code == 404


def test_the_same_file_stored_for_two_patients_follows_each_withdrawal(flow: Flow) -> None:
    """The issue's bug, as a database from before subjects holds it: one file, two media
    items, two patients; A withdraws, B's newer consent must not make it allowed."""
    a, b = flow.patient(), flow.patient()
    data = photo(1903)
    given_a = flow.consent(data, {"teaching": True, "survey": True}, patient_id=a)
    media_b = flow.media(b, photo(1904))
    # Stored before the duplicate check existed: B's item has A's file's fingerprints.
    db.session.execute(
        update(MediaItem)
        .where(MediaItem.id == media_b["id"])
        .values(sha256=given_a["media"]["sha256"], phash=given_a["media"]["phash"])
    )
    db.session.commit()
    request_b = flow.request(
        b,
        [media_b["id"]],
        [{"purpose": "teaching", "channels": []}, {"purpose": "survey", "channels": []}],
    )
    flow.decide(request_b, {"teaching": True, "survey": True})  # newer than A's
    sha = given_a["media"]["sha256"]
    assert flow.verify(sha, "teaching")["answer"]["decision"] == "allowed"
    flow.client.post(
        f"/api/v1/consents/{given_a['consent_id']}/withdrawal",
        json={"purposes": ["teaching"]},
        headers=flow.headers,
    )
    answer = flow.verify(sha, "teaching")["answer"]
    assert answer["decision"] == "withdrawn" and answer["subjects"] == 2
    assert answer["consent_id"] == given_a["consent_id"]
    assert flow.verify(sha, "survey")["answer"]["decision"] == "allowed"


def test_each_subjects_paper_form_says_others_are_in_the_photo(flow: Flow) -> None:
    """A patient reading the paper form of a photo that shows someone else too learns that the
    others decide for themselves; a photo of them alone says nothing of the kind."""
    opened = _pair(flow, photo(41))
    others = "Other people can be seen in this photo too."
    for request_id in (opened["request_a"], opened["request_b"]):
        printed = pdf_text(
            flow.client.get(f"/api/v1/requests/{request_id}/form.pdf", headers=flow.headers).data
        )
        assert others in " ".join(printed.split()), request_id
    alone_patient = flow.patient()
    alone_photo = flow.media(alone_patient, photo(42))
    alone = flow.open_request(alone_patient, [alone_photo["id"]], _uses())
    printed = pdf_text(
        flow.client.get(f"/api/v1/requests/{alone['id']}/form.pdf", headers=flow.headers).data
    )
    assert others not in " ".join(printed.split())


def test_a_subject_added_after_printing_changes_the_printed_form(flow: Flow) -> None:
    """The paper form is cached by what it is made of: adding a second person to the photo
    after it was printed once must not give the old form again."""
    a, b = flow.patient(), flow.patient()
    media = flow.media(a, photo(43))
    opened = flow.open_request(a, [media["id"]], _uses())
    others = "Other people can be seen in this photo too."

    def printed() -> str:
        pdf = flow.client.get(f"/api/v1/requests/{opened['id']}/form.pdf", headers=flow.headers)
        assert pdf.status_code == 200
        return " ".join(pdf_text(pdf.data).split())

    assert others not in printed()
    added = flow.client.post(
        f"/api/v1/media/{media['id']}/subjects", json={"patient_id": b}, headers=flow.headers
    )
    assert added.status_code == 201, added.json
    assert others in printed()


@pytest.mark.parametrize(
    ("opened_for", "form", "other_reads"),
    [
        # The baby's request on the representative's form: her mother reads her own.
        ("baby", "media-publication-representative", "media-publication"),
        # The mother's request on the patient's form: her baby's parent reads the child's.
        ("mother", "media-publication", "media-publication-representative"),
    ],
)
def test_each_person_of_a_group_reads_the_form_written_for_them(
    flow: Flow, opened_for: str, form: str, other_reads: str
) -> None:
    from consent.consents.models import ConsentRequest
    from consent.forms.models import FormVersion

    people = {
        "mother": flow.patient(name="Claire Petit", birth_date="1991-05-04"),
        "baby": flow.patient(name="Lou Petit", birth_date="2025-11-20"),
    }
    other = "baby" if opened_for == "mother" else "mother"
    media = flow.media(people[opened_for], photo(44))
    added = flow.client.post(
        f"/api/v1/media/{media['id']}/subjects",
        json={"patient_id": people[other]},
        headers=flow.headers,
    )
    assert added.status_code == 201, added.json
    opened = flow.open_request(people[opened_for], [media["id"]], _uses(), form=form)
    (sibling,) = opened["group"]

    def form_of(request_id: str) -> str:
        request = db.session.get_one(ConsentRequest, request_id)
        return db.session.get_one(FormVersion, request.form_version_id).form_id

    assert form_of(opened["id"]) == form  # the clinician's choice, for the one it was made for
    assert form_of(sibling["id"]) == other_reads
