"""Patients: a pseudonymous id in the open, their identity only in the vault."""
