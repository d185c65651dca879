"""Clinician and admin accounts, and the API keys that systems use."""
