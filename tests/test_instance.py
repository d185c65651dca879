"""The instance: secrets created once with mode 0600, never overwritten; the app refuses to
start without them; migrations and models agree; the OpenAPI document is checked in."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from consent import create_app
from consent.db import db
from consent.errors import ConfigurationError
from consent.scripts.bootstrap import write_instance_secrets
from tests.factories import Flow, auth, photo

OPENAPI_FILE = Path(__file__).resolve().parents[1] / "schemas" / "openapi.json"


def test_secrets_are_private_and_never_overwritten(tmp_path: Path) -> None:
    created = write_instance_secrets(tmp_path)
    assert len(created) == 4  # config, signing keys, master key, throw-away document certificate
    contents = {}
    for name in (
        "config.py",
        "keys/signing-keys.json",
        "keys/master.key",
        "keys/document-signing-key.pem",
        "keys/document-signing-cert.pem",
        "keys/document-signing-throwaway-ca-key.pem",
    ):
        path = tmp_path / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        contents[name] = path.read_bytes()
    assert write_instance_secrets(tmp_path) == []
    for name, content in contents.items():
        assert (tmp_path / name).read_bytes() == content


def test_app_refuses_to_start_without_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no signing key"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})


def test_app_refuses_to_start_without_secret_key(tmp_path: Path) -> None:
    write_instance_secrets(tmp_path)
    (tmp_path / "config.py").unlink()
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_app_refuses_a_key_file_others_can_read(tmp_path: Path) -> None:
    write_instance_secrets(tmp_path)
    os.chmod(tmp_path / "keys" / "signing-keys.json", 0o644)
    with pytest.raises(ConfigurationError, match="readable by others"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_migrations_match_models(app: Flask) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        assert compare_metadata(context, db.metadata) == []


def test_openapi_document_is_checked_in(client: FlaskClient) -> None:
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    checked_in = json.loads(OPENAPI_FILE.read_text())
    assert served.json == checked_in, (
        "schemas/openapi.json is stale: run `.venv/bin/python -m consent.scripts.openapi`"
    )
    assert "bearerAuth" in checked_in["components"]["securitySchemes"]


def publishing_tool(runner: FlaskCliRunner, team: str = "ward") -> str:
    """A team and a system registered for it, by command; the integration's id."""
    runner.invoke(args=["create-team", "--slug", team, "--name", f"Team {team}"])
    made = runner.invoke(args=["create-integration", "--team", team, "--name", "Social media desk"])
    assert made.exit_code == 0, made.output
    return made.output.strip().rsplit(" ", 1)[-1]


