"""Build a populated SQLite database at migration 0006 with the code of 2d6b892 (before
publishable copies, migration 0007).

    python make_fixture.py OUT_DIR WORKTREE_OF_2d6b892 PHOTO

PHOTO is a JPEG carrying metadata (tests.factories.tagged_image("jpeg") of today's code), so
that its publishable copy differs from it.
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
photo = Path(sys.argv[3]).read_bytes()

from consent.bootstrap import prepare_database, write_instance_secrets
from flask import g

from consent import create_app

instance = out / "instance"
write_instance_secrets(instance)
database = out / "pre-renditions.sqlite3"
database.unlink(missing_ok=True)
app = create_app(
    {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(database),
        "CONSENT_PUBLIC_URL": "http://consent.test",
        "CONSENT_SIGNING_KEYS": base64.b64encode(bytes(range(32))).decode(),
        "CONSENT_KEY_NAME": "consent.test/consent-log",
        "CONSENT_MASTER_KEY": base64.b64encode(bytes(range(32, 64))).decode(),
    }
)
prepare_database(app)


def fresh_globals() -> None:
    for name in list(vars(g)):
        delattr(g, name)


app.before_request_funcs.setdefault(None, []).insert(0, fresh_globals)

with app.app_context():
    from tests.factories import Flow, api_key

    flow = Flow(app.test_client(), api_key())
    given = flow.consent(photo, {"teaching": True, "survey": True})
    withdrawn = flow.client.post(
        f"/api/v1/consents/{given['consent_id']}/withdrawal",
        json={"purposes": ["survey"]},
        headers=flow.headers,
    )
    assert withdrawn.status_code == 201, withdrawn.json
    (out / "consent.txt").write_text(
        f"{given['consent_id']} {given['media']['id']} {given['media']['sha256']}\n"
    )
print("recorded", given["consent_id"])
