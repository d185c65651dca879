"""Set up an instance folder: config with a random secret, signing and master keys, a throw-away
document-signing certificate (and CA) for the demo's PDF seals, the
database through migrations, the form catalogue, and demo data whose API key is printed once.

Run as ``python -m consent.scripts.bootstrap [--demo]``; running it again reuses what exists and
never overwrites a key.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import stat
from pathlib import Path

from flask import Flask
from werkzeug.security import generate_password_hash

from consent.crypto.document_signing import (
    DOCUMENT_SIGNING_CERT,
    DOCUMENT_SIGNING_KEY,
    write_throwaway_identity,
)
from consent.crypto.keyring import SIGNING_KEYS_FILE, add_signing_key, write_private_file
from consent.crypto.private import private_directory
from consent.runtime import MASTER_KEY_FILE, default_key_name
from consent.settings import http_url


def write_instance_secrets(
    instance_path: Path, *, key_name: str | None = None, keys_dir: Path | None = None
) -> list[str]:
    """Create the missing secrets of an instance (0600 files); return what was created.

    ``key_name`` names new signing keys (signed-note name; the key ids derive from it); by
    default ``<host of CONSENT_PUBLIC_URL>/consent-log``.
    """
    created = []
    private_directory(instance_path)
    if stat.S_IMODE(instance_path.stat().st_mode) & 0o077:
        # An instance folder made before issue 17 (or by a checkout): the service refuses to
        # start on it, so the set-up closes it.
        instance_path.chmod(0o700)
        created.append(f"{instance_path} (now mode 700)")
    config = instance_path / "config.py"
    if not config.exists():
        write_private_file(
            config,
            (
                "# Written by consent.scripts.bootstrap. Local to this deployment; never commit it."
                "\n"
                f"SECRET_KEY = {secrets.token_urlsafe(48)!r}\n"
            ).encode(),
        )
        created.append(str(config))
    keys_dir = keys_dir or instance_path / "keys"
    if not (keys_dir / SIGNING_KEYS_FILE).exists():
        public_url = http_url(os.environ.get("CONSENT_PUBLIC_URL") or "http://127.0.0.1:5000")
        add_signing_key(keys_dir, name=key_name or default_key_name(public_url))
        created.append(str(keys_dir / SIGNING_KEYS_FILE))
    master = keys_dir / MASTER_KEY_FILE
    if not master.exists():
        write_private_file(master, base64.b64encode(os.urandom(32)))
        created.append(str(master))
    cert, key = keys_dir / DOCUMENT_SIGNING_CERT, keys_dir / DOCUMENT_SIGNING_KEY
    if not cert.exists() and not key.exists():
        # A demo's receipts are sealed too, by a certificate nobody trusts: its subject says
        # THROW-AWAY DEMO. A hospital puts its own certificate and key in their place.
        write_throwaway_identity(
            keys_dir,
            organisation=os.environ.get("CONSENT_CONTROLLER") or "Demo Hospital",
            cert_name=DOCUMENT_SIGNING_CERT,
            key_name=DOCUMENT_SIGNING_KEY,
        )
        created.append(f"{cert} (THROW-AWAY demo certificate, and its CA)")
    return created


def prepare_database(app: Flask) -> None:
    """Migrate to head and load the form catalogue."""
    from flask_migrate import upgrade

    from consent.db import db
    from consent.forms.catalogue import FORMS_DIR
    from consent.web.context import settings
    from consent.workflows.catalogue import form_placeholders, sync_catalogue

    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        sync_catalogue(db.session, FORMS_DIR, form_placeholders(settings(app)))
        db.session.commit()


DEMO_EMAIL = "demo.clinician@hospital.example"


def create_demo_data(app: Flask) -> tuple[str, str] | None:
    """A demo clinician with a password, and an API key for them.

    Returns (API key, password) the first time only; neither is stored in the clear.
    """
    from sqlalchemy import select

    from consent.accounts.keys import create_api_key
    from consent.accounts.models import Account, Team
    from consent.accounts.service import create_account
    from consent.accounts.teams import add_member, create_team
    from consent.db import db

    with app.app_context():
        if db.session.scalar(select(Account).where(Account.email == DEMO_EMAIL)):
            return None
        account = create_account(
            db.session, email=DEMO_EMAIL, display_name="Dr Demo", role="clinician"
        )
        password = secrets.token_urlsafe(12)
        account.password_hash = generate_password_hash(password)
        # The team every database starts with (migration 0010); made if someone removed it.
        team = db.session.scalar(select(Team).where(Team.slug == "default")) or create_team(
            db.session, slug="default", name="Default team"
        )
        add_member(db.session, account=account, team=team)
        issued = create_api_key(
            db.session,
            name="demo",
            scopes=["verify", "consents:write"],
            days=90,
            team=team,
            account=account,
        )
        db.session.commit()
        return issued.secret, password


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instance", default=os.environ.get("CONSENT_INSTANCE_PATH", "instance"))
    parser.add_argument("--demo", action="store_true", help="create the demo clinician and key")
    args = parser.parse_args(argv)
    instance_path = Path(args.instance).resolve()
    os.environ["CONSENT_INSTANCE_PATH"] = str(instance_path)
    for path in write_instance_secrets(instance_path):
        print(f"created {path}")
    from consent import create_app
    from consent.web.context import settings

    app = create_app()
    prepare_database(app)
    print(f"database ready: {app.config['SQLALCHEMY_DATABASE_URI']}")
    if args.demo:
        demo = create_demo_data(app)
        if demo:
            url = settings(app).public_url
            print(DEMO_BANNER.format(key=demo[0], password=demo[1], url=url))
        else:
            print(
                "Demo data exists. Its API key was shown once, when it was created. "
                "For a new key: .venv/bin/flask --app consent create-api-key --name me "
                "--scopes verify,consents:write --team default "
                f"--account {DEMO_EMAIL}"
            )


DEMO_BANNER = """
Demo clinician: Dr Demo <demo.clinician@hospital.example>, password {password}
(shown once) -> log in at {url}/clinician/login
Demo API key (shown once, keep it; it expires in 90 days):

    {key}

Next, in another terminal at the root of the checkout, paste these two lines, then follow
docs/walkthrough.md (the tools are in .venv/bin/):
    export CONSENT_URL={url}
    export CONSENT_API_KEY={key}
"""

if __name__ == "__main__":
    main()