def test_create_api_key_prints_key_alone_on_last_line(
    runner: FlaskCliRunner, client: FlaskClient
) -> None:
    tool = publishing_tool(runner)
    result = runner.invoke(
        args=[
            "create-api-key",
            "--name",
            "publisher",
            "--scopes",
            "verify",
            "--team",
            "ward",
            "--integration",
            tool,
        ]
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("csk_") and " " not in key
    answer = client.get(
        "/api/v1/verify",
        query_string={"sha256": "a" * 64, "purpose": "teaching"},
        headers=auth(key),
    )
    assert answer.status_code == 200 and answer.json["answer"]["decision"] == "unknown"
    # verify-only: it may not write.
    assert client.get("/api/v1/forms", headers=auth(key)).status_code == 403


def test_create_api_key_rejects_unknown_scope(runner: FlaskCliRunner) -> None:
    tool = publishing_tool(runner)
    result = runner.invoke(
        args=[
            "create-api-key",
            "--name",
            "x",
            "--scopes",
            "admin:everything",
            "--team",
            "ward",
            "--integration",
            tool,
        ]
    )
    assert result.exit_code != 0 and "scopes must be among" in result.output


def test_api_keys_are_stored_hashed(runner: FlaskCliRunner) -> None:
    from sqlalchemy import select

    from consent.accounts.models import ApiKey

    tool = publishing_tool(runner)
    result = runner.invoke(
        args=[
            "create-api-key",
            "--name",
            "p",
            "--scopes",
            "verify",
            "--team",
            "ward",
            "--integration",
            tool,
        ]
    )
    key = result.stdout.strip().splitlines()[-1]
    stored = db.session.scalars(select(ApiKey)).all()
    assert stored and all(key not in (row.key_hash, row.prefix) for row in stored)


def test_rotate_key_signs_with_new_key_and_old_receipts_verify(
    tmp_path: Path, database_url: str, instance_dir: Path
) -> None:
    # A private instance folder: rotation must not change the shared test keys.
    import shutil

    from consent.crypto.receipts import verify_envelope
    from tests.conftest import dispose, empty_tables, make_app
    from tests.factories import api_key

    private = tmp_path / "instance"
    shutil.copytree(instance_dir, private, ignore=shutil.ignore_patterns("*.sqlite3*", "media"))
    app = make_app(private, database_url)
    empty_tables(app)
    with app.app_context():
        flow = Flow(app.test_client(), api_key())
        old = flow.consent(photo(1), {"teaching": True})
        result = app.test_cli_runner().invoke(args=["rotate-key"])
        assert result.exit_code == 0, result.output
    dispose(app)
    rotated = make_app(private, database_url)
    with rotated.app_context():
        client = rotated.test_client()
        keys = client.get("/.well-known/consent-keys").json["keys"]
        assert [k["status"] for k in keys] == ["retired", "active"]
        assert keys[0]["key_id"] == old["receipt"]["key_id"]
        flow = Flow(client, api_key())
        new = flow.consent(photo(2), {"teaching": True})
        assert new["receipt"]["key_id"] == keys[1]["key_id"]
        keyring = rotated.extensions["consent"].keyring
        verify_envelope(envelope=old["receipt"], body_key="receipt", keys=keyring)
        verify_envelope(envelope=new["receipt"], body_key="receipt", keys=keyring)
        stored_old = client.get(
            f"/api/v1/consents/{old['consent_id']}/receipt", headers=flow.headers
        )
        assert stored_old.json == old["receipt"]
        assert flow.verify(old["media"]["sha256"], "teaching")["answer"]["decision"] == "allowed"
        db.session.remove()
    empty_tables(rotated)
    dispose(rotated)


def test_key_ids_survive_a_change_of_public_url(tmp_path: Path) -> None:
    # Key ids derive from the key's name: the name is fixed in the key file at creation.
    write_instance_secrets(tmp_path, key_name="hospital.example/consent-log")
    ids = []
    for url in ("https://hospital.example", "https://consent.other.example"):
        app = create_app({"INSTANCE_PATH": str(tmp_path), "CONSENT_PUBLIC_URL": url})
        keyring = app.extensions["consent"].keyring
        assert keyring.name == "hospital.example/consent-log"
        ids.append(keyring.active_key_id)
    assert ids[0] == ids[1]


def test_the_sqlite_database_and_instance_folder_are_private_from_the_start(
    tmp_path: Path,
) -> None:
    instance = tmp_path / "new" / "instance"
    write_instance_secrets(instance)
    dispose_app(create_app({"INSTANCE_PATH": str(instance)}))
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    database = instance / "consent.sqlite3"
    assert database.exists()
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    for path in instance.rglob("*"):
        wanted = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == wanted, path


@pytest.mark.parametrize(
    ("what", "mode"),
    [("", 0o755), ("consent.sqlite3", 0o644), ("media", 0o755), ("config.py", 0o640)],
    ids=["folder others can list", "database others can read", "media folder", "config"],
)
def test_app_refuses_an_instance_others_can_read_and_says_how_to_fix_it(
    tmp_path: Path, what: str, mode: int
) -> None:
    instance = tmp_path / "instance"
    write_instance_secrets(instance)
    dispose_app(create_app({"INSTANCE_PATH": str(instance)}))
    target = instance / what if what else instance
    target.mkdir(exist_ok=True) if what == "media" else None
    os.chmod(target, mode)
    with pytest.raises(ConfigurationError, match="run: chmod") as refused:
        create_app({"INSTANCE_PATH": str(instance)})
    assert str(target) in str(refused.value)


def test_bootstrap_closes_an_instance_folder_left_open(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    os.chmod(instance, 0o755)  # noqa: S103 (the mode under test)
    write_instance_secrets(instance)
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700


def dispose_app(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()
