"""Decide whether a case text may be published for a purpose, and sign the answer.

An exact match is the normalised text's SHA-256 (consent.consents.text_norm) found among the
consented texts; the decision is then the media rule (consent.verify.service.weigh) over the
receipts that bind that hash. A near match, an edited post (typos fixed, sentences reordered
or cut, an excerpt), is found through the MinHash band index (a few index look-ups, whatever
the number of texts) and answered ``modified``: the patient agreed to the text they read, not
to this one, so it is never ``allowed``; withdrawn, expired or refused consents answer so
still. A text of fewer than ``MIN_NEAR_WORDS`` words is matched exactly or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, bindparam, or_, select

from consent import clock
from consent.consents.models import CaseText, CaseTextBand, Consent, Withdrawal
from consent.consents.text_norm import (
    BANDS,
    band_values,
    minhash,
    similarity,
    text_sha256,
    unpack,
    words,
)
from consent.crypto.keyring import Keyring
from consent.db.readpath import PreparedRead
from consent.verify.service import SignedAnswer, Weighed, signed_answer, weigh
from consent.verify.statements import EVIDENCE_COLUMNS, HEAD, HEAD_COLUMNS

# The smallest excerpt a near match considers, and the estimated Jaccard similarity of word
# 3-gram sets from which a text is taken for an edit of a consented one (bench/RESULTS.md
# measures both on tests/assets/text-variants.json).
MIN_NEAR_WORDS = 12
NEAR_SIMILARITY = 0.25

_texts, _bands = CaseText.__table__, CaseTextBand.__table__
_consents, _withdrawals = Consent.__table__, Withdrawal.__table__


def _records() -> Any:
    return (
        select(
            *HEAD_COLUMNS,
            # Named as the media rows are: the bound hash (consent.verify.service._evidence).
            _texts.c.sha256.label("media_sha256"),
            *EVIDENCE_COLUMNS,
        )
        .select_from(_texts)
        .outerjoin(_consents, _consents.c.request_id == _texts.c.request_id)
        .outerjoin(_withdrawals, _withdrawals.c.consent_id == _consents.c.id)
    )


BY_TEXT_SHA256 = PreparedRead(_records().where(_texts.c.sha256 == bindparam("sha256")))
BY_TEXT_IDS = _records().where(_texts.c.id.in_(bindparam("text_ids", expanding=True)))
NEAR_TEXTS = PreparedRead(
    select(_texts.c.id, _texts.c.sha256, _texts.c.minhash)
    .join(_bands, _bands.c.text_id == _texts.c.id)
    .where(
        or_(
            *(
                and_(_bands.c.band == band, _bands.c.value == bindparam(f"band{band}"))
                for band in range(BANDS)
            )
        )
    )
    .distinct()
)


def near_candidates(text: str, engine: Engine) -> tuple[list[str], float, str] | None:
    """The consented texts nearest to ``text`` above NEAR_SIMILARITY, through the band index:
    (text ids, similarity, SHA-256 of one of them), or None."""
    if len(words(text)) < MIN_NEAR_WORDS:
        return None
    signature = minhash(text)
    found = NEAR_TEXTS.all(
        engine, **{f"band{band}": value for band, value in band_values(signature)}
    )
    scored = sorted(
        ((similarity(signature, unpack(blob)), text_id, sha) for text_id, sha, blob in found),
        reverse=True,
    )
    scored = [entry for entry in scored if entry[0] >= NEAR_SIMILARITY]
    if not scored:
        return None
    best = scored[0][0]
    nearest = [entry for entry in scored if entry[0] == best]
    return [entry[1] for entry in nearest], best, min(entry[2] for entry in nearest)


def decide_text(
    *,
    text: str,
    purpose: str,
    channel: str | None,
    engine: Engine,
    keyring: Keyring,
    now: datetime | None = None,
) -> SignedAnswer:
    """The signed answer for one text and one intended use. Needs no app context.

    Raises IntegrityFailure when a stored receipt does not verify: doubt is never ``allowed``.
    """
    now = now or clock.now()
    sha256 = text_sha256(text)
    rows: list[Any] = BY_TEXT_SHA256.all(engine, sha256=sha256)
    match: dict[str, Any] | None = {"kind": "exact"} if rows else None
    if not rows:
        near = near_candidates(text, engine)
        if near is not None:
            text_ids, score, matched = near
            with engine.connect() as connection:
                rows = list(connection.execute(BY_TEXT_IDS, {"text_ids": text_ids}).all())
            match = {"kind": "near", "similarity": round(score, 3), "sha256": matched}
    head_size, head_root = (rows[0].head_size, rows[0].head_root) if rows else HEAD.all(engine)[0]
    weighed = (
        weigh(rows, purpose, channel, keyring, now, bound_in="texts")
        if match is not None
        else Weighed("unknown", None, [], [])
    )
    if match is not None and match["kind"] == "near" and weighed.decision == "allowed":
        weighed = Weighed("modified", weighed.governing, [], weighed.subjects)
    return signed_answer(
        bound=("text_sha256", sha256),
        weighed=weighed,
        purpose=purpose,
        channel=channel,
        match=match,
        head=(head_size, head_root),
        now=now,
        keyring=keyring,
    )
