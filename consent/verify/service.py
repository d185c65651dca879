"""Decide whether a file may be published for a purpose, and sign the answer.

The decision is taken from the signed receipts themselves, each checked byte for byte: a row
edited in the database cannot turn into ``allowed`` (invariant 4). The answer names consent ids
and log positions, never a patient.

The rule (docs/api.md, "Several people in one file"). A file may show several people: the
subjects of every media item it matches (directly, through a rendition, or perceptually), and
the subject of every consent found for those items. Each subject decides for themselves:

1. Per subject, among THAT subject's consents whose use for this purpose covers the channel,
   the newest governs (so a newer grant wins over their older refusal, and the withdrawal or
   expiry of their newest grant wins over their older grants). It gives ``allowed``, or
   ``not_covered`` (refused), ``withdrawn`` or ``expired``; a subject with no such consent is
   ``not_covered``. A use granted "only with my face hidden" (issue 19) gives ``masked_only``
   for the original photo and ``allowed`` for its face-masked copy (exact, or re-encoded and
   nearer the copy than the original: consent.verify.nearest).
2. The file's decision is the most protective of the subjects' decisions, in the order of
   ``PROTECTION``: one person's refusal or withdrawal is enough to stop a use (DOMAIN.md, "For
   this round"). ``allowed`` only when every subject allows.

The answer counts the subjects and lists each one's governing consent (``governing``); its
top-level ``consent_id``, ``log_index``, ``method`` and ``expires_at`` are those of the
deciding subject's (the newest among those whose decision is the file's). A ``masked_only``
answer names the face-masked copy to publish instead (``masked_sha256``): the copy is made per
media item with every face boxed on it hidden (consent.workflows.face_mask), so it is masked
for every subject whose decision is ``masked_only``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from consent import clock
from consent.crypto.keyring import Keyring
from consent.crypto.receipts import signed_json
from consent.db.types import rfc3339
from consent.verify.evidence import Evidence, evidence, exact_match, subjects_of
from consent.verify.nearest import FACE_MASKED, perceptual
from consent.verify.statements import BY_SHA256, HEAD

# "modified": a case text that is an edit of a consented one (consent.verify.texts).
# "masked_only": granted for the face-masked copy only (issue 19).
DECISIONS = ("allowed", "masked_only", "not_covered", "withdrawn", "expired", "unknown", "modified")

# The per-subject decisions from the least to the most protective: the file's decision is the
# last of its subjects' in this order (withdrawn, then expired, then not_covered, then unknown,
# ..., then masked_only, then allowed). A new decision takes its place here and nowhere else.
PROTECTION = ("allowed", "masked_only", "unknown", "not_covered", "expired", "withdrawn")


@dataclass(frozen=True)
class SignedAnswer:
    """A verify answer and its envelope as sent: ``{"answer": ..., "key_id", "signature"}``."""

    answer: dict[str, Any]
    envelope_json: bytes


@dataclass(frozen=True)
class SubjectDecision:
    """One subject's decision and the consent that governs it (None: no consent covers)."""

    decision: str
    governing: Evidence | None


def most_protective(decisions: Iterable[SubjectDecision]) -> SubjectDecision:
    """The decision of a file from its subjects': the most protective in ``PROTECTION``; among
    subjects of that decision, the newest governing consent names it.

    Raises ValueError for no decisions at all (a file with no subject has no decision) and
    KeyError for a decision not in ``PROTECTION``.
    """
    ranked = [(PROTECTION.index(item.decision), item) for item in decisions]
    if not ranked:
        raise ValueError("a decision needs at least one subject")
    worst = max(rank for rank, _item in ranked)
    tied = [item for rank, item in ranked if rank == worst]
    return max(
        tied,
        key=lambda item: (
            (item.governing.issued_at, item.governing.consent_id) if item.governing else ("", "")
        ),
    )


def subject_decision(
    governing: Evidence | None,
    purpose: str,
    now: datetime,
    *,
    masked_copy: str | None = None,
    originals: Iterable[str] = (),
) -> SubjectDecision:
    """What one subject's governing consent says (None: nothing of theirs covers the use).
    A face-hidden grant allows only the face-masked copy its receipt binds to one of the
    ``originals`` (``masked_copy``: the copy asked, or None for anything else)."""
    if governing is None or not governing.use["granted"]:
        return SubjectDecision("not_covered", governing)
    if purpose in governing.withdrawn:
        return SubjectDecision("withdrawn", governing)
    if governing.expires_at <= rfc3339(now):
        return SubjectDecision("expired", governing)
    if governing.use.get("face") == "hidden":
        copies = {governing.masked.get(sha) for sha in originals} - {None}
        if masked_copy is None or masked_copy not in copies:
            # The original, or a copy of it that is not the masked one: fails closed.
            return SubjectDecision("masked_only", governing)
    return SubjectDecision("allowed", governing)


@dataclass(frozen=True)
class Weighed:
    """The file's decision, the deciding consent, the grants, and each subject's decision."""

    decision: str
    governing: Evidence | None
    grants: list[dict[str, Any]]
    subjects: list[SubjectDecision]
    # A ``masked_only`` answer's face-masked copy (None otherwise, or for a video: no copy).
    masked_sha256: str | None = None


