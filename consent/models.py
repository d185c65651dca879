"""Every table of the service, imported in one place for Alembic and create_app."""

from __future__ import annotations

from consent.accounts.models import Account, ApiKey
from consent.consents.models import (
    Consent,
    ConsentRequest,
    ConsentUse,
    PaperScan,
    PendingDecision,
    RequestMedia,
    RequestUse,
    SigningLink,
    Withdrawal,
)
from consent.expiry.models import ConsentExpiry, MajorityReview
from consent.forms.models import FormVersion
from consent.ledger.models import LogHead, LogLeaf, LogNode
from consent.media.models import MediaItem, MediaRendition, PerceptualBand
from consent.patients.models import Patient, PatientErasure, PatientKey
from consent.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "Account",
    "ApiKey",
    "Consent",
    "ConsentExpiry",
    "ConsentRequest",
    "ConsentUse",
    "FormVersion",
    "LogHead",
    "LogLeaf",
    "LogNode",
    "MajorityReview",
    "MediaItem",
    "MediaRendition",
    "PaperScan",
    "Patient",
    "PatientErasure",
    "PatientKey",
    "PendingDecision",
    "PerceptualBand",
    "RequestMedia",
    "RequestUse",
    "SigningLink",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Withdrawal",
]
