"""Build a populated SQLite database at migration 0009 with the code of 8e3feed (before teams).

python make_fixture.py OUT_DIR WORKTREE_OF_8e3feed
"""
# The code under test comes from the worktree given, put first on the path before importing.
# ruff: noqa: E402

import base64
import os
import sys
from pathlib import Path

sys.path.insert(0, sys.argv[2])
os.environ.pop("CONSENT_INSTANCE_PATH", None)
out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
inst = out / "instance"
from consent.scripts.bootstrap import prepare_database, write_instance_secrets

write_instance_secrets(inst)
seed = base64.b64encode(bytes(range(32))).decode()
master = base64.b64encode(bytes(range(32, 64))).decode()
db_file = out / "pre-teams.sqlite3"
db_file.unlink(missing_ok=True)
from consent import create_app

app = create_app(
    {
        "TESTING": True,
        "INSTANCE_PATH": str(inst),
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(db_file),
        "CONSENT_PUBLIC_URL": "http://consent.test",
        "CONSENT_SIGNING_KEYS": seed,
        "CONSENT_KEY_NAME": "consent.test/consent-log",
        "CONSENT_MASTER_KEY": master,
    }
)
prepare_database(app)

from flask import g


def fresh_globals() -> None:
    for name in list(vars(g)):
        delattr(g, name)


app.before_request_funcs.setdefault(None, []).insert(0, fresh_globals)

import tests.test_receipt_replay as replay

with app.app_context():
    played = replay.play(app)
    from consent.accounts.service import create_account, create_api_key
    from consent.db import db

    admin = create_account(
        db.session, email="hooks@hospital.test", display_name="Hooks", role="admin"
    )
    hooks = create_api_key(
        db.session, name="hooks", scopes=["webhooks:manage"], days=3000, account=admin
    )
    publisher = create_api_key(db.session, name="publisher", scopes=["verify"], days=3000)
    db.session.commit()
    client = app.test_client()
    answer = client.post(
        "/api/v1/webhooks",
        json={"url": "https://publisher.example/hooks", "events": ["consent.withdrawn"]},
        headers={"Authorization": "Bearer " + hooks.secret},
    )
    assert answer.status_code == 201, answer.json
    # A consent whose patient is still there (the replay erased its patient), with a
    # withdrawal, decided through the API by a clinician's key.
    from tests.factories import Flow, photo

    clinician = create_account(
        db.session, email="dr.live@hospital.test", display_name="Dr Live", role="clinician"
    )
    key = create_api_key(
        db.session, name="ehr", scopes=["verify", "consents:write"], days=3000, account=clinician
    )
    db.session.commit()
    flow = Flow(client, key.secret)
    live = flow.consent(
        photo(31), {"teaching": True, "survey": True}, patient_id=flow.patient("MRN-LIVE-1")
    )
    withdrawn = client.post(
        f"/api/v1/consents/{live['consent_id']}/withdrawal",
        json={"purposes": ["survey"]},
        headers=flow.headers,
    )
    assert withdrawn.status_code == 201
    (out / "live.txt").write_text(live["consent_id"] + " " + live["media"]["sha256"] + "\n")
print(len(played["entries"]), "entries; publisher key", publisher.secret)
