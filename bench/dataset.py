"""Generate a data set of N real consents quickly: bulk inserts of the same rows the services
write, with real receipts built by consent.records.receipts, real RFC 8785 bytes and real
Ed25519 signatures, so that every verify answer on it is a real one.

Each consent: one patient (identity sealed under its own data key), one image media item
(random SHA-256 and pHash, indexed in the band table), one request with two uses, one decision.
"""

from __future__ import annotations

import json
import os
import random
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import insert

from bench.bulklog import BulkLog
from bench.common import bench_clinician, bench_team
from consent import clock
from consent.consents.models import Consent, ConsentRequest, ConsentUse, RequestMedia, RequestUse
from consent.crypto.receipts import canonical, envelope_from_parts
from consent.crypto.vault import seal
from consent.db import db
from consent.db.types import new_id, rfc3339
from consent.forms.models import FormVersion
from consent.media.fingerprints import bands
from consent.media.models import MediaItem, PerceptualBand
from consent.patients.models import Patient, PatientKey
from consent.records.receipts import consent_receipt
from consent.web.context import runtime

BATCH = 2000


def populate(app: Flask, count: int, *, seed: int = 7) -> list[str]:
    """Insert ``count`` consents granting teaching; return the SHA-256 of every media item."""
    rng = random.Random(seed)
    hashes: list[str] = []
    with app.app_context():
        rt = runtime()
        form = (
            db.session.query(FormVersion)
            .filter_by(form_id="media-publication", language="en")
            .order_by(FormVersion.version.desc())
            .first()
        )
        assert form is not None
        now = clock.now()
        expires = now + timedelta(days=3650)
        team_id, clinician = bench_team().id, bench_clinician().id
        db.session.commit()
        log = BulkLog(db.session)
        for start in range(0, count, BATCH):
            rows: dict[type, list[dict[str, Any]]] = {
                table: []
                for table in (
                    Patient,
                    PatientKey,
                    MediaItem,
                    PerceptualBand,
                    ConsentRequest,
                    RequestMedia,
                    RequestUse,
                    Consent,
                    ConsentUse,
                )
            }
            for _ in range(min(BATCH, count - start)):
                patient_id, media_id = new_id("pt"), new_id("md")
                request_id, consent_id = new_id("rq"), new_id("cs")
                data_key, wrapped = rt.vault.new_data_key()
                sha = rng.randbytes(32).hex()
                phash = rng.randbytes(8).hex()
                hashes.append(sha)
                rows[Patient].append(
                    {
                        "id": patient_id,
                        "team_id": team_id,
                        "record_lookup": rt.vault.record_lookup(f"BENCH-{patient_id}"),
                        "identity_sealed": seal(data_key, json.dumps({"name": "Bench"}).encode()),
                        "created_at": now,
                    }
                )
                rows[PatientKey].append({"patient_id": patient_id, "wrapped_key": wrapped})
                rows[MediaItem].append(
                    {
                        "id": media_id,
                        "team_id": team_id,
                        "patient_id": patient_id,
                        "sha256": sha,
                        "phash": phash,
                        "media_type": "image/jpeg",
                        "size_bytes": 1000 + rng.randrange(10**6),
                        "description_sealed": seal(data_key, b"bench"),
                        "created_at": now,
                    }
                )
                rows[PerceptualBand] += [
                    {"band": band, "value": value, "media_id": media_id}
                    for band, value in bands(phash)
                ]
                rows[ConsentRequest].append(
                    {
                        "id": request_id,
                        "team_id": team_id,
                        "patient_id": patient_id,
                        "form_version_id": form.id,
                        "status": "decided",
                        "stage": "decided",
                        "expires_at": expires,
                        "clinician_name": "Dr Bench",
                        "account_id": clinician,
                        "created_at": now,
                    }
                )
                rows[RequestMedia].append(
                    {"request_id": request_id, "media_id": media_id, "position": 0}
                )
                uses = [
                    {"purpose": "teaching", "channels": [], "granted": True},
                    {
                        "purpose": "public_social_network",
                        "channels": ["linkedin"],
                        "granted": rng.random() < 0.5,
                    },
                ]
                for position, use in enumerate(uses):
                    rows[RequestUse].append(
                        {
                            "request_id": request_id,
                            "purpose": use["purpose"],
                            "channels": json.dumps(use["channels"]),
                            "position": position,
                        }
                    )
                    rows[ConsentUse].append(
                        {
                            "consent_id": consent_id,
                            "purpose": use["purpose"],
                            "channels": json.dumps(use["channels"]),
                            "granted": use["granted"],
                        }
                    )
                body = consent_receipt(
                    consent_id=consent_id,
                    request_id=request_id,
                    issued_at=now,
                    controller="Bench Hospital",
                    jurisdiction="FR",
                    team=team_id,
                    form={
                        "id": form.form_id,
                        "version": form.version,
                        "language": form.language,
                        "sha256": form.text_sha256,
                    },
                    media=[
                        {"sha256": sha, "phash": phash, "media_type": "image/jpeg", "size": 1000}
                    ],
                    subject=patient_id,
                    signer={"role": "patient"},
                    method="tablet",
                    # Stand-ins for the tablet's evidence: the audit checks they are there.
                    evidence={
                        "signature": {
                            "kind": "drawn",
                            "strokes_sha256": rng.randbytes(32).hex(),
                            "svg_sha256": rng.randbytes(32).hex(),
                        },
                        "signing_session": {
                            "link": 1,
                            "issued_at": rfc3339(now),
                            "submitted_at": rfc3339(now),
                        },
                    },
                    informed_by=clinician,
                    recorded_by={"team": team_id, "account": clinician},
                    uses=uses,
                    expires_at=expires,
                )
                body["log_index"] = log.next_index
                receipt = canonical(body)
                signature = rt.keyring.sign(receipt)
                envelope = envelope_from_parts(
                    body_bytes=receipt,
                    signature=signature.signature,
                    key_id=signature.key_id,
                    body_key="receipt",
                )
                log.add(data=canonical(envelope), kind="consent", record_id=consent_id)
                rows[Consent].append(
                    {
                        "id": consent_id,
                        "team_id": team_id,
                        "request_id": request_id,
                        "patient_id": patient_id,
                        "receipt": receipt,
                        "signature": signature.signature,
                        "key_id": signature.key_id,
                        "log_index": body["log_index"],
                        "issued_at": now,
                        "expires_at": expires,
                        "signer_role": "patient",
                        "method": "tablet",
                        "signer_sealed": None,
                    }
                )
            # Parents before children (leaves, then Consent, then ConsentUse), as the foreign
            # keys need.
            log.flush()
            for table, values in rows.items():
                db.session.execute(insert(table), values)
            db.session.commit()
        log.finish()
        db.session.commit()
    return hashes


def random_sha256() -> str:
    return os.urandom(32).hex()
