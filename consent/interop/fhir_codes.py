"""The code systems and extensions the FHIR Consent resources use: HL7's, and the service's
own (the same in every deployment, since the codes and hashes are)."""

from __future__ import annotations

LOINC = "http://loinc.org"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
CONSENT_STATE = "http://terminology.hl7.org/CodeSystem/consentstate"
# Our own systems: the same in every deployment, since the codes and hashes are.
PURPOSE_SYSTEM = "urn:consent-service:fhir:purpose"
SHA256_SYSTEM = "urn:consent-service:fhir:sha256"
RECEIPT_SHA256_EXTENSION = "urn:consent-service:fhir:attachment-sha256"
# How the decision was collected (tablet, paper, external; integration in version 1 receipts):
# what a publisher's policy may rest on. FHIR Consent has no element for it.
METHOD_EXTENSION = "urn:consent-service:fhir:collection-method"
# A use granted only with the patient's face hidden (issue 19): the provision's data are the
# face-masked copies, never the originals; valueCode "hidden".
FACE_EXTENSION = "urn:consent-service:fhir:face"

# The v3 ActReason code that says the same thing as our use, where there is one.
ACT_REASONS: dict[str, tuple[str, str]] = {
    "care_record": ("TREAT", "treatment"),
    "survey": ("HRESCH", "healthcare research"),
}
# v3-RoleCode for a legal representative's relationship (no name ever).
RELATIONSHIP_CODES = {
    "parent": ("PRN", "parent"),
    "guardian": ("GUARD", "guardian"),
    "other_legal_representative": ("GUARD", "guardian"),
}
