"""Consent requests, the patient's decision (a signed receipt), and withdrawals."""
