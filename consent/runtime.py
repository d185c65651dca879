"""What an app instance holds besides its settings: keys, the vault, the file store, and the
public addresses of its pages.

Built once by ``create_app`` (from instance/keys/ or the environment) and handed to the
workflows by the entry points; domains take only the pieces they use (a session, the keyring,
the vault, the file store), never this whole.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from werkzeug.routing import Map

from consent.crypto.document_signing import load_identity
from consent.crypto.keyring import Keyring, load_key_file, read_private_file, seeds_from_environment
from consent.crypto.timestamps import TsaConfig, load_roots
from consent.crypto.vault import Vault
from consent.db.files import MediaStore
from consent.documents.cache import RenderCache
from consent.documents.seal import Sealer
from consent.errors import ConfigurationError
from consent.settings import Settings

MASTER_KEY_FILE = "master.key"
log = logging.getLogger(__name__)


class PublicLinks:
    """Every address printed on paper, encoded in a QR code or handed to a patient, built from
    the routes themselves on the configured public base URL.

    One place: renaming a route changes every link with it, and tests/test_public_links.py
    checks that each address printed in a PDF or a QR code resolves to its route.
    """

    # The endpoints behind the links (blueprint.view).
    SIGNING = "tablet.open_link"
    WITHDRAW = "withdraw.enter_code"
    CONSENT_PAGE = "public.consent_page"
    PAPER_UPLOAD = "paper.paper_form"
    FORMS = "forms.list_forms"
    RECEIPT_PDF = "documents.consent_receipt"
    PHONE_RECEIPT = "phone.receipt_page"
    INVITATION = "invitation.invitation_page"

    def __init__(self, base_url: str, url_map: Map) -> None:
        self.base_url = base_url.rstrip("/")
        self._adapter = url_map.bind("localhost", script_name="/", url_scheme="http")

    def path(self, endpoint: str, **values: Any) -> str:
        """The path of ``endpoint`` (a relative link on the service's own pages)."""
        return str(self._adapter.build(endpoint, values))

    def url(self, endpoint: str, **values: Any) -> str:
        return self.base_url + self.path(endpoint, **values)

    def signing(self, token: str) -> str:
        """The tablet's single-use signing link."""
        return self.url(self.SIGNING, token=token)

    def withdraw_page(self) -> str:
        return self.url(self.WITHDRAW)

    def withdrawal(self, code: str) -> str:
        """The patient's withdrawal page with their code in the fragment, which browsers never
        send to a server: it stays out of access logs, proxies and Referer headers."""
        return self.withdraw_page() + "#code=" + quote(code, safe="-")

    def consent_page(self, consent_id: str) -> str:
        """The public page of a consent: what it allows today, no identity."""
        return self.url(self.CONSENT_PAGE, consent_id=consent_id)

    def phone_receipt(self, token: str) -> str:
        """The short-lived page that hands the patient's receipt to their own phone."""
        return self.url(self.PHONE_RECEIPT, token=token)

    def paper_upload(self, request_id: str) -> str:
        """The page where the scan of a signed paper form is entered (clinician log-in)."""
        return self.url(self.PAPER_UPLOAD, request_id=request_id)

    def invitation(self, token: str) -> str:
        """The single-use page where an invited person chooses their password."""
        return self.url(self.INVITATION, token=token)

    def forms(self) -> str:
        return self.url(self.FORMS)

    def receipt_pdf(self, consent_id: str) -> str:
        return self.url(self.RECEIPT_PDF, consent_id=consent_id)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    keyring: Keyring
    vault: Vault
    files: MediaStore
    links: PublicLinks
    # Rendered PDFs this worker keeps, newest used first (CONSENT_PDF_CACHE_BYTES).
    pdf_cache: RenderCache
    # Seals receipt PDFs (PAdES); None when no document-signing certificate is configured.
    sealer: Sealer | None = None
    # The RFC 3161 authorities that timestamp checkpoints; None when none is configured.
    timestamping: TsaConfig | None = None

    def with_settings(self, settings: Settings) -> Runtime:
        return dataclasses.replace(self, settings=settings)

    @property
    def log_origin(self) -> str:
        """The checkpoint origin: CONSENT_LOG_ORIGIN when set, else the signing keys' name."""
        return self.settings.log_origin or self.keyring.name


def default_key_name(public_url: str) -> str:
    """The signed-note name for new keys: the log origin, ``<host>/consent-log``."""
    host = public_url.split("://", 1)[-1].split("/", 1)[0]
    return f"{host}/consent-log"


def keys_dir(settings: Settings) -> Path:
    return settings.resolve(settings.keys_dir)


def load_keyring(settings: Settings) -> Keyring:
    """The signing keys (and a next one, if published), from the environment or instance/keys/.

    Raises ConfigurationError when they are absent or readable by others.
    """
    if settings.signing_keys:
        name = settings.key_name or default_key_name(settings.public_url)
        upcoming = seeds_from_environment(settings.next_signing_keys or "")
        return Keyring(
            name=name, seeds=seeds_from_environment(settings.signing_keys), next_seeds=upcoming
        )
    if settings.next_signing_keys:
        raise ConfigurationError(
            "CONSENT_NEXT_SIGNING_KEYS goes with CONSENT_SIGNING_KEYS; with keys in files, "
            "run: flask --app consent rotate-key --next"
        )
    key_file = load_key_file(keys_dir(settings))
    return Keyring(name=key_file.name, seeds=key_file.seeds, next_seeds=key_file.next_seeds)


def load_vault(settings: Settings) -> Vault:
    """The vault over the master key. Raises ConfigurationError when it is absent or open."""
    if settings.master_key:
        try:
            return Vault(base64.b64decode(settings.master_key, validate=True))
        except ValueError as exc:
            raise ConfigurationError("CONSENT_MASTER_KEY must be base64.") from exc
    master_path = keys_dir(settings) / MASTER_KEY_FILE
    if not master_path.exists():
        raise ConfigurationError(
            f"no master key at {master_path}; run: python -m consent.scripts.bootstrap"
        )
    return Vault(base64.b64decode(read_private_file(master_path), validate=True))


def load_runtime(settings: Settings, url_map: Map) -> Runtime:
    """Keys, vault and file store of an instance. Raises ConfigurationError if keys are absent."""
    tsa = load_timestamping(settings)
    return Runtime(
        settings=settings,
        keyring=load_keyring(settings),
        vault=load_vault(settings),
        files=MediaStore(settings.resolve(settings.media_dir)),
        links=PublicLinks(settings.public_url, url_map),
        pdf_cache=RenderCache(settings.pdf_cache_bytes),
        sealer=load_sealer(settings, tsa),
        timestamping=tsa,
    )


def load_timestamping(settings: Settings) -> TsaConfig | None:
    """The timestamping authorities and the roots their tokens must chain to, or None.

    Raises ConfigurationError when authorities are given without their root certificates.
    """
    urls = settings.tsa_url_list
    if not urls:
        return None
    if not settings.tsa_ca_certs:
        raise ConfigurationError(
            "CONSENT_TSA_URLS needs CONSENT_TSA_CA_CERTS: the roots its tokens are checked against"
        )
    roots = load_roots(settings.resolve(settings.tsa_ca_certs))
    return TsaConfig(tuple(urls), tuple(roots), settings.tsa_timeout_seconds)


def load_sealer(settings: Settings, tsa: TsaConfig | None) -> Sealer | None:
    """The PDF sealer, or None when neither the certificate nor its key file exists.

    Raises ConfigurationError when only one exists, the key is readable by others, or they do
    not belong together.
    """
    folder = keys_dir(settings)
    identity = load_identity(
        folder / settings.document_signing_cert, folder / settings.document_signing_key
    )
    if identity is None:
        log.warning("no document-signing certificate: receipt PDFs are not sealed")
        return None
    if tsa is None:
        return Sealer(identity)
    return Sealer(identity, tsa.urls, tsa.roots_pem, tsa.timeout)
