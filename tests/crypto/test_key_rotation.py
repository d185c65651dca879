"""Rotating the signing key across nodes: a "next" key is published and verifies before any node
signs with it, so while nodes are reloaded one by one, every node checks what any other signs."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest
from flask import Flask
from nacl.signing import SigningKey

from consent.crypto.keyring import (
    SIGNING_KEYS_FILE,
    Keyring,
    add_signing_key,
    load_key_file,
    promote_next_key,
)
from consent.crypto.receipts import sign_body, verify_envelope
from consent.errors import ConfigurationError, VerificationError
from tests.conftest import dispose, empty_tables, make_app
from tests.factories import Flow, api_key, photo

NAME = "rotation.test/consent-log"
OLD, NEW = os.urandom(32), os.urandom(32)


def test_a_next_key_verifies_and_is_published_but_never_signs() -> None:
    keyring = Keyring(name=NAME, seeds=[OLD], next_seeds=[NEW])
    statuses = {key.key_id: key.status for key in keyring.public_keys()}
    new_id = Keyring(name=NAME, seeds=[NEW]).active_key_id
    assert statuses == {keyring.active_key_id: "active", new_id: "next"}
    assert sign_body(body={"a": 1}, body_key="answer", keyring=keyring)["key_id"] != new_id


def test_during_a_rolling_promotion_each_node_verifies_the_others_signatures() -> None:
    not_yet = Keyring(name=NAME, seeds=[OLD], next_seeds=[NEW])  # a node still to reload
    promoted = Keyring(name=NAME, seeds=[OLD, NEW])  # a node already reloaded
    from_promoted = sign_body(body={"n": 1}, body_key="receipt", keyring=promoted)
    from_not_yet = sign_body(body={"n": 2}, body_key="receipt", keyring=not_yet)
    assert from_promoted["key_id"] != from_not_yet["key_id"]
    verify_envelope(envelope=from_promoted, body_key="receipt", keys=not_yet)
    verify_envelope(envelope=from_not_yet, body_key="receipt", keys=promoted)


def test_without_a_next_key_a_node_refuses_the_new_keys_signature() -> None:
    """The window the next key closes: a node that never heard of a key fails closed."""
    promoted = Keyring(name=NAME, seeds=[OLD, NEW])
    envelope = sign_body(body={"n": 1}, body_key="receipt", keyring=promoted)
    with pytest.raises(VerificationError, match="unknown key id"):
        verify_envelope(envelope=envelope, body_key="receipt", keys=Keyring(name=NAME, seeds=[OLD]))


def test_the_same_key_given_twice_stops_the_start() -> None:
    with pytest.raises(ConfigurationError, match="given twice"):
        Keyring(name=NAME, seeds=[OLD, NEW], next_seeds=[NEW])


def test_key_file_publishes_a_next_key_then_promotes_it(tmp_path: Path) -> None:
    add_signing_key(tmp_path, name=NAME)
    add_signing_key(tmp_path, name=NAME, upcoming=True)
    staged = load_key_file(tmp_path)
    assert len(staged.seeds) == 1 and len(staged.next_seeds) == 1
    with pytest.raises(ConfigurationError, match="promote it first"):
        add_signing_key(tmp_path, name=NAME, upcoming=True)
    with pytest.raises(ConfigurationError, match="promote it first"):
        add_signing_key(tmp_path, name=NAME)
    promote_next_key(tmp_path)
    promoted = load_key_file(tmp_path)
    assert promoted.seeds == [*staged.seeds, *staged.next_seeds] and promoted.next_seeds == []
    assert (tmp_path / SIGNING_KEYS_FILE).stat().st_mode & 0o077 == 0
    with pytest.raises(ConfigurationError, match="no next key"):
        promote_next_key(tmp_path)


def test_next_keys_in_the_environment_need_signing_keys_there_too(
    instance_dir: Path, database_url: str
) -> None:
    seed = SigningKey.generate().encode()
    with pytest.raises(ConfigurationError, match="goes with CONSENT_SIGNING_KEYS"):
        make_app(
            instance_dir, database_url, CONSENT_NEXT_SIGNING_KEYS=base64.b64encode(seed).decode()
        )


def test_rotate_key_next_then_promote_from_the_command_line(
    tmp_path: Path, database_url: str, instance_dir: Path, _session_app: Flask
) -> None:
    # _session_app: the shared database migrated; a private instance folder for the keys.
    private = tmp_path / "instance"
    shutil.copytree(instance_dir, private, ignore=shutil.ignore_patterns("*.sqlite3*", "media"))
    app = make_app(private, database_url)
    empty_tables(app)
    with app.app_context():
        staged = app.test_cli_runner().invoke(args=["rotate-key", "--next"])
        assert staged.exit_code == 0, staged.output
        assert "new next key" in staged.output
        again = app.test_cli_runner().invoke(args=["rotate-key", "--next"])
        assert again.exit_code != 0 and "promote it first" in again.output
    dispose(app)
    reloaded = make_app(private, database_url)  # a node after its reload: publishes, not signing
    with reloaded.app_context():
        keys = reloaded.test_client().get("/.well-known/consent-keys").json["keys"]
        assert [key["status"] for key in keys] == ["active", "next"]
        decision = Flow(reloaded.test_client(), api_key()).consent(photo(3), {"teaching": True})
        assert decision["receipt"]["key_id"] == keys[0]["key_id"]
        promoted = reloaded.test_cli_runner().invoke(args=["rotate-key", "--promote"])
        assert promoted.exit_code == 0, promoted.output
    dispose(reloaded)
    document = json.loads((private / "keys" / SIGNING_KEYS_FILE).read_text())
    assert not any(entry.get("next") for entry in document["keys"])
    signing = make_app(private, database_url)
    with signing.app_context():
        keys = signing.test_client().get("/.well-known/consent-keys").json["keys"]
        assert [key["status"] for key in keys] == ["retired", "active"]
        decision = Flow(signing.test_client(), api_key()).consent(photo(4), {"teaching": True})
        assert decision["receipt"]["key_id"] == keys[1]["key_id"]
    dispose(signing)
