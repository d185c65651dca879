"""What an app instance holds besides its configuration: keys, the vault, the media store.

Built once by ``create_app`` from instance/keys/ (or the environment) and kept on the app.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

from consent.crypto.keyring import (
    Keyring,
    load_key_file,
    read_private_file,
    seeds_from_environment,
)
from consent.crypto.vault import Vault
from consent.db.files import MediaStore
from consent.errors import ConfigurationError
from consent.settings import resolve_path

MASTER_KEY_FILE = "master.key"


@dataclass(frozen=True)
class Runtime:
    keyring: Keyring
    vault: Vault
    media_store: MediaStore


def default_key_name(public_url: str) -> str:
    """The signed-note name for new keys: the log origin, ``<host>/consent-log``."""
    host = public_url.split("://", 1)[-1].split("/", 1)[0]
    return f"{host}/consent-log"


def load_runtime(app: Flask) -> Runtime:
    """Load keys from the environment or instance/keys/. Raises ConfigurationError if absent."""
    keys_dir = resolve_path(app.instance_path, app.config["CONSENT_KEYS_DIR"])
    env_seeds = app.config.get("CONSENT_SIGNING_KEYS")
    if env_seeds:
        name = app.config.get("CONSENT_KEY_NAME") or default_key_name(
            app.config["CONSENT_PUBLIC_URL"]
        )
        seeds = seeds_from_environment(env_seeds)
    else:
        key_file = load_key_file(keys_dir)
        name, seeds = key_file.name, key_file.seeds
    env_master = app.config.get("CONSENT_MASTER_KEY")
    if env_master:
        master = base64.b64decode(env_master, validate=True)
    else:
        master_path = keys_dir / MASTER_KEY_FILE
        if not master_path.exists():
            raise ConfigurationError(
                f"no master key at {master_path}; run: flask --app consent init"
            )
        master = base64.b64decode(read_private_file(master_path), validate=True)
    media_dir = resolve_path(app.instance_path, app.config["CONSENT_MEDIA_DIR"])
    return Runtime(Keyring(name=name, seeds=seeds), Vault(master), MediaStore(media_dir))


def runtime() -> Runtime:
    """The current app's runtime."""
    value: Runtime = current_app.extensions["consent"]
    return value


def keys_dir(app: Flask) -> Path:
    return resolve_path(app.instance_path, app.config["CONSENT_KEYS_DIR"])
