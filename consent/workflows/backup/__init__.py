"""Backups: a verifiable export of every table (and the encrypted media), and its import."""
