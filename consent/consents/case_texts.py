"""The case texts of a request: screened, sealed with the patient's key, fingerprinted.

A text is immutable once added: the request's receipt will bind its SHA-256. A changed text is
a new request (there is no update path).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from consent.accounts.scope import EVERY_TEAM
from consent.consents.models import CaseText, CaseTextBand, ConsentRequest
from consent.consents.screening import PUBLIC_PURPOSES, Finding, blocking, screen
from consent.consents.text_norm import band_values, minhash, normalise, pack, text_sha256
from consent.crypto.vault import Vault, open_sealed, seal
from consent.db import AnySession
from consent.db.types import new_id
from consent.errors import IntegrityFailure, InvalidInput
from consent.patients.service import data_key, identity

MAX_TEXTS = 10
MAX_TEXT_CHARACTERS = 20_000

CONFIRM_NEEDED = (
    "This text contains the subject's name or record number and a use is public: remove it, "
    "or confirm explicitly (confirm_identifiers) that the patient agrees to be named."
)


@dataclass(frozen=True)
class ShownText:
    """A case text as the patient reads it, and what the receipt binds."""

    position: int
    text: str
    sha256: str

    def receipt_block(self) -> dict[str, object]:
        return {"sha256": self.sha256, "characters": len(self.text)}


def screen_for_request(
    session: AnySession,
    vault: Vault,
    *,
    patient_id: str,
    texts: list[str],
    places: tuple[str, ...],
) -> list[list[Finding]]:
    """The findings of each text, the patient's own identity included. Raises Gone (erased)."""
    known = identity(session, vault, patient_id, scope=EVERY_TEAM)
    return [screen(text, identity=known, places=places) for text in texts]


def add_texts(
    session: AnySession,
    vault: Vault,
    *,
    request: ConsentRequest,
    texts: list[str],
    purposes: list[str],
    confirm_identifiers: bool,
    account_id: int,
    places: tuple[str, ...],
) -> None:
    """Screen, seal and index the request's texts, in order.

    Raises InvalidInput (too many, empty or too long texts; a subject's name or record number
    in a text for a public use without ``confirm_identifiers``; the findings' offsets and kinds
    in ``errors``, never the identity).
    """
    errors: dict[str, object] = {}
    if len(texts) > MAX_TEXTS:
        errors["texts"] = [f"At most {MAX_TEXTS} texts."]
    normal = [normalise(text) for text in texts]
    for position, text in enumerate(normal):
        if not text or len(text) > MAX_TEXT_CHARACTERS:
            errors[f"texts.{position}"] = [
                f"A text has between 1 and {MAX_TEXT_CHARACTERS} characters."
            ]
    if errors:
        raise InvalidInput("The case texts are not valid; see errors.", errors=errors)
    findings = screen_for_request(
        session, vault, patient_id=request.patient_id, texts=normal, places=places
    )
    public = bool(set(purposes) & set(PUBLIC_PURPOSES))
    stopped = {
        f"texts.{position}": [finding.as_dict() for finding in blocking(found)]
        for position, found in enumerate(findings)
        if blocking(found)
    }
    if public and stopped and not confirm_identifiers:
        raise InvalidInput(CONFIRM_NEEDED, errors=stopped)
    key = data_key(session, vault, request.patient_id)
    for position, text in enumerate(normal):
        signature = minhash(text) if any(ch.isalnum() for ch in text) else []
        confirmed = bool(confirm_identifiers and f"texts.{position}" in stopped)
        row = CaseText(
            id=new_id("tx"),
            team_id=request.team_id,
            request_id=request.id,
            ordinal=position,
            sha256=text_sha256(text),
            characters=len(text),
            text_sealed=seal(key, text.encode()),
            minhash=pack(signature),
            identifiers_confirmed=confirmed,
            confirmed_by=account_id if confirmed else None,
        )
        session.add(row)
        session.flush()
        if signature:
            session.add_all(
                CaseTextBand(band=band, value=value, text_id=row.id)
                for band, value in band_values(signature)
            )
    session.flush()


def request_texts(session: AnySession, vault: Vault, request: ConsentRequest) -> list[ShownText]:
    """The request's texts, decrypted, in order. Raises Gone (erased), IntegrityFailure (a
    sealed text altered, or not the text its hash says)."""
    rows = list(
        session.scalars(
            select(CaseText).where(CaseText.request_id == request.id).order_by(CaseText.ordinal)
        )
    )
    if not rows:
        return []
    key = data_key(session, vault, request.patient_id)
    shown = []
    for row in rows:
        text = open_sealed(key, row.text_sealed).decode()
        if text_sha256(text) != row.sha256:
            raise IntegrityFailure(f"Case text {row.id} is not the text its hash names.")
        shown.append(ShownText(row.ordinal, text, row.sha256))
    return shown


def text_hashes(session: AnySession, request_id: str) -> list[dict[str, object]]:
    """The receipt's ``texts`` block: each text's SHA-256 and length, in order (no vault)."""
    return [
        {"sha256": row.sha256, "characters": row.characters}
        for row in session.scalars(
            select(CaseText).where(CaseText.request_id == request_id).order_by(CaseText.ordinal)
        )
    ]
