"""The subjects of a media item (the patients seen in it), the key its bytes are under, and the
look-up of an upload that is already stored.

How the keys are arranged, so that erasing one subject never destroys what the others rely on:
each media item stored since issue 19 has its own random data key (the *media key*); its bytes
and its screen copy are encrypted under it, and each subject's ``media_subjects`` row keeps a
copy of it sealed with that subject's patient key. Any subject not erased opens the bytes.
Erasing a subject destroys their patient key (consent.workflows.erase), so their copy of the
media key no longer opens, and theirs alone; once the last subject is erased, no copy opens and
the files are deleted: the bytes are crypto-shredded with the last person they show.

An item stored before (migration 0021) has its bytes under its first subject's patient key
itself (``key_sealed`` NULL). Adding a second subject re-encrypts it under a fresh media key
first (``_rekey``): the patient key also opens that patient's identity, so it is never shared.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import nacl.utils
from sqlalchemy import func, select

from consent.accounts.scope import Scope
from consent.crypto.vault import Vault, open_sealed, seal
from consent.db import AnySession
from consent.db.files import MediaStore
from consent.errors import Conflict, Gone, NotFound
from consent.media.masked import masked_id
from consent.media.models import MediaItem, MediaSubject
from consent.media.screen import screen_id
from consent.patients.models import Patient
from consent.patients.service import data_key, get_patient


def subject_ids(session: AnySession, media_id: str) -> list[str]:
    """The patients seen in a media item, in the order they were added."""
    return list(
        session.scalars(
            select(MediaSubject.patient_id)
            .where(MediaSubject.media_id == media_id)
            .order_by(MediaSubject.added_at, MediaSubject.patient_id)
        )
    )


def shared_items(session: AnySession, media_ids: Sequence[str]) -> set[str]:
    """Which of these media items show more than one patient, in one query."""
    if not media_ids:
        return set()
    return set(
        session.scalars(
            select(MediaSubject.media_id)
            .where(MediaSubject.media_id.in_(media_ids))
            .group_by(MediaSubject.media_id)
            .having(func.count() > 1)
        )
    )


def new_media_key() -> bytes:
    """A fresh media key (32 random bytes, as a patient's data key)."""
    return nacl.utils.random(32)


def first_subject(
    session: AnySession, vault: Vault, item: MediaItem, media_key: bytes, added_by: str
) -> None:
    """Record the uploader's patient as the item's first subject, with their copy of its key."""
    session.add(
        MediaSubject(
            media_id=item.id,
            patient_id=item.patient_id,
            added_by=added_by,
            key_sealed=seal(data_key(session, vault, item.patient_id), media_key),
        )
    )


def media_key(session: AnySession, vault: Vault, item: MediaItem) -> bytes:
    """The key the item's bytes are under, opened with the key of a subject not erased.

    Raises Gone once every subject was erased (or the bytes were), IntegrityFailure when a
    sealed copy was altered.
    """
    if item.bytes_erased_at is not None:
        raise Gone(f"The subjects of media item {item.id} were erased; its bytes are gone.")
    rows = session.scalars(
        select(MediaSubject)
        .join(Patient, Patient.id == MediaSubject.patient_id)
        .where(MediaSubject.media_id == item.id, Patient.erased_at.is_(None))
        .order_by(MediaSubject.added_at)
    ).all()
    for row in rows:
        if row.key_sealed is None:
            if row.patient_id == item.patient_id:
                return data_key(session, vault, row.patient_id)
            continue
        return open_sealed(data_key(session, vault, row.patient_id), row.key_sealed)
    raise Gone(f"The subjects of media item {item.id} were erased; its bytes are gone.")


def add_subject(
    session: AnySession,
    vault: Vault,
    files: MediaStore,
    *,
    media_id: str,
    patient_id: str,
    scope: Scope,
    added_by: str,
) -> MediaItem:
    """Add a patient of the item's team as one more subject of it.

    Raises NotFound (no such item or patient in the caller's teams, or a patient of another
    team than the item's), Gone (an erased patient, or an item whose bytes are gone), Conflict
    when the patient already is a subject.
    """
    item = session.get(MediaItem, media_id, with_for_update=True)
    if item is None or not scope.allows(item.team_id):
        raise NotFound(f"No media item {media_id}.")
    patient = get_patient(session, patient_id, scope=scope)
    if patient.team_id != item.team_id:
        raise NotFound(f"No patient {patient_id}.")
    if session.get(MediaSubject, (media_id, patient_id)) is not None:
        raise Conflict(f"Patient {patient_id} already is a subject of media item {media_id}.")
    key = media_key(session, vault, item)
    legacy = session.get(MediaSubject, (media_id, item.patient_id))
    if legacy is not None and legacy.key_sealed is None:
        key = _rekey(session, vault, files, item, legacy, key)
    session.add(
        MediaSubject(
            media_id=media_id,
            patient_id=patient_id,
            added_by=added_by,
            key_sealed=seal(data_key(session, vault, patient_id), key),
        )
    )
    session.flush()
    return item


def _rekey(
    session: AnySession,
    vault: Vault,
    files: MediaStore,
    item: MediaItem,
    legacy: MediaSubject,
    old_key: bytes,
) -> bytes:
    """Move an item stored under its patient's own key to a media key of its own."""
    plain = b"".join(files.read(media_id=item.id, data_key=old_key))
    key = new_media_key()
    files.replace_for(session, media_id=item.id, data_key=key, source=io.BytesIO(plain))
    # The screen copy was under the old key: made again on first view.
    files.delete(screen_id(item.id))
    # The face-masked copy may be the one a receipt binds (a video's cannot be made again at
    # will): moved under the new key with the original.
    copy_id = masked_id(item.id)
    if files.holds(copy_id):
        copy = b"".join(files.read(media_id=copy_id, data_key=old_key))
        files.replace_for(session, media_id=copy_id, data_key=key, source=io.BytesIO(copy))
    legacy.key_sealed = seal(old_key, key)
    return key