def weigh(
    rows: Sequence[Any],
    purpose: str,
    channel: str | None,
    keyring: Keyring,
    now: datetime,
    bound_in: str = "media",
    masked_copy: str | None = None,
) -> Weighed:
    """The decision the matched rows' receipts give, subject by subject (the module's rule);
    ``masked_copy``: the SHA-256 of the face-masked copy the file asked is (or is near).

    Raises IntegrityFailure when a receipt does not verify or is not bound.
    """
    found, consent_subjects = evidence(rows, purpose, channel, keyring, bound_in)
    subjects = subjects_of(rows) | consent_subjects
    # The face-hidden answer is a file's alone: a case text is never masked.
    originals = sorted({row.media_sha256 for row in rows}) if bound_in == "media" else []
    if not subjects:
        return Weighed("not_covered", None, [], [])
    if len(subjects) == 1:
        # One person in the file, as nearly every file on the hot path: every consent found is
        # theirs, so the newest governs and nothing needs grouping or ranking.
        decided = subject_decision(
            max(found, key=_newest, default=None),
            purpose,
            now,
            masked_copy=masked_copy,
            originals=originals,
        )
        per_subject = [decided]
    else:
        per_subject = [
            subject_decision(
                max((item for item in found if item.subject == subject), key=_newest, default=None),
                purpose,
                now,
                masked_copy=masked_copy,
                originals=originals,
            )
            for subject in sorted(subjects)
        ]
        decided = most_protective(per_subject)
    grants: list[dict[str, Any]] = []
    if decided.decision == "allowed":
        grant: dict[str, Any] = {"purpose": purpose, "channels": _common_channels(per_subject)}
        if any(item.governing and item.governing.use.get("face") for item in per_subject):
            grant["face"] = "hidden"
        grants = [grant]
    masked_sha256 = None
    if decided.decision == "masked_only":
        assert decided.governing is not None
        masked_sha256 = next(
            (copy for sha in originals if (copy := decided.governing.masked.get(sha))), None
        )
    return Weighed(decided.decision, decided.governing, grants, per_subject, masked_sha256)


def _newest(item: Evidence) -> tuple[str, str]:
    """The order in which a subject's consents govern: the newest issued, then by id."""
    return (item.issued_at, item.consent_id)


def _common_channels(decisions: Sequence[SubjectDecision]) -> list[str]:
    """The channels every subject granted ([] for any channel: no subject limited it)."""
    common: set[str] | None = None
    for item in decisions:
        assert item.governing is not None
        channels = item.governing.use["channels"]
        if channels:
            common = set(channels) if common is None else common & set(channels)
    return sorted(common) if common is not None else []


def decide(
    *,
    sha256: str,
    purpose: str,
    channel: str | None,
    engine: Engine,
    keyring: Keyring,
    phash: str | None = None,
    max_distance: int = 0,
    now: datetime | None = None,
) -> SignedAnswer:
    """The signed answer for one file and one intended use; a ``phash`` (an upload) also
    finds a re-encoded copy within ``max_distance``. Needs no app context.

    Raises IntegrityFailure when a stored receipt does not verify: doubt is never ``allowed``.
    """
    now = now or clock.now()
    # Straight on a pooled DBAPI cursor, not the ORM session: this is the hot path.
    rows: list[Any] = BY_SHA256.all(engine, sha256=sha256)
    match = exact_match(rows, sha256, keyring) if rows else None
    if not rows and phash is not None:
        rows, match = perceptual(phash, engine, keyring, max_distance)
    if rows:
        head_size, head_root = rows[0].head_size, rows[0].head_root
    else:
        # No record of this file: the answer still names the tree it was checked against.
        head_size, head_root = HEAD.all(engine)[0]
    masked_copy = None
    if match is not None and match.get("rendition") == FACE_MASKED:
        masked_copy = match.get("sha256", sha256)
    weighed = (
        weigh(rows, purpose, channel, keyring, now, masked_copy=masked_copy)
        if match is not None
        else Weighed("unknown", None, [], [])
    )
    return signed_answer(
        bound=("media_sha256", sha256),
        weighed=weighed,
        purpose=purpose,
        channel=channel,
        match=match,
        head=(head_size, head_root),
        now=now,
        keyring=keyring,
    )


def signed_answer(
    *,
    bound: tuple[str, str],
    weighed: Weighed,
    purpose: str,
    channel: str | None,
    match: dict[str, Any] | None,
    head: tuple[int, bytes],
    now: datetime,
    keyring: Keyring,
) -> SignedAnswer:
    """The verify answer, signed: the same shape for a file and for a text, but for the field
    naming what was asked (``bound``: ``media_sha256`` or ``text_sha256``, and the hash)."""
    governing = weighed.governing
    answer = {
        "type": "verify_answer",
        "decision": weighed.decision,
        "purpose": purpose,
        "channel": channel,
        bound[0]: bound[1],
        "match": match,
        "consent_id": governing.consent_id if governing else None,
        "log_index": governing.log_index if governing else None,
        "method": governing.method if governing else None,
        "checkpoint": {"size": int(head[0]), "root": base64.b64encode(head[1]).decode()},
        "grants": weighed.grants,
        "expires_at": governing.expires_at if governing else None,
        "subjects": len(weighed.subjects),
        # One per subject, the most protective first; consent ids only, never a patient.
        "governing": [
            {
                "consent_id": item.governing.consent_id if item.governing else None,
                "log_index": item.governing.log_index if item.governing else None,
                "method": item.governing.method if item.governing else None,
                "decision": item.decision,
            }
            for item in sorted(
                weighed.subjects,
                key=lambda item: (
                    -PROTECTION.index(item.decision),
                    item.governing.consent_id if item.governing else "",
                ),
            )
        ],
        "checked_at": rfc3339(now),
    }
    if weighed.decision == "masked_only":
        # The copy to publish instead (None when there is none: a video).
        answer["masked_sha256"] = weighed.masked_sha256
    return SignedAnswer(answer, signed_json(body=answer, body_key="answer", keyring=keyring))
